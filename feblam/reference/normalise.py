"""Reference normalisation of raw OCR text to canonical plates and partial-plate patterns."""

from __future__ import annotations

from feblam.reference.fold import CONTROL, INVALID, KEEP, fold_codepoint, is_white_space

MAX_PLATE_LEN = 10
MAX_RAW_CODEPOINTS = 64

# Status codes, as PlateStatus in cpp/include/feblam/plate.hpp.
OK = 0
EMPTY = 1
CONTROL_CHARACTER = 2
TOO_LONG = 3
NOTHING_LEFT = 4
INVALID_CHARACTER = 5
INVALID_UTF8 = 6

WILDCARDS = "?*"


def _fold(raw: str, keep_wildcards: bool) -> tuple[str, int]:
    if len(raw) > MAX_RAW_CODEPOINTS:
        return "", TOO_LONG
    kept: list[str] = []
    only_white_space = True
    for ch in raw:
        cp = ord(ch)
        if not is_white_space(cp):
            only_white_space = False
        if keep_wildcards and ch in WILDCARDS:
            kept.append(ch)
            continue
        kind, text = fold_codepoint(cp)
        if kind == CONTROL:
            return "", CONTROL_CHARACTER
        if kind == INVALID:
            return "", INVALID_CHARACTER
        if kind == KEEP:
            kept.extend(text)
    # A pattern of wildcards alone would match every plate: it needs a letter or digit.
    if not any(c not in WILDCARDS for c in kept):
        return "", EMPTY if only_white_space else NOTHING_LEFT
    if len(kept) > MAX_PLATE_LEN:
        return "", TOO_LONG
    return "".join(kept), OK


def normalise_plate(raw: str) -> tuple[str, int]:
    """Canonical A-Z0-9 plate and status code (docs/core.md, "Canonical plates")."""
    return _fold(raw, keep_wildcards=False)


def normalise_pattern(raw: str) -> tuple[str, int]:
    """As normalise_plate, keeping '?' and '*' of witness partial plates."""
    return _fold(raw, keep_wildcards=True)
