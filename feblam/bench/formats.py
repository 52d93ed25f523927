"""National plate formats for synthetic traffic: plate_formats.txt expanded to fixed-length rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

_TOKEN = re.compile(r"([L9X])(?:\{(\d+)(?:,(\d+))?\})?")


@dataclass(frozen=True)
class FixedFormat:
    """One fixed-length expansion of a national format rule: the characters allowed per position."""

    country: str
    rule: str
    pattern: str  # e.g. "9LLL999"
    options: tuple[str, ...]


@dataclass(frozen=True)
class FormatRule:
    """One line of the format file, with all of its fixed-length expansions."""

    country: str
    name: str
    expansions: tuple[FixedFormat, ...]


def format_file_text() -> str:
    return resources.files("feblam.data").joinpath("plate_formats.txt").read_text("utf-8")


def _expand(pattern: str, max_len: int | None) -> list[str]:
    pos = 0
    runs: list[tuple[str, int, int]] = []
    while pos < len(pattern):
        m = _TOKEN.match(pattern, pos)
        if m is None:
            raise ValueError(f"bad plate format pattern {pattern!r} at {pos}")
        lo = int(m.group(2)) if m.group(2) else 1
        hi = int(m.group(3)) if m.group(3) else lo
        runs.append((m.group(1), lo, hi))
        pos = m.end()
    out = [""]
    for symbol, lo, hi in runs:
        out = [prefix + symbol * k for prefix in out for k in range(lo, hi + 1)]
    return [p for p in out if max_len is None or len(p) <= max_len]


def parse_formats(text: str | None = None) -> tuple[list[FormatRule], dict[str, str]]:
    """Rules in file order and the alias table (alias -> country)."""
    rules: list[FormatRule] = []
    aliases: dict[str, str] = {}
    for raw_line in (format_file_text() if text is None else text).splitlines():
        line = raw_line.split("#", 1)[0].split()
        if not line:
            continue
        if line[0] == "alias":
            aliases[line[1]] = line[2]
            continue
        country, name, pattern, *opts = line
        exclude = ""
        max_len: int | None = None
        for opt in opts:
            key, _, value = opt.partition("=")
            if key == "exclude":
                exclude = value
            elif key == "max":
                max_len = int(value)
            else:
                raise ValueError(f"unknown format option {opt!r}")
        letters = "".join(c for c in LETTERS if c not in exclude)
        symbol_options = {"L": letters, "9": DIGITS, "X": LETTERS + DIGITS}
        expansions = tuple(
            FixedFormat(country, name, p, tuple(symbol_options[s] for s in p))
            for p in _expand(pattern, max_len)
        )
        rules.append(FormatRule(country, name, expansions))
    return rules, aliases
