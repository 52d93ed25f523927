"""Reference OCR confusion classes: which characters a reader mistakes for one another."""

from __future__ import annotations

DEFAULT_CONFUSION_CLASSES = "0ODQ 1IL 2Z 5S 8B 6G"

_PLATE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_GROUP_SEPARATORS = " \t\n"


class ConfusionClasses:
    """Groups separated by white space, e.g. "0ODQ 1IL"; ValueError as the C++ core raises it."""

    def __init__(self, spec: str = DEFAULT_CONFUSION_CLASSES) -> None:
        self.spec = spec
        self._group: dict[str, str] = {}
        for group in _split_groups(spec):
            for c in group:
                if c not in _PLATE_CHARS:
                    raise ValueError(f"confusion classes: '{c}' is not A-Z or 0-9")
                if c in self._group:
                    raise ValueError(f"confusion classes: '{c}' appears in two groups")
                self._group[c] = group

    def representative(self, c: str) -> str:
        """First character of c's group, or c itself when c is in no group."""
        return self._group.get(c, c)[0]

    def members(self, c: str) -> str:
        """Every member of c's group, c included (c alone when c is in no group)."""
        return self._group.get(c, c)

    def ocr_key(self, s: str) -> str:
        """s with each character replaced by its representative."""
        return "".join(self.representative(c) for c in s)


def _split_groups(spec: str) -> list[str]:
    groups: list[str] = []
    current: list[str] = []
    for ch in spec:
        if ch in _GROUP_SEPARATORS:
            if current:
                groups.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        groups.append("".join(current))
    return groups
