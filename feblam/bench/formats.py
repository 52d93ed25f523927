"""National plate formats for synthetic traffic: the reference's reading of plate_formats.txt,
with each position's allowed characters spelled out for vectorised drawing."""

from __future__ import annotations

from dataclasses import dataclass

from feblam.reference.confusion import ConfusionClasses
from feblam.reference.formats import ReferenceFormats, default_format_spec

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"


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


def parse_formats(text: str | None = None) -> list[FormatRule]:
    """Rules in file order, as the reference reads them."""
    spec = ReferenceFormats(default_format_spec() if text is None else text, ConfusionClasses())
    symbols = {"9": DIGITS, "X": LETTERS + DIGITS}
    rules = [
        FormatRule(rule.country, rule.name, tuple(
            FixedFormat(rule.country, rule.name, p.shape,
                        tuple("".join(sorted(p.letters)) if s == "L" else symbols[s]
                              for s in p.shape))
            for p in rule.patterns))
        for rule in spec.rules
    ]
    return rules
