"""Reference batch matcher: docs/core.md's matching rules, one read and one entry at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from feblam.matching import (
    DEFAULT_CONFUSION_CLASSES,
    BatchMatches,
    BuildReport,
    EditOp,
    ListPolicy,
    MatchKind,
    check_policies,
    confidence_column,
    entry_columns,
    plate_column,
    text_array,
)
from feblam.reference.confusion import ConfusionClasses
from feblam.reference.formats import ReferenceFormats, default_format_spec
from feblam.reference.normalise import OK, normalise_pattern, normalise_plate


@dataclass(frozen=True)
class _Entry:
    index: int
    text: str  # canonical plate or pattern
    is_pattern: bool
    country: str  # "" when unknown
    list_id: int
    entry_no: int


@dataclass(frozen=True)
class _Found:
    kind: MatchKind
    sub_mask: int
    edit_op: EditOp
    edit_pos: int
    score: np.float32


def _texts(column: npt.NDArray[np.bytes_], rows: int | None) -> list[str]:
    """Decoded texts; with `rows`, an empty column is "" for all and one text stands for all."""
    decoded = [bytes(v).decode("utf-8", "surrogatepass") for v in column]
    if rows is None:
        return decoded
    if not decoded:
        return [""] * rows
    return decoded * rows if len(decoded) == 1 else decoded


def compatible(a: str, b: str) -> bool:
    return a == "" or b == "" or a == b


def pattern_matches(pattern: str, s: str) -> bool:
    """'?' one character, '*' any run; by plain recursion."""
    if not pattern:
        return not s
    head = pattern[0]
    if head == "*":
        return any(pattern_matches(pattern[1:], s[k:]) for k in range(len(s) + 1))
    if not s:
        return False
    return (head == "?" or head == s[0]) and pattern_matches(pattern[1:], s[1:])


def levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def score_of(base: float, q: float) -> np.float32:
    return np.float32(base * (0.5 + 0.5 * q))


class ReferenceMatcher:
    """Same build/match signature as feblam.matching.Matcher; slow and plain."""

    def __init__(
        self,
        entries: list[_Entry],
        policies: Mapping[int, ListPolicy],
        classes: ConfusionClasses,
        formats: ReferenceFormats,
        report: BuildReport,
    ) -> None:
        self.entries = entries
        self.policies = dict(policies)
        self.classes = classes
        self.formats = formats
        self.report = report
        self._by_index = {e.index: e for e in entries}

    @classmethod
    def build(
        cls,
        plates: Sequence[str] | npt.NDArray[Any],
        *,
        list_ids: int | Sequence[int] | npt.NDArray[Any],
        policies: Mapping[int, ListPolicy],
        entry_nos: Sequence[int] | npt.NDArray[Any] | None = None,
        countries: str | Sequence[str] | npt.NDArray[Any] | None = None,
        confusion_classes: str = DEFAULT_CONFUSION_CLASSES,
        formats: str | None = None,
        threads: int = 1,
    ) -> ReferenceMatcher:
        del threads
        check_policies(policies)
        raw_plates = _texts(plate_column(plates), None)
        rows = len(raw_plates)
        lists, numbers = entry_columns(rows, list_ids, entry_nos, policies)
        one_for_all = countries is None or isinstance(countries, str)
        raw_countries = _texts(text_array(countries, None if one_for_all else rows, "countries"), rows)
        classes = ConfusionClasses(confusion_classes)
        table = ReferenceFormats(default_format_spec() if formats is None else formats, classes)
        entries: list[_Entry] = []
        rejected: list[tuple[int, int]] = []
        for i, raw in enumerate(raw_plates):
            is_pattern = "?" in raw or "*" in raw
            text, status = normalise_pattern(raw) if is_pattern else normalise_plate(raw)
            if status != OK:
                rejected.append((i, status))
                continue
            entries.append(
                _Entry(
                    index=i,
                    text=text,
                    is_pattern=is_pattern,
                    country=table.canonical_country(raw_countries[i]),
                    list_id=int(lists[i]),
                    entry_no=int(numbers[i]),
                )
            )
        report = BuildReport(
            entries=rows,
            indexed=len(entries),
            patterns=sum(e.is_pattern for e in entries),
            rejected_entry=np.array([i for i, _ in rejected], dtype=np.uint32),
            rejected_status=np.array([s for _, s in rejected], dtype=np.uint8),
            build_s=0.0,
        )
        return cls(entries, policies, classes, table, report)

    def entry_plate(self, entry: int) -> str:
        found = self._by_index.get(entry)
        return found.text if found is not None else ""

    def match(
        self,
        plates: Sequence[str] | npt.NDArray[Any],
        countries: str | Sequence[str] | npt.NDArray[Any] | None = None,
        confidences: Sequence[float] | npt.NDArray[Any] | None = None,
        *,
        threads: int = 1,
    ) -> BatchMatches:
        del threads
        raw_plates = _texts(plate_column(plates), None)
        rows = len(raw_plates)
        one_for_all = countries is None or isinstance(countries, str)
        raw_countries = _texts(text_array(countries, None if one_for_all else rows, "countries"), rows)
        conf = confidence_column(confidences, rows)
        canonical: list[bytes] = []
        statuses: list[int] = []
        found: list[tuple[int, _Entry, _Found]] = []
        for r, raw in enumerate(raw_plates):
            s, status = normalise_plate(raw)
            canonical.append(s.encode("ascii"))
            statuses.append(status)
            if status != OK:
                continue
            q = 1.0 if conf is None or np.isnan(conf[r]) else min(max(float(conf[r]), 0.0), 1.0)
            per_read = []
            for e in self.entries:
                m = self.match_pair(s, raw_countries[r], q, e)
                if m is not None and float(m.score) >= self.policies[e.list_id].min_score:
                    per_read.append((r, e, m))
            per_read.sort(key=lambda t: (-float(t[2].score), t[1].index))
            found.extend(per_read)
        return BatchMatches(
            canonical=np.array(canonical, dtype="S10"),
            status=np.array(statuses, dtype=np.uint8),
            read=np.array([r for r, _, _ in found], dtype=np.uint32),
            entry=np.array([e.index for _, e, _ in found], dtype=np.uint32),
            list_id=np.array([e.list_id for _, e, _ in found], dtype=np.uint16),
            entry_no=np.array([e.entry_no for _, e, _ in found], dtype=np.uint32),
            kind=np.array([int(m.kind) for _, _, m in found], dtype=np.uint8),
            score=np.array([m.score for _, _, m in found], dtype=np.float32),
            sub_mask=np.array([m.sub_mask for _, _, m in found], dtype=np.uint16),
            edit_op=np.array([int(m.edit_op) for _, _, m in found], dtype=np.uint8),
            edit_pos=np.array([m.edit_pos for _, _, m in found], dtype=np.uint8),
        )

    # --- one (read, entry) pair ---------------------------------------------------------------

    def countries_of(self, s: str, sent_text: str) -> tuple[str, str]:
        """(country as sent with aliases applied, effective country)."""
        sent = self.formats.canonical_country(sent_text)
        if sent and self.formats.has_formats(sent) and not self.formats.fits(s, sent):
            return sent, ""
        return sent, sent

    def in_format_doubt(self, s: str, sent: str) -> bool:
        if sent:
            return self.formats.has_formats(sent) and not self.formats.fits_exactly(s, sent)
        return not self.formats.fits_exactly(s, "")

    def speaks_against(self, s: str, c: str, entry_country: str) -> bool:
        """The plate as read fits the entry's country exactly and the read's country only re-read."""
        return (
            c != ""
            and entry_country != ""
            and self.formats.has_formats(c)
            and not self.formats.fits_exactly(s, c)
            and self.formats.fits_exactly(s, entry_country)
        )

    def kind_of(self, s: str, c: str, e: _Entry) -> MatchKind | None:
        """The first kind that holds, before the gate (docs/core.md, "Match kinds")."""
        kinds = self.policies[e.list_id].kinds
        P = e.text
        if e.is_pattern:
            if MatchKind.PATTERN in kinds and compatible(e.country, c) and pattern_matches(P, s):
                return MatchKind.PATTERN
            return None
        if MatchKind.EXACT in kinds and s == P:
            if compatible(e.country, c) or self.speaks_against(s, c, e.country):
                return MatchKind.EXACT
        if MatchKind.RESOLVED in kinds:
            tried = [c] if c else list(self.formats.countries)
            for C in tried:
                if (C, P) in self.formats.resolutions(s, C) and compatible(e.country, C):
                    return MatchKind.RESOLVED
        key = self.classes.ocr_key
        if (
            MatchKind.OCR in kinds
            and compatible(e.country, c)
            and len(s) == len(P)
            and s != P
            and key(s) == key(P)
        ):
            return MatchKind.OCR
        if (
            MatchKind.FUZZY in kinds
            and compatible(e.country, c)
            and s != P
            and levenshtein(key(s), key(P)) <= 1
        ):
            return MatchKind.FUZZY
        return None

    def match_pair(self, s: str, sent_text: str, q: float, e: _Entry) -> _Found | None:
        sent, c = self.countries_of(s, sent_text)
        kind = self.kind_of(s, c, e)
        if kind is None:
            return None
        if kind in (MatchKind.RESOLVED, MatchKind.OCR, MatchKind.FUZZY):
            gate = self.policies[e.list_id].near_max_confidence
            if not (q <= gate or self.in_format_doubt(s, sent)):
                return None
        if kind == MatchKind.FUZZY and not q <= self.policies[e.list_id].fuzzy_max_confidence:
            return None
        P = e.text
        if kind == MatchKind.PATTERN:
            literals = sum(ch not in "?*" for ch in P)
            return _Found(kind, 0, EditOp.NONE, 0, score_of(0.3 + 0.2 * literals / len(s), q))
        op, pos = EditOp.NONE, 0
        if kind == MatchKind.FUZZY:
            op, pos = self.fuzzy_edit(s, P)
        aligned = self.aligned(len(s), op, pos)
        mask = 0
        for i, j in aligned.items():
            if s[i] != P[j]:
                mask |= 1 << i
        bits = bin(mask).count("1")
        if kind == MatchKind.EXACT:
            base = 1.0
        elif kind == MatchKind.RESOLVED:
            base = 0.9
        elif kind == MatchKind.OCR:
            base = 0.8 - 0.02 * (bits - 1)
        else:
            m = bits - 1 if op == EditOp.SUBSTITUTED and mask >> pos & 1 else bits
            base = 0.55 - 0.02 * m
        return _Found(kind, mask, op, pos, score_of(base, q))

    def fuzzy_edit(self, s: str, P: str) -> tuple[EditOp, int]:
        a, b = self.classes.ocr_key(s), self.classes.ocr_key(P)
        if len(s) == len(P) + 1:
            return EditOp.INSERTED, min(p for p in range(len(a)) if a[:p] + a[p + 1 :] == b)
        if len(s) == len(P) - 1:
            return EditOp.DROPPED, min(p for p in range(len(b)) if b[:p] + b[p + 1 :] == a)
        differing = [i for i in range(len(a)) if a[i] != b[i]]
        if differing:
            return EditOp.SUBSTITUTED, differing[0]
        return EditOp.NONE, 0

    @staticmethod
    def aligned(n: int, op: EditOp, pos: int) -> dict[int, int]:
        """Read position -> entry position it is compared with."""
        if op == EditOp.INSERTED:
            return {i: (i if i < pos else i - 1) for i in range(n) if i != pos}
        if op == EditOp.DROPPED:
            return {i: (i if i < pos else i + 1) for i in range(n)}
        return {i: i for i in range(n)}
