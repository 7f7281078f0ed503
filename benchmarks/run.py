"""Run every benchmark with its default sizes; each writes its section of docs/benchmarks.md.

`make bench` (or `python -m benchmarks.run`). Expect well over an hour on a 2-core machine: the 300k worlds
dominate. Run one benchmark alone with `python -m benchmarks.bench_<name> --help`.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "bench_synth",
    "bench_ingest",
    "bench_features",
    "bench_train",
    "bench_screening",
    "bench_review",
    "bench_monitor",
]


def main() -> int:
    for name in BENCHMARKS:
        print(f"== benchmarks.{name}", flush=True)
        completed = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], check=False)
        if completed.returncode != 0:
            print(f"benchmarks.{name} failed with exit {completed.returncode}; stopping.", file=sys.stderr)
            return completed.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
