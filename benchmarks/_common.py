"""Shared bits for benchmarks: argument parsing and the closing JSON line."""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence


def parse(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes: under 45 s on 2 cores")
    return parser.parse_args(argv)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def report(figures: dict[str, float | int | str]) -> None:
    """The last line a benchmark prints: one JSON object with its figures."""
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))
