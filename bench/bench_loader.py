"""How long reading a data file takes: the sample index set parsed by PyYAML's pure-Python
parser and by libyaml's C parser, and checked whole, first and again in one process.

``python bench/bench_loader.py [--runs N]``: each figure is the median of N runs (default 20)
with the fastest in brackets; all times from ``time.perf_counter``. The parses go through
``workflows.definition.yamlpos.load_located`` (lines from the parser's node marks, the limits
checked); "checked, first" clears the process's parse cache before each run, "checked, again"
reads the file a second time (``workflows.datafile`` parses each text once per process). The
last line is the same figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from cchc.indexset.loader import check_index_set
from workflows import datafile
from workflows.definition.yamlpos import load_located

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "definitions" / "index-sets" / "par-2025-ward-sample.yaml"


def _times(action: Callable[[], object], runs: int, before: Callable[[], None]) -> list[float]:
    seconds = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    """Print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per figure (default 20)")
    runs = parser.parse_args().runs
    text = SAMPLE.read_text(encoding="utf-8")
    keys = frozenset({"code"})

    def nothing() -> None:
        return None

    def checked() -> None:
        index_set, problems = check_index_set(SAMPLE)
        assert index_set is not None, problems

    figures = {
        "parse, pure Python (PyYAML)": _times(
            lambda: load_located(text, text_keys=keys, libyaml=False), runs, nothing
        ),
        "parse, C (libyaml)": _times(lambda: load_located(text, text_keys=keys), runs, nothing),
        "checked, first": _times(checked, runs, datafile.clear_cache),
        "checked, again": _times(checked, runs, nothing),
    }
    print(f"{SAMPLE.relative_to(ROOT)}: {len(text):,} characters, {runs} runs each")
    libyaml = "yes" if yaml.__with_libyaml__ else "no (the C figures are pure Python)"
    print(f"Python {platform.python_version()}, PyYAML {yaml.__version__}, libyaml {libyaml}")
    width = max(map(len, figures))
    for name, seconds in figures.items():
        median, fastest = statistics.median(seconds) * 1000, min(seconds) * 1000
        print(f"{name:<{width}}  {median:8.2f} ms  ({fastest:.2f} ms)")
    summary = {name: round(statistics.median(s) * 1000, 3) for name, s in figures.items()}
    print(json.dumps({"bench": "loader", "runs": runs, "median_ms": summary}))


if __name__ == "__main__":
    main()
