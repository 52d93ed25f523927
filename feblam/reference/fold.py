"""The fold table: how one code point of raw OCR text counts towards a canonical plate."""

from __future__ import annotations

import unicodedata
from enum import IntEnum


class FoldKind(IntEnum):
    """What a code point contributes; the values are shared with cpp/src/fold_table.inc."""

    KEEP = 0
    DROP = 1
    CONTROL = 2
    INVALID = 3


KEEP = FoldKind.KEEP
DROP = FoldKind.DROP
CONTROL = FoldKind.CONTROL
INVALID = FoldKind.INVALID

# Letters that readers trained on other scripts emit for Latin plate characters. Lower case maps
# like its upper case: a reader that returns "а" for an "A" means the same letter.
_LOOK_ALIKE_UPPER: dict[str, str] = {
    # Cyrillic
    "\u0410": "A",  # А
    "\u0412": "B",  # В
    "\u0415": "E",  # Е
    "\u041a": "K",  # К
    "\u041c": "M",  # М
    "\u041d": "H",  # Н
    "\u041e": "O",  # О
    "\u0420": "P",  # Р
    "\u0421": "C",  # С
    "\u0422": "T",  # Т
    "\u0423": "Y",  # У
    "\u0425": "X",  # Х
    "\u0405": "S",  # Ѕ
    "\u0406": "I",  # І
    "\u0408": "J",  # Ј
    "\u04ae": "Y",  # Ү
    "\u04ba": "H",  # Һ
    "\u04c0": "I",  # Ӏ
    "\u051a": "Q",  # Ԛ
    "\u051c": "W",  # Ԝ
    # Greek
    "\u0391": "A",  # Α
    "\u0392": "B",  # Β
    "\u0395": "E",  # Ε
    "\u0396": "Z",  # Ζ
    "\u0397": "H",  # Η
    "\u0399": "I",  # Ι
    "\u039a": "K",  # Κ
    "\u039c": "M",  # Μ
    "\u039d": "N",  # Ν
    "\u039f": "O",  # Ο
    "\u03a1": "P",  # Ρ
    "\u03a4": "T",  # Τ
    "\u03a5": "Y",  # Υ
    "\u03a7": "X",  # Χ
    "\u03f9": "C",  # Ϲ (lunate sigma)
    "\u037f": "J",  # Ϳ
    # Latin letters with strokes or bars: NFKD does not take these apart.
    "\u00d8": "O",  # Ø
    "\u0141": "L",  # Ł
    "\u0110": "D",  # Đ
    "\u00d0": "D",  # Ð
    "\u0126": "H",  # Ħ
    "\u0166": "T",  # Ŧ
    "\u0197": "I",  # Ɨ
    "\u01b5": "Z",  # Ƶ
    "\u0246": "E",  # Ɇ
    "\u0243": "B",  # Ƀ
    "\u023a": "A",  # Ⱥ
    "\u023b": "C",  # Ȼ
    "\u0248": "J",  # Ɉ
    "\u024c": "R",  # Ɍ
    "\u024e": "Y",  # Ɏ
    "\u01e4": "G",  # Ǥ
}

# Lower-case forms whose upper case is in the table, plus the few without one.
_LOOK_ALIKE_LOWER_ONLY: dict[str, str] = {
    "\u0131": "I",  # ı (dotless i)
    "\u0138": "K",  # ĸ (kra)
}


def _build_look_alikes() -> dict[str, str]:
    table = dict(_LOOK_ALIKE_UPPER)
    for upper, latin in _LOOK_ALIKE_UPPER.items():
        lower = upper.lower()
        if lower != upper and len(lower) == 1:
            table[lower] = latin
    table.update(_LOOK_ALIKE_LOWER_ONLY)
    return table


LOOK_ALIKES: dict[str, str] = _build_look_alikes()


def _is_ascii_alnum(ch: str) -> bool:
    return ("A" <= ch <= "Z") or ("a" <= ch <= "z") or ("0" <= ch <= "9")


def fold_codepoint(cp: int) -> tuple[FoldKind, str]:
    """Classifies one code point (docs/core.md, "Canonical plates", step 2).

    KEEP comes with the A-Z0-9 text the code point stands for (one or more characters); the
    other kinds come with "".
    """
    ch = chr(cp)
    category = unicodedata.category(ch)
    if category in ("Cc", "Cf"):
        return CONTROL, ""
    if category[0] in "ZPM":
        return DROP, ""
    if category == "Cs":
        return INVALID, ""
    kept: list[str] = []
    for part in unicodedata.normalize("NFKD", ch):
        if _is_ascii_alnum(part):
            kept.append(part.upper())
        elif unicodedata.category(part)[0] == "M":
            continue
        elif part in LOOK_ALIKES:
            kept.append(LOOK_ALIKES[part])
        else:
            return INVALID, ""
    if not kept:
        return DROP, ""
    return KEEP, "".join(kept)


def is_white_space(cp: int) -> bool:
    """True for the code points that leave a raw text EMPTY rather than NOTHING_LEFT."""
    return unicodedata.category(chr(cp))[0] == "Z"
