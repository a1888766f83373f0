"""Helpers shared by the benchmark scripts (run as ``python bench/<script>.py``)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Smallest wall time of ``repeat`` calls of ``fn`` (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def data_parser(description: str, langs: str) -> argparse.ArgumentParser:
    """The common ``--data-dir / --langs / --repeat`` command line of the data benchmarks."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--langs", default=langs)
    ap.add_argument("--repeat", type=int, default=3)
    return ap
