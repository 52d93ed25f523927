"""List definitions: what each watchlist is for and how it may match, from a per-deployment file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Category(str, Enum):
    STOLEN = "stolen"
    WANTED = "wanted"
    UNINSURED = "uninsured"
    NO_INSPECTION = "no_inspection"
    LEZ = "lez"
    PERMIT = "permit"
    EXEMPTION = "exemption"
    PARTIAL = "partial"
    OTHER = "other"


class Action(str, Enum):
    """What the dispatch centre is asked to do with a hit."""

    INTERCEPT = "intercept"
    OBSERVE_DISCREETLY = "observe_discreetly"
    REPORT_ONLY = "report_only"


# Names used in definition files for the core's match kinds (feblam.matching.MatchKind).
KIND_NAMES = ("exact", "resolved", "ocr", "fuzzy", "pattern")


class DefinitionError(ValueError):
    """A list definition file that cannot be used; the message names file, list and field."""


@dataclass(frozen=True)
class ListDefinition:
    id: int
    name: str
    category: Category
    priority: int = 3
    action: Action = Action.REPORT_ONLY
    covert: bool = False
    recipients: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ("exact", "resolved")
    min_score: float = 0.0
    near_max_confidence: float = 1.0
    fuzzy_max_confidence: float = 1.0
    suppression_s: int = 300
    zone: str | None = None
    # A file with more bad rows than this is refused whole: a fraction (< 1) of the rows or a count.
    max_bad_rows: float = 0.001
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def bad_row_limit(self, rows: int) -> int:
        if self.max_bad_rows < 1:
            return int(self.max_bad_rows * rows)
        return int(self.max_bad_rows)

    def refusal(self, rows: int, valid: int, rejected: int) -> str | None:
        """Why a file with these counts is refused whole for this list, or None."""
        limit = self.bad_row_limit(rows)
        if valid == 0:
            return "the file has no valid rows"
        if rejected > limit:
            return f"{rejected} bad rows of {rows}, more than the list's limit of {limit}"
        return None


_FIELDS = {
    "id", "name", "category", "priority", "action", "covert", "recipients", "kinds", "min_score",
    "near_max_confidence", "fuzzy_max_confidence", "suppression_s", "zone", "max_bad_rows",
}


def _definition(raw: dict[str, Any], where: str) -> ListDefinition:
    def fail(key: str, why: str) -> DefinitionError:
        return DefinitionError(f"{where}: field '{key}': {why}")

    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise fail(unknown[0], "unknown field")
    for key in ("id", "name", "category"):
        if key not in raw:
            raise fail(key, "missing")
    list_id = raw["id"]
    if not isinstance(list_id, int) or isinstance(list_id, bool) or not 0 <= list_id < 65536:
        raise fail("id", "must be an integer from 0 to 65535")
    name = raw["name"]
    if not isinstance(name, str) or not name.strip():
        raise fail("name", "must be a non-empty string")
    try:
        category = Category(raw["category"])
    except ValueError:
        raise fail("category", f"{raw['category']!r} is not one of "
                   f"{', '.join(c.value for c in Category)}") from None
    try:
        action = Action(raw.get("action", Action.REPORT_ONLY.value))
    except ValueError:
        raise fail("action", f"{raw['action']!r} is not one of "
                   f"{', '.join(a.value for a in Action)}") from None
    priority = raw.get("priority", 3)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 9:
        raise fail("priority", "must be an integer from 1 (highest) to 9")
    kinds = raw.get("kinds", ["exact", "resolved"])
    if (not isinstance(kinds, list) or not kinds
            or any(k not in KIND_NAMES for k in kinds)):
        raise fail("kinds", f"must be a non-empty list of {', '.join(KIND_NAMES)}")
    recipients = raw.get("recipients", [])
    if not isinstance(recipients, list) or any(not isinstance(r, str) for r in recipients):
        raise fail("recipients", "must be a list of strings")
    covert = raw.get("covert", False)
    if not isinstance(covert, bool):
        raise fail("covert", "must be true or false")
    if covert and not recipients:
        raise fail("recipients", "a covert list needs its named recipients")
    for key, low, high in (("min_score", 0.0, 1.0), ("near_max_confidence", 0.0, 1.0),
                           ("fuzzy_max_confidence", 0.0, 1.0)):
        value = raw.get(key, 0.0 if key == "min_score" else 1.0)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
            raise fail(key, f"must be a number from {low} to {high}")
    suppression = raw.get("suppression_s", 300)
    if not isinstance(suppression, int) or isinstance(suppression, bool) or suppression < 0:
        raise fail("suppression_s", "must be a whole number of seconds >= 0")
    max_bad = raw.get("max_bad_rows", 0.001)
    if not isinstance(max_bad, (int, float)) or isinstance(max_bad, bool) or max_bad < 0:
        raise fail("max_bad_rows", "must be a fraction below 1 or a row count")
    zone = raw.get("zone")
    if zone is not None and (not isinstance(zone, str) or not zone):
        raise fail("zone", "must be a zone name")
    return ListDefinition(
        id=list_id, name=name.strip(), category=category, priority=priority, action=action,
        covert=covert, recipients=tuple(recipients), kinds=tuple(kinds),
        min_score=float(raw.get("min_score", 0.0)),
        near_max_confidence=float(raw.get("near_max_confidence", 1.0)),
        fuzzy_max_confidence=float(raw.get("fuzzy_max_confidence", 1.0)),
        suppression_s=suppression, zone=zone, max_bad_rows=float(max_bad),
    )


def parse_definitions(text: str, source: str = "<definitions>") -> dict[int, ListDefinition]:
    """Definitions keyed by list id, from TOML text with one [[list]] table per list."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{source}: not valid TOML: {exc}") from None
    tables = doc.get("list", [])
    if not isinstance(tables, list) or not tables:
        raise DefinitionError(f"{source}: no [[list]] tables")
    out: dict[int, ListDefinition] = {}
    names: set[str] = set()
    for n, raw in enumerate(tables, 1):
        where = f"{source}: list #{n}" + (f" ({raw['name']})" if isinstance(raw.get("name"), str) else "")
        definition = _definition(raw, where)
        if definition.id in out:
            raise DefinitionError(f"{where}: field 'id': {definition.id} is used twice")
        if definition.name in names:
            raise DefinitionError(f"{where}: field 'name': {definition.name!r} is used twice")
        out[definition.id] = definition
        names.add(definition.name)
    return out


def load_definitions(path: str | Path) -> dict[int, ListDefinition]:
    path = Path(path)
    return parse_definitions(path.read_text(encoding="utf-8"), str(path))
