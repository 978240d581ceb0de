"""What the layout promises about imports, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_every_package_of_the_project_ships_and_no_test_does() -> None:
    # A package missing from the distribution works in an editable install and nowhere else.
    import tomllib

    from setuptools import find_packages

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    shipped = set(find_packages(str(root), **config["packages"]["find"]))
    on_disk = {
        ".".join(init.parent.relative_to(root).parts)
        for top in ("crawler", "cleaning", "archive")
        for init in (root / top).rglob("__init__.py")
    }
    assert shipped == on_disk and "crawler.distributed" in shipped
