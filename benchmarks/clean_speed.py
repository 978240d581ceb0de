"""Cleaner speed and quality against its floor (a bare lxml parse) and trafilatura.

    pip install -r benchmarks/requirements.txt      # trafilatura, for this benchmark only
    python -m benchmarks.clean_speed                # 300 pages of the site's theme
    python -m benchmarks.clean_speed --theme renamed --pages 500
    python -m benchmarks.clean_speed --profile      # where the cleaner's time goes (pyinstrument)
    git worktree add /tmp/before HEAD~1 && python -m benchmarks.clean_speed --against /tmp/before

Generates brief pages with tests/sitegen.py (the site's anatomy: ~110 KB of inline CSS and
script settings, the mega menu, share bar, donate/newsletter/comments prompts, related
cards; ~160 KB a page), then times, page by page and in turn, three things on the same
bytes: `lxml.html.fromstring` (the floor: no cleaner can parse less), `cleaning.clean`, and
`trafilatura.extract(html, output_format="txt", include_comments=False)`. Each page is
timed `--rounds` times; a page's time is its median, and the figure is the median over the
pages. `--against CHECKOUT` times that checkout's `cleaning.clean` too, in the same run and
on the same pages (the way to compare two versions of the cleaner: this machine's ratios
move from one run to the next more than most changes do). Quality: the mean token F1
(lowercase words, counted with repeats) of each body against the page's expected body, and
the number of bodies holding a widget text.

Run by hand, not in CI (pytest never collects it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.util
import os
import platform
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import lxml
import lxml.html

from cleaning import CleaningError, clean
from tests.gold import WIDGET_TEXTS, gold_view
from tests.sitegen import generate_brief, random_spec

try:
    import trafilatura
except ImportError:  # pragma: no cover - benchmark-only dependency
    trafilatura = None

TRAFILATURA_SETTINGS = {"output_format": "txt", "include_comments": False}
_WORD = re.compile(r"\w+")


def pages_of(count: int, seed: int, theme: str) -> list[tuple[bytes, dict]]:
    rng = random.Random(seed)
    themes = ["default", "renamed"] if theme == "mixed" else [theme]
    return [
        generate_brief(random_spec(rng, n), theme=themes[n % len(themes)])
        for n in range(1, count + 1)
    ]


def token_f1(produced: str, expected: str) -> float:
    got = Counter(_WORD.findall(produced.lower()))
    want = Counter(_WORD.findall(expected.lower()))
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def leaks(body: str) -> bool:
    return any(text in body for text in WIDGET_TEXTS)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--rounds", type=int, default=3, help="timings per page (median kept)")
    parser.add_argument("--theme", choices=["default", "renamed", "mixed"], default="default")
    parser.add_argument("--no-trafilatura", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile clean() instead")
    parser.add_argument(
        "--against", type=Path, metavar="CHECKOUT", help="also time this checkout's clean()"
    )
    args = parser.parse_args()

    pages = pages_of(args.pages, args.seed, args.theme)
    if args.profile:
        profile(pages)
        return
    use_trafilatura = trafilatura is not None and not args.no_trafilatura
    if trafilatura is None and not args.no_trafilatura:
        print("trafilatura is not installed: pip install -r benchmarks/requirements.txt\n")

    def floor(page: bytes, expected: dict) -> None:
        lxml.html.fromstring(page)

    def cleaner(page: bytes, expected: dict) -> str:
        return clean(page, expected["url"]).body

    def extractor(page: bytes, expected: dict) -> str:
        html = page.decode("utf-8")
        return trafilatura.extract(html, url=expected["url"], **TRAFILATURA_SETTINGS) or ""

    contenders: dict[str, Callable[[bytes, dict], object]] = {"floor": floor, "clean": cleaner}
    if args.against:
        clean_against = cleaner_of(args.against)
        contenders["against"] = lambda page, expected: clean_against(page, expected["url"])
    if use_trafilatura:
        contenders["trafilatura"] = extractor

    # Quality, and a warm-up of every code path.
    bodies: dict[str, list[str]] = {name: [] for name in contenders if name != "floor"}
    exact = failed = 0
    for page, expected in pages:
        try:
            record = clean(page, expected["url"])
        except CleaningError:
            failed += 1
            bodies["clean"].append("")
        else:
            exact += gold_view(record.as_dict()) == expected
            bodies["clean"].append(record.body)
        if use_trafilatura:
            bodies["trafilatura"].append(extractor(page, expected))
        floor(page, expected)

    # Time: each page through each contender in turn, `rounds` times.
    times: dict[str, list[list[float]]] = {name: [[] for _ in pages] for name in contenders}
    gc.collect()
    started = time.perf_counter()
    in_turn = list(contenders)
    # Whatever runs just after another on the same page finds it in the caches: the two
    # cleaners take turns at running first.
    swapped = [name for name in in_turn if name != "against"]
    if args.against:
        swapped.insert(1, "against")
    for round_number in range(args.rounds):
        for index, (page, expected) in enumerate(pages):
            for name in swapped if (round_number + index) % 2 else in_turn:
                run = contenders[name]
                begin = time.perf_counter()
                run(page, expected)
                times[name][index].append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    median_ms = {
        name: statistics.median(statistics.median(page_times) for page_times in per_page) * 1000
        for name, per_page in times.items()
    }

    expected_bodies = ["\n\n".join(expected["body_blocks"]) for _, expected in pages]
    size = statistics.mean(len(page) for page, _ in pages) / 1024
    print(f"clean_speed: {dt.date.today()}, {machine()}")
    versions = f"lxml {lxml.__version__}"
    if use_trafilatura:
        versions += f", trafilatura {trafilatura.__version__} {TRAFILATURA_SETTINGS}"
    print(versions)
    print(
        f"{len(pages)} pages ({args.theme} theme, seed {args.seed}), mean {size:.0f} KB,"
        f" {args.rounds} rounds in {elapsed:.1f} s\n"
    )
    print(f"{'':12} {'median ms/page':>15} {'body token F1':>14} {'leaks':>6}")
    for name in contenders:
        if name in ("floor", "against"):
            print(f"{name:12} {median_ms[name]:15.3f} {'':>14} {'':>6}")
            continue
        f1 = statistics.mean(map(token_f1, bodies[name], expected_bodies))
        leaked = sum(map(leaks, bodies[name]))
        print(f"{name:12} {median_ms[name]:15.3f} {f1:14.4f} {leaked:6d}")
    print()
    print(f"clean / floor        {median_ms['clean'] / median_ms['floor']:6.2f}   (target <= 2.2)")
    if args.against:
        ratio = median_ms["clean"] / median_ms["against"]
        print(f"clean / against      {ratio:6.3f}   ({args.against})")
    if use_trafilatura:
        ratio = median_ms["trafilatura"] / median_ms["clean"]
        print(f"trafilatura / clean  {ratio:6.2f}   (target >= 6)")
    print(f"records equal to the expected ones: {exact} of {len(pages)} ({failed} failed)")


def cleaner_of(checkout: Path) -> Callable[[bytes, str], object]:
    """The `clean` of another checkout's cleaning package, imported under another name."""
    package = checkout.resolve() / "cleaning"
    if not (package / "__init__.py").is_file():
        sys.exit(f"no cleaning package in {checkout}")
    spec = importlib.util.spec_from_file_location(
        "cleaning_against", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.clean


def profile(pages: list[tuple[bytes, dict]]) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        sys.exit("pyinstrument is not installed: pip install pyinstrument")
    for page, expected in pages[:20]:
        clean(page, expected["url"])
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(3):
        for page, expected in pages:
            clean(page, expected["url"])
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False))


if __name__ == "__main__":
    main()
