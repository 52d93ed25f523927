"""Batch matching of reads against watchlist entries: the typed facade of the C++ matcher."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from feblam._native import core
from feblam.plates import DEFAULT_CONFUSION_CLASSES, default_format_spec


TextColumn = Union[str, Sequence[str], npt.NDArray[Any]]


class MatchKind(IntFlag):
    """How a read matched an entry; a list policy allows a set of them."""

    EXACT = 1
    RESOLVED = 2
    OCR = 4
    FUZZY = 8
    PATTERN = 16


class EditOp(IntEnum):
    """The one edit of a fuzzy match, seen from the reader."""

    NONE = 0
    INSERTED = 1
    DROPPED = 2
    SUBSTITUTED = 3


@dataclass(frozen=True)
class ListPolicy:
    """What a list accepts: match kinds, a score floor, and the near-match confidence gate."""

    kinds: MatchKind
    min_score: float = 0.0
    near_max_confidence: float = 1.0
    fuzzy_max_confidence: float = 1.0


@dataclass(frozen=True)
class BuildReport:
    """Counts of a build and the entries that did not normalise (index in the input, status)."""

    entries: int
    indexed: int
    patterns: int
    rejected_entry: npt.NDArray[np.uint32]
    rejected_status: npt.NDArray[np.uint8]
    build_s: float


@dataclass(frozen=True)
class BatchMatches:
    """Per read: canonical plate and status. Per match: parallel columns (docs/core.md)."""

    canonical: npt.NDArray[np.bytes_]
    status: npt.NDArray[np.uint8]
    read: npt.NDArray[np.uint32]
    entry: npt.NDArray[np.uint32]
    list_id: npt.NDArray[np.uint16]
    entry_no: npt.NDArray[np.uint32]
    kind: npt.NDArray[np.uint8]
    score: npt.NDArray[np.float32]
    sub_mask: npt.NDArray[np.uint16]
    edit_op: npt.NDArray[np.uint8]
    edit_pos: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return int(self.read.shape[0])


def text_array(values: TextColumn | None, rows: int | None, what: str) -> npt.NDArray[np.bytes_]:
    """Texts as a C-contiguous 1-d 'S' array of UTF-8; a single str (or None: "") is one row that
    stands for all. 'S' arrays pass through without a copy."""
    if values is None:
        return np.zeros(0, dtype="S1")
    if isinstance(values, str):
        return np.array([values.encode("utf-8", "surrogatepass")], dtype=np.bytes_)
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"{what} must be 1-d")
        if values.dtype.kind == "S":
            out = np.ascontiguousarray(values)
        elif values.dtype.kind == "U":
            out = np.char.encode(values, "utf-8", "surrogatepass")
        elif values.dtype.kind == "O":
            out = _encode_list([str(v) for v in values])
        else:
            raise ValueError(f"{what} must hold text (dtype 'S', 'U' or str objects)")
    else:
        out = _encode_list(list(values))
    if rows is not None and out.shape[0] != rows:
        raise ValueError(f"{what} has {out.shape[0]} rows, expected {rows}")
    return out


def _encode_list(values: list[str]) -> npt.NDArray[np.bytes_]:
    if not values:
        return np.zeros(0, dtype="S1")
    encoded = [v.encode("utf-8", "surrogatepass") for v in values]
    # Trailing NUL bytes would be lost in an 'S' array; they are controls either way.
    return np.array(encoded, dtype=f"S{max(1, max(len(e) for e in encoded))}")


def entry_columns(
    rows: int,
    list_ids: int | Sequence[int] | npt.NDArray[Any],
    entry_nos: Sequence[int] | npt.NDArray[Any] | None,
    policies: Mapping[int, ListPolicy],
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint32]]:
    """List ids and entry numbers as columns, checked against the policies."""
    if isinstance(list_ids, (int, np.integer)):
        lists = np.full(rows, int(list_ids), dtype=np.int64)
    else:
        lists = np.asarray(list_ids, dtype=np.int64).reshape(-1)
    if lists.shape[0] != rows:
        raise ValueError(f"list_ids has {lists.shape[0]} rows, expected {rows}")
    if rows and (lists.min() < 0 or lists.max() > 0xFFFF):
        raise ValueError("list ids must be in 0..65535")
    missing = sorted(set(np.unique(lists).tolist()) - set(policies))
    if missing:
        raise ValueError(f"no policy for list id(s) {missing[:10]}")
    if entry_nos is None:
        numbers = np.arange(rows, dtype=np.uint32)
    else:
        raw = np.asarray(entry_nos, dtype=np.int64).reshape(-1)
        if raw.shape[0] != rows:
            raise ValueError(f"entry_nos has {raw.shape[0]} rows, expected {rows}")
        if rows and (raw.min() < 0 or raw.max() > 0xFFFFFFFF):
            raise ValueError("entry numbers must be in 0..2**32-1")
        numbers = raw.astype(np.uint32)
    return lists.astype(np.uint16), numbers


def check_policies(policies: Mapping[int, ListPolicy]) -> None:
    for list_id, policy in policies.items():
        if not 0 <= int(list_id) <= 0xFFFF:
            raise ValueError(f"list id {list_id} is not in 0..65535")
        if not 0 <= int(policy.kinds) <= int(MatchKind(31)):
            raise ValueError(f"list {list_id}: unknown match kinds {int(policy.kinds)}")


def confidence_column(
    confidences: Sequence[float] | npt.NDArray[Any] | None, rows: int
) -> npt.NDArray[np.float64] | None:
    if confidences is None:
        return None
    out = np.ascontiguousarray(np.asarray(confidences, dtype=np.float64).reshape(-1))
    if out.shape[0] != rows:
        raise ValueError(f"confidences has {out.shape[0]} rows, expected {rows}")
    return out


def plate_column(plates: Sequence[str] | npt.NDArray[Any]) -> npt.NDArray[np.bytes_]:
    if isinstance(plates, str):
        raise ValueError("plates must be a sequence of texts, not one str")
    return text_array(plates, None, "plates")


def _rows_unless_one(values: object, rows: int) -> int | None:
    # A single str (or None) is one text for every row; anything else needs one per row.
    return None if values is None or isinstance(values, str) else rows


_KIND_NAMES = {int(k): k.name for k in MatchKind}


def explain_match(matches: BatchMatches, i: int, listed: str) -> str:
    """Operator text for match i: kind, list, entry, both plates and what differs."""
    if not 0 <= i < len(matches):
        raise IndexError(f"no match {i}")
    kind = int(matches.kind[i])
    read = int(matches.read[i])
    s = bytes(matches.canonical[read]).decode("ascii")
    head = (
        f"{_KIND_NAMES.get(kind, str(kind))} match on list {int(matches.list_id[i])} "
        f"entry {int(matches.entry_no[i])}: read {s}"
    )
    if kind == MatchKind.EXACT:
        return f"{head} = listed {listed}"
    if kind == MatchKind.PATTERN:
        return f"{head} fits pattern {listed}"
    op = EditOp(int(matches.edit_op[i]))
    pos = int(matches.edit_pos[i])
    mask = int(matches.sub_mask[i])
    notes: list[str] = []
    for p in range(len(s)):
        if op == EditOp.INSERTED and p == pos:
            continue
        j = p
        if op == EditOp.INSERTED and p > pos:
            j = p - 1
        elif op == EditOp.DROPPED and p >= pos:
            j = p + 1
        if mask >> p & 1:
            notes.append(f"position {p + 1}: {s[p]} read for {listed[j]}")
    if op == EditOp.INSERTED:
        notes.append(f"position {pos + 1}: {s[pos]} added by the reader")
    elif op == EditOp.DROPPED:
        notes.append(f"listed position {pos + 1}: {listed[pos]} missed by the reader")
    sign = "->" if kind == MatchKind.RESOLVED else "~"
    detail = "; ".join(notes) if notes else "no character differs"
    return f"{head} {sign} listed {listed} ({detail})"


class Matcher:
    """Immutable indexes over watchlist entries; match whole batches of reads at once."""

    def __init__(self, native: Any) -> None:
        self._native = native
        entries, indexed, patterns, rejected, statuses, build_s = native.report()
        self._report = BuildReport(
            entries=int(entries),
            indexed=int(indexed),
            patterns=int(patterns),
            rejected_entry=rejected,
            rejected_status=statuses,
            build_s=float(build_s),
        )

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
    ) -> Matcher:
        """Normalise and index entries; a list id without a policy is a ValueError."""
        check_policies(policies)
        plate_col = plate_column(plates)
        rows = int(plate_col.shape[0])
        lists, numbers = entry_columns(rows, list_ids, entry_nos, policies)
        country_col = text_array(countries, _rows_unless_one(countries, rows), "countries")
        ids = sorted(int(k) for k in policies)
        native = core.Matcher(
            plate_col,
            country_col,
            lists,
            numbers,
            np.array(ids, dtype=np.uint16),
            np.array([int(policies[k].kinds) for k in ids], dtype=np.uint8),
            np.array([float(policies[k].min_score) for k in ids], dtype=np.float64),
            np.array([float(policies[k].near_max_confidence) for k in ids], dtype=np.float64),
            np.array([float(policies[k].fuzzy_max_confidence) for k in ids], dtype=np.float64),
            confusion_classes,
            default_format_spec() if formats is None else formats,
        )
        return cls(native)

    @property
    def report(self) -> BuildReport:
        return self._report

    @property
    def core_matcher(self) -> Any:
        """The core's own matcher object, for batch jobs that match off the event loop."""
        return self._native

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the indexes and the per-entry columns."""
        return int(self._native.memory_bytes)

    @property
    def exact_index_bytes(self) -> int:
        """Bytes of the exact index alone (filter, buckets, keys, entry ids)."""
        return int(self._native.exact_index_bytes)

    def match(
        self,
        plates: Sequence[str] | npt.NDArray[Any],
        countries: str | Sequence[str] | npt.NDArray[Any] | None = None,
        confidences: Sequence[float] | npt.NDArray[Any] | None = None,
        *,
        threads: int = 1,
    ) -> BatchMatches:
        """Match a batch of raw reads; the GIL is released while the core works."""
        plate_col = plate_column(plates)
        rows = int(plate_col.shape[0])
        country_col = text_array(countries, _rows_unless_one(countries, rows), "countries")
        conf = confidence_column(confidences, rows)
        out = self._native.match(plate_col, country_col, conf, max(1, int(threads)))
        return BatchMatches(*out)

    def entry_plate(self, entry: int) -> str:
        """Canonical plate (or pattern) of an entry, "" when it was rejected."""
        return str(self._native.entry_plate(int(entry)))

    def explain(self, matches: BatchMatches, i: int) -> str:
        """Operator text for match i (shows plates: for the operator's screen, not for logs)."""
        return explain_match(matches, i, self.entry_plate(int(matches.entry[i])))


__all__ = [
    "DEFAULT_CONFUSION_CLASSES",
    "BatchMatches",
    "BuildReport",
    "EditOp",
    "ListPolicy",
    "MatchKind",
    "Matcher",
]
