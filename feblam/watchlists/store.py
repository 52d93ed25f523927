"""The serving watchlists: immutable versions, atomic swaps, deltas, rollback, and batch matching.

Readers take `store.snapshot` once per batch; every change builds a new snapshot off the serving
path and replaces the reference in one assignment. A batch in flight therefore finishes on the
version it started with, and a refused or failed load never touches what is serving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from feblam.matching import BatchMatches, ListPolicy, Matcher, MatchKind
from feblam.plates import normalise_pattern
from feblam.watchlists.audit import AuditLog
from feblam.watchlists.definitions import ListDefinition
from feblam.watchlists.files import (
    EntryFileError, ValidationReport, canonical_plates, load_entries, release_memory_promptly,
    short_codes,
)

_KIND_FLAGS = {
    "exact": MatchKind.EXACT, "resolved": MatchKind.RESOLVED, "ocr": MatchKind.OCR,
    "fuzzy": MatchKind.FUZZY, "pattern": MatchKind.PATTERN,
}
_NEVER = np.iinfo(np.int64).min
_FOREVER = np.iinfo(np.int64).max


class WatchlistError(ValueError):
    """A watchlist operation that was refused; the serving version is unchanged."""

    def __init__(self, message: str, report: ValidationReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class UnknownList(WatchlistError):
    """The list id, or the version of a list, that an operation names does not exist."""


class NothingToChange(WatchlistError):
    """The operation needs a version the list does not have yet (a delta before any load, a
    rollback with nothing earlier kept)."""


def policy_of(definition: ListDefinition) -> ListPolicy:
    kinds = MatchKind(0)
    for name in definition.kinds:
        kinds |= _KIND_FLAGS[name]
    return ListPolicy(kinds=kinds, min_score=definition.min_score,
                      near_max_confidence=definition.near_max_confidence,
                      fuzzy_max_confidence=definition.fuzzy_max_confidence)


@dataclass(frozen=True)
class VersionInfo:
    """What an operator sees of one version of a list."""

    list_id: int
    version: int
    origin: str            # load | delta | rollback
    source: str
    checksum: str
    entries: int
    rejected: int
    actor: str
    why: str
    created_utc: float
    parent: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _micros(column: pa.ChunkedArray | pa.Array, missing: int) -> np.ndarray | None:
    """Validity bounds in microseconds, or None when no entry has one (most national lists)."""
    if column.null_count == len(column):
        return None
    values = pc.fill_null(pc.cast(column, pa.int64()), missing)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)


@dataclass(frozen=True)
class IndexedEntries:
    """Entries of one list made matchable: a core index plus the validity windows it needs."""

    matcher: Matcher
    table: pa.Table
    valid_from: np.ndarray | None
    valid_until: np.ndarray | None
    entry_nos: np.ndarray          # the table's entry numbers, by row

    @classmethod
    def build(cls, table: pa.Table, list_id: int, policy: ListPolicy,
              formats: str | None) -> IndexedEntries:
        plates = canonical_plates(table.column("plate"))
        countries = short_codes(table.column("country"))
        entry_nos = np.asarray(table.column("entry_no").to_numpy(), dtype=np.uint32)
        matcher = Matcher.build(plates, list_ids=list_id, policies={list_id: policy},
                                entry_nos=entry_nos, countries=countries, formats=formats)
        return cls(matcher, table, _micros(table.column("valid_from"), _NEVER),
                   _micros(table.column("valid_until"), _FOREVER), entry_nos)


@dataclass(frozen=True)
class ServingList:
    """One list as it serves now: its version, base index, delta overlay and removed entries."""

    definition: ListDefinition
    info: VersionInfo
    base: IndexedEntries
    overlay: IndexedEntries | None = None
    removed: frozenset[int] = frozenset()   # entry numbers (base or overlay) no longer listed
    next_entry_no: int = 0

    @property
    def active_entries(self) -> int:
        n = self.base.table.num_rows + (self.overlay.table.num_rows if self.overlay else 0)
        return int(n) - len(self.removed)

    def entries_table(self) -> pa.Table:
        """Active entries (base, then overlay) as one table."""
        tables = [self.base.table] + ([self.overlay.table] if self.overlay is not None else [])
        table = pa.concat_tables(tables, promote_options="permissive")
        if self.removed:
            gone = pa.array(sorted(self.removed), pa.uint32())
            table = table.filter(pc.invert(pc.is_in(table.column("entry_no"), value_set=gone)))
        return table


@dataclass(frozen=True)
class ListMatches:
    """Matches of one batch against one list version, after validity and delta filtering."""

    list: ServingList
    matches: BatchMatches
    keep: np.ndarray        # indexes into matches that survived
    source: IndexedEntries  # which index the matches come from

    def metadata(self, i: int) -> dict[str, Any]:
        """Entry fields carried onto a hit, for match number keep[i]'s entry."""
        row = int(self.matches.entry[self.keep[i]])
        return {k: v for k, v in self.source.table.slice(row, 1).to_pylist()[0].items()}


# Lists up to this many entries share one index: a batch then costs one core call for all of them
# instead of one per list, and rebuilding the shared index when one of them changes takes
# milliseconds. National lists keep an index of their own, so swapping one rebuilds only it.
SHARED_MAX_ENTRIES = 250_000


def _small_lists(lists: Mapping[int, ServingList]) -> dict[int, ServingList]:
    """The lists whose base index belongs in the shared one."""
    return {lid: s for lid, s in lists.items() if s.base.table.num_rows <= SHARED_MAX_ENTRIES}


def _valid_at_read(rows: np.ndarray, reads: np.ndarray, observed: np.ndarray,
                   valid_from: np.ndarray | None, valid_until: np.ndarray | None,
                   keep_reads: np.ndarray | None = None) -> np.ndarray | None:
    """Which matches name an entry (by row) valid when their read was observed, and come from
    a read keep_reads keeps (all when None); None when all of them do because nothing asks.
    That is most batches: their lists have no validity windows and every read was accepted."""
    if valid_from is None and valid_until is None:
        return None if keep_reads is None else keep_reads[reads]
    when = observed[reads]   # unsigned row numbers index as they are
    ok = np.ones(len(rows), dtype=bool) if keep_reads is None else keep_reads[reads]
    if valid_from is not None:
        ok &= valid_from[rows] <= when
    if valid_until is not None:
        ok &= when < valid_until[rows]
    return ok


def _not_removed(entry_nos: np.ndarray, removed: frozenset[int]) -> np.ndarray | None:
    """Which matches name an entry a delta has not removed (None for all when none was)."""
    if not removed:
        return None
    return ~np.isin(entry_nos.astype(np.int64), np.fromiter(removed, dtype=np.int64))


def _kept(n: int, *masks: np.ndarray | None) -> np.ndarray:
    """The places of n matches that every mask keeps (a None mask keeps all)."""
    given = [m for m in masks if m is not None]
    if not given:
        return np.arange(n)
    return np.flatnonzero(np.logical_and.reduce(given) if len(given) > 1 else given[0])


@dataclass(frozen=True)
class SharedIndex:
    """One matcher over the base entries of several small lists.

    Per shared entry it keeps the row in its list's base table, the entry number and the
    validity window, so a batch's matches are filtered and mapped back in one pass whatever the
    number of lists.
    """

    matcher: Matcher
    bases: Mapping[int, IndexedEntries]   # list id -> the base index it was built from
    rows: np.ndarray                       # shared entry -> row in its list's base table
    entry_nos: np.ndarray                  # shared entry -> the list's entry number
    # shared entry -> microseconds, or _NEVER / _FOREVER; None when no member list has windows
    valid_from: np.ndarray | None
    valid_until: np.ndarray | None

    @classmethod
    def build(cls, lists: Mapping[int, ServingList], formats: str | None) -> SharedIndex | None:
        members = _small_lists(lists)
        if len(members) < 2:
            return None
        plates, countries, list_ids, rows, numbers, starts, ends = [], [], [], [], [], [], []
        for lid, serving in members.items():
            base = serving.base
            n = base.table.num_rows
            plates.append(canonical_plates(base.table.column("plate")))
            countries.append(short_codes(base.table.column("country")))
            list_ids.append(np.full(n, lid, dtype=np.uint16))
            rows.append(np.arange(n, dtype=np.uint32))
            numbers.append(np.asarray(base.entry_nos, dtype=np.uint32))
            starts.append(base.valid_from if base.valid_from is not None
                          else np.full(n, _NEVER, dtype=np.int64))
            ends.append(base.valid_until if base.valid_until is not None
                        else np.full(n, _FOREVER, dtype=np.int64))
        row_column = np.concatenate(rows)
        matcher = Matcher.build(
            np.concatenate(plates), list_ids=np.concatenate(list_ids),
            policies={lid: policy_of(s.definition) for lid, s in members.items()},
            entry_nos=row_column, countries=np.concatenate(countries), formats=formats)
        bases = [s.base for s in members.values()]
        return cls(matcher, {lid: s.base for lid, s in members.items()}, row_column,
                   np.concatenate(numbers),
                   np.concatenate(starts).astype(np.int64)
                   if any(b.valid_from is not None for b in bases) else None,
                   np.concatenate(ends).astype(np.int64)
                   if any(b.valid_until is not None for b in bases) else None)

    def serves(self, lists: Mapping[int, ServingList]) -> bool:
        """Still exactly the small lists' base indexes (deltas live in overlays, not here)."""
        return _small_lists(lists).keys() == self.bases.keys() and all(
            lists[lid].base is base for lid, base in self.bases.items())

    def accept(self, lists: Mapping[int, ServingList], result: BatchMatches,
               observed: np.ndarray, out: list[ListMatches],
               keep_reads: np.ndarray | None = None) -> None:
        """The shared matcher's matches of a batch per member list, validity and removals applied
        (and only those of keep_reads, when given)."""
        if not len(result):
            return
        shared = result.entry
        kept = _kept(len(result), _valid_at_read(shared, result.read, observed, self.valid_from,
                                                 self.valid_until, keep_reads))
        if not len(kept):
            return
        numbers = self.entry_nos[shared]
        # Rows of each list's own table and its entry numbers, for all member lists at once
        # (built directly: dataclasses.replace costs more than the rest of a small batch's work).
        mapped = BatchMatches(result.canonical, result.status, result.read, self.rows[shared],
                              result.list_id, numbers, result.kind, result.score, result.sub_mask,
                              result.edit_op, result.edit_pos)
        # A batch has a handful of matches: grouping them by list in Python costs less than the
        # numpy calls per list it replaces (one unique, three masks and a nonzero per list).
        by_list: dict[int, list[int]] = {}
        for m, lid in zip(kept.tolist(), result.list_id[kept].tolist()):
            by_list.setdefault(lid, []).append(m)
        for lid in sorted(by_list):
            serving = lists[lid]
            keep = np.array(by_list[lid], dtype=np.intp)
            present = _not_removed(numbers[keep], serving.removed)
            if present is not None:
                keep = keep[present]
            if len(keep):
                out.append(ListMatches(serving, mapped, keep, serving.base))


@dataclass(frozen=True)
class Snapshot:
    """Everything a batch matches against; immutable."""

    lists: Mapping[int, ServingList] = field(default_factory=dict)
    shared: SharedIndex | None = None

    @cached_property
    def sources(self) -> list[tuple[ServingList | None, Any]]:
        """Every index a batch is matched against, in the order accept() takes their results:
        (None, the shared index) first, then (list, its own base or overlay index). Worked out
        once per snapshot, which never changes, not once per batch."""
        out: list[tuple[ServingList | None, Any]] = []
        shared = self.shared.bases if self.shared is not None else {}
        if self.shared is not None:
            out.append((None, self.shared))
        for lid, serving in self.lists.items():
            for source in (serving.base, serving.overlay):
                if source is not None and not (source is serving.base and lid in shared):
                    out.append((serving, source))
        return out

    def accept(self, results: Sequence[BatchMatches | None], observed: np.ndarray,
               keep_reads: np.ndarray | None = None) -> list[ListMatches]:
        """Each source's matches (in `sources` order; None for one that matched nothing) per
        list, entries outside validity and removed entries dropped; keep_reads, when given,
        says per read whether its matches count at all (a rejected read's do not)."""
        out: list[ListMatches] = []
        for (serving, source), result in zip(self.sources, results):
            if result is None or not len(result):
                continue
            if serving is None:
                source.accept(self.lists, result, observed, out, keep_reads)
                continue
            keep = _kept(len(result),
                         _valid_at_read(result.entry, result.read, observed,
                                        source.valid_from, source.valid_until, keep_reads),
                         _not_removed(result.entry_no, serving.removed))
            if len(keep):
                out.append(ListMatches(serving, result, keep, source))
        return out

    def match(self, plates: Sequence[str] | np.ndarray, countries: Any = None,
              confidences: Any = None, observed_us: np.ndarray | int | None = None,
              threads: int = 1) -> list[ListMatches]:
        """Matches of a batch against every serving list, entries outside validity dropped."""
        n = len(plates)
        if observed_us is None:
            observed = np.full(n, int(time.time() * 1e6), dtype=np.int64)
        else:
            observed = np.broadcast_to(np.asarray(observed_us, dtype=np.int64), (n,))
        results = [source.matcher.match(plates, countries, confidences, threads=threads)
                   for _, source in self.sources]
        return self.accept(results, observed)


def _entry_numbers_of(table: pa.Table, remove: Sequence[tuple[str, str]]) -> list[int]:
    """Entry numbers of the rows that (plate, country) pairs name, in one pass over the table.

    Plates are compared in canonical form, so `1-abc-123` removes `1ABC123`; an empty country
    names the plate whatever its country.
    """
    any_country: list[str] = []
    with_country: list[str] = []
    for plate, country in remove:
        canonical, _ = normalise_pattern(plate)
        code = country.strip().upper()
        if code:
            with_country.append(f"{canonical}|{code}")
        else:
            any_country.append(canonical)
    plates = table.column("plate")
    hit = pc.is_in(plates, value_set=pa.array(any_country, pa.string()))
    if with_country:
        keys = pc.binary_join_element_wise(plates, table.column("country"), "|")
        hit = pc.or_(hit, pc.is_in(keys, value_set=pa.array(with_country, pa.string())))
    return [int(x) for x in table.column("entry_no").filter(hit).to_pylist()]


class WatchlistStore:
    """Owns the serving snapshot and every change to it; all changes are audited."""

    def __init__(self, definitions: Mapping[int, ListDefinition], audit: AuditLog, *,
                 formats: str | None = None, keep_versions: int = 3) -> None:
        release_memory_promptly()
        self.definitions = dict(definitions)
        self.audit = audit
        self.formats = formats
        self.keep_versions = max(1, keep_versions)
        self._write = threading.Lock()      # one change at a time; readers never wait
        self._snapshot = Snapshot()
        self._history: dict[int, list[ServingList]] = {}
        self._next_version: dict[int, int] = {}

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    # -- reading -------------------------------------------------------------------------------

    def versions(self, list_id: int) -> list[VersionInfo]:
        self._definition(list_id)
        return [s.info for s in self._history.get(list_id, [])]

    def serving(self, list_id: int) -> ServingList | None:
        return self._snapshot.lists.get(list_id)

    def kept(self, list_id: int, version: int | None) -> ServingList:
        """A kept version of a list (None: the serving one)."""
        self._definition(list_id)
        if version is None:
            serving = self.serving(list_id)
            if serving is None:
                raise NothingToChange(f"list {list_id} has no version loaded")
            return serving
        for candidate in self._history.get(list_id, []):
            if candidate.info.version == version:
                return candidate
        kept = ", ".join(str(s.info.version) for s in self._history.get(list_id, [])) or "none"
        raise UnknownList(f"list {list_id}: version {version} is not kept (kept: {kept})")

    # -- changes -------------------------------------------------------------------------------

    def load(self, list_id: int, path: str | Path, *, actor: str, why: str) -> VersionInfo:
        """A whole new version from a file; refused whole when it has too many bad rows."""
        definition = self._definition(list_id)
        try:
            table, report = load_entries(path)
        except EntryFileError as exc:
            self._refuse(list_id, str(exc), actor, why, None)
            raise WatchlistError(str(exc)) from None
        report.refused = definition.refusal(report.rows, report.valid, report.rejected_count)
        if report.refused:
            self._refuse(list_id, report.refused, actor, why, report)
            raise WatchlistError(f"{path}: refused: {report.refused}", report)
        return self._install_table(definition, table, "load", str(path), report.checksum,
                                   report.rejected_count, actor, why, report)

    def delta(self, list_id: int, *, add: pa.Table | None = None,
              remove: Sequence[tuple[str, str]] = (), actor: str, why: str) -> VersionInfo:
        """Add entries and remove (plate, country) pairs; visible to the next batch on return.

        Removing with country "" removes the plate whatever its country. A change is a remove
        and an add of the same plate.
        """
        definition = self._definition(list_id)
        with self._write:
            current = self._snapshot.lists.get(list_id)
            if current is None:
                raise NothingToChange(f"list {list_id} has no version to apply a delta to")
            removed = set(current.removed)
            for source in (current.base, current.overlay):
                if source is not None and remove:
                    removed.update(_entry_numbers_of(source.table, remove))
            removed_count = len(removed) - len(current.removed)
            overlay_table = current.overlay.table if current.overlay is not None else None
            next_no = current.next_entry_no
            added = 0
            if add is not None and add.num_rows:
                add = add.set_column(add.schema.get_field_index("entry_no"), "entry_no",
                                     pa.array(np.arange(next_no, next_no + add.num_rows,
                                                        dtype=np.uint32)))
                next_no += add.num_rows
                added = add.num_rows
                overlay_table = (add if overlay_table is None else
                                 pa.concat_tables([overlay_table, add.select(overlay_table.column_names)],
                                                  promote_options="permissive"))
            overlay = (IndexedEntries.build(overlay_table, list_id, policy_of(definition),
                                            self.formats)
                       if overlay_table is not None else None)
            version = self._take_version(list_id)
            info = VersionInfo(list_id, version, "delta", "delta", "",
                               current.active_entries + added - removed_count, 0, actor, why,
                               time.time(), parent=current.info.version)
            serving = replace(current, info=info, overlay=overlay, removed=frozenset(removed),
                              next_entry_no=next_no)
            self._publish(serving)
        self.audit.record("delta", list_id=list_id, version=version, actor=actor, why=why,
                          outcome="applied", detail={"added": added, "removed": removed_count})
        return serving.info

    def fold(self, list_id: int, expected: ServingList | None = None) -> bool:
        """Rebuild the base index with the overlay and removals folded in (off the serving path).

        Returns False when there is nothing to fold, when the serving list is not `expected`
        (a caller that must see every delta first passes what it saw), or when a delta arrived
        during the build (the next fold picks it up).
        """
        current = self._snapshot.lists.get(list_id)
        if current is None or (current.overlay is None and not current.removed):
            return False
        if expected is not None and current is not expected:
            return False
        table = current.entries_table()
        base = IndexedEntries.build(table, list_id, policy_of(current.definition), self.formats)
        with self._write:
            if self._snapshot.lists.get(list_id) is not current:
                return False
            folded = replace(current, base=base, overlay=None, removed=frozenset())
            lists = dict(self._snapshot.lists)
            lists[list_id] = folded
            self._snapshot = self._snapshot_of(lists)
            history = self._history[list_id]
            history[-1] = folded
        return True

    def rollback(self, list_id: int, version: int | None = None, *, actor: str,
                 why: str) -> VersionInfo:
        """Serve an earlier kept version again (the previous one by default) as a new version."""
        self._definition(list_id)
        with self._write:
            history = self._history.get(list_id, [])
            if len(history) < 2 and version is None:
                self._refuse(list_id, "no earlier version kept", actor, why, None, "rollback")
                raise NothingToChange(f"list {list_id} has no earlier version kept to roll back to")
            if version is None:
                target = history[-2]
            else:
                try:
                    target = self.kept(list_id, version)
                except WatchlistError:
                    self._refuse(list_id, f"version {version} not kept", actor, why, None,
                                 "rollback")
                    raise
            new_version = self._take_version(list_id)
            info = replace(target.info, version=new_version, origin="rollback", actor=actor,
                           why=why, created_utc=time.time(), parent=target.info.version)
            serving = replace(target, info=info)
            self._publish(serving)
        self.audit.record("rollback", list_id=list_id, version=new_version, actor=actor, why=why,
                          outcome="applied", detail={"to": target.info.version})
        return info

    def pending_folds(self) -> list[ServingList]:
        """Serving lists that carry a delta overlay or removals."""
        return [s for s in self._snapshot.lists.values() if s.overlay is not None or s.removed]

    # -- internals -----------------------------------------------------------------------------

    def _definition(self, list_id: int) -> ListDefinition:
        try:
            return self.definitions[list_id]
        except KeyError:
            raise UnknownList(f"no list with id {list_id} is defined") from None

    def _take_version(self, list_id: int) -> int:
        version = self._next_version.get(list_id, 1)
        self._next_version[list_id] = version + 1
        return version

    def _refuse(self, list_id: int, reason: str, actor: str, why: str,
                report: ValidationReport | None, action: str = "refusal") -> None:
        detail: dict[str, Any] = {"reason": reason, "action": action}
        if report is not None:
            detail.update(rows=report.rows, valid=report.valid, rejected=report.rejected_count,
                          checksum=report.checksum, source=report.source,
                          rejected_by_reason=dict(report.rejected_by_reason))
        self.audit.record("refusal", list_id=list_id, actor=actor, why=why, outcome="refused",
                          detail=detail)

    def _install_table(self, definition: ListDefinition, table: pa.Table, origin: str,
                       source: str, checksum: str, rejected: int, actor: str, why: str,
                       report: ValidationReport | None) -> VersionInfo:
        # Build outside the write lock: a long load must not hold up deltas to other lists.
        base = IndexedEntries.build(table, definition.id, policy_of(definition), self.formats)
        with self._write:
            version = self._take_version(definition.id)
            info = VersionInfo(definition.id, version, origin, source, checksum, table.num_rows,
                               rejected, actor, why, time.time())
            serving = ServingList(definition, info, base, next_entry_no=table.num_rows)
            self._publish(serving)
        detail: dict[str, Any] = {"entries": table.num_rows, "source": source,
                                  "checksum": checksum}
        if report is not None:
            detail.update(rejected=report.rejected_count,
                          rejected_by_reason=dict(report.rejected_by_reason))
        self.audit.record("load", list_id=definition.id, version=version, actor=actor, why=why,
                          outcome="applied", detail=detail)
        return info

    def _publish(self, serving: ServingList) -> None:
        """Must hold the write lock. One assignment makes the change visible."""
        lists = dict(self._snapshot.lists)
        lists[serving.info.list_id] = serving
        history = self._history.setdefault(serving.info.list_id, [])
        history.append(serving)
        del history[:-self.keep_versions]
        self._snapshot = self._snapshot_of(lists)

    def _snapshot_of(self, lists: dict[int, ServingList]) -> Snapshot:
        """A snapshot of these lists, rebuilding the small lists' shared index only when one of
        their base indexes changed (a delta changes an overlay, not a base)."""
        shared = self._snapshot.shared
        if shared is None or not shared.serves(lists):
            shared = SharedIndex.build(lists, self.formats)
        return Snapshot(lists, shared)
