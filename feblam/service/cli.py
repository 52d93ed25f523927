"""`feblam serve`, `feblam gateway`, `feblam demo`: argument definitions and dispatch."""

from __future__ import annotations

import argparse
from typing import Any

COMMANDS = ("serve", "gateway", "demo")


def add_parsers(sub: Any) -> None:
    for name, text in (("serve", "run the engine"), ("gateway", "run the reference Hit Gateway"),
                       ("demo", "engine and gateway on embedded defaults with synthetic traffic")):
        sub.add_parser(name, help=text, formatter_class=argparse.ArgumentDefaultsHelpFormatter)


def run(args: argparse.Namespace) -> int:
    raise SystemExit(f"feblam {args.command}: not available yet")
