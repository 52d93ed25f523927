"""`feblam bench ...`: argument definitions and dispatch (kept light: heavy imports happen in run)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="run benchmarks on synthetic national traffic",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    bench.add_subparsers(dest="bench_command", required=True)


def run(args: argparse.Namespace) -> int:
    raise SystemExit(f"unknown bench {args.bench_command!r}")
