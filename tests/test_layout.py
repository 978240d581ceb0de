"""What the layout promises about imports, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest


def modules_loaded_by(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in out.stdout.split()}


@pytest.mark.parametrize(
    "module", ["crawler.distributed.ingest", "crawler.distributed.keys", "crawler.messages"]
)
def test_the_distributed_writer_and_its_messages_load_no_scrapy(module: str) -> None:
    assert not modules_loaded_by(module) & {"scrapy", "twisted", "scrapy_redis"}
