"""Plate normalisation: raw OCR text to canonical A-Z0-9 plates (docs/core.md)."""

from __future__ import annotations

from enum import IntEnum

from feblam._native import core

MAX_PLATE_LEN: int = core.MAX_PLATE_LEN
MAX_RAW_CODEPOINTS: int = core.MAX_RAW_CODEPOINTS


class PlateStatus(IntEnum):
    """Why a raw plate text did (or did not) give a canonical plate."""

    OK = 0
    EMPTY = 1
    CONTROL_CHARACTER = 2
    TOO_LONG = 3
    NOTHING_LEFT = 4
    INVALID_CHARACTER = 5
    INVALID_UTF8 = 6


def normalise_plate(raw: str) -> tuple[str, PlateStatus]:
    """Canonical plate and status; the plate is "" unless the status is OK. Never raises."""
    text, status = core.normalise_plate(raw.encode("utf-8", "surrogatepass"))
    return text, PlateStatus(status)


def normalise_pattern(raw: str) -> tuple[str, PlateStatus]:
    """As normalise_plate, keeping '?' (one character) and '*' (any run) of partial plates."""
    text, status = core.normalise_pattern(raw.encode("utf-8", "surrogatepass"))
    return text, PlateStatus(status)
