"""How long the end-of-command sweep of a data home takes (``privacy.files.tighten_tree``, D97).

Run: ``.venv/bin/python -m benchmarks.bench_home_sweep HOME`` (a demo home, e.g. ./tidlig-data); prints the
number of paths and the median of 5 sweeps. Nothing in the home is changed when it is already private.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from privacy.files import tighten_tree


def main(home: Path, runs: int = 5) -> None:
    paths = sum(1 for _ in home.rglob("*")) + 1
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        tighten_tree(home)
        seconds.append(time.perf_counter() - started)
    print(f"{paths} paths; sweep median {statistics.median(seconds) * 1000:.0f} ms over {runs} runs")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
