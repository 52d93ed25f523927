"""`feblam watchlist ...` and `feblam zones ...`: argument definitions and dispatch."""

from __future__ import annotations

import argparse
from typing import Any


def add_parsers(sub: Any) -> None:
    sub.add_parser("watchlist", help="load, change, inspect and roll back watchlists")
    sub.add_parser("zones", help="load zone rules and the camera registry")


def run(args: argparse.Namespace) -> int:
    raise SystemExit(f"feblam {args.command}: not available yet")
