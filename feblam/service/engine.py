"""The engine's batch path: validate, deduplicate, match, apply zones, prioritise, suppress, commit.

A batch is acknowledged only after its hits are in the outbox. The serialized batch is read into
columns by the core, matching runs off the event loop (the core releases the GIL), everything else
is per-batch numpy or per-hit Python; reads that hit nothing leave no trace but keyed hashes in the
retroactive buffer.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from feblam.hits.encoding import aware, entry_field, list_field, read_field
from feblam.hits.identity import hit_id as make_hit_id
from feblam.hits.identity import sighting_id as make_sighting_id
from feblam.hits.outbox import HIT, SIGHTING, Outbox, OutboxItem, Window
from feblam.hits.priority import ZONE, prioritise
from feblam.hits.suppression import SuppressionWindows
from feblam._native import core
from feblam.matching import BatchMatches
from feblam.service.errors import BatchTooLarge, NotReady, Overloaded
from feblam.service.intake import BatchIntake
from feblam.service.logs import mask_plate
from feblam.service.metrics import EngineMetrics
from feblam.service.retro import PackedTexts, PlateKeys, RetroBuffer, RetroChunk
from feblam.service.validation import (ACCEPTED, Screen, SeenReads, ValidatedBatch, WireBatch,
                                      read_bytes, read_wire, validate)
from feblam.v1 import hits_pb2, reads_pb2
from feblam.watchlists.definitions import Action, ListDefinition
from feblam.watchlists.zones import ZoneRules, local_day_bounds

log = logging.getLogger("feblam.engine")

_ACTIONS = {Action.INTERCEPT: hits_pb2.ACTION_INTERCEPT,
            Action.OBSERVE_DISCREETLY: hits_pb2.ACTION_OBSERVE_DISCREETLY,
            Action.REPORT_ONLY: hits_pb2.ACTION_REPORT_ONLY}
# Bounds of the converted-entry memory: tables (list versions) and rows per table.
_ENTRY_CACHE_TABLES = 64
_ENTRY_CACHE_ROWS = 50_000
_ENTRY_CACHE_WHOLE = 20_000
# Recipient lists kept for (list definition, camera) pairs before the cache starts over.
_RECIPIENT_LISTS = 100_000
# Batches, and their bytes, waiting for the intake worker before more are read on the loop
# (where admission can refuse them before any match): what queued jobs hold stays bounded.
_INTAKE_QUEUE = 64
_INTAKE_BYTES = 64 << 20
_KIND_NAMES = {1: "exact", 2: "resolved", 4: "ocr", 8: "fuzzy", 16: "pattern", ZONE: "zone"}


@dataclass(frozen=True)
class EngineLimits:
    max_inflight_reads: int = 100_000
    max_batch_reads: int = 10_000
    max_read_age_s: float = 7 * 86400.0
    max_future_s: float = 300.0
    require_known_camera: bool = False
    match_threads: int = 1
    # Reads one integrator may have in flight (0: only the engine's limit): below
    # max_inflight_reads, one integrator's flood cannot hold back everybody else's reads.
    max_inflight_reads_per_integrator: int = 0


@dataclass(slots=True)
class RaisedHit:
    """A match that survived every rule, about to become a Hit or a trail Sighting."""

    read_index: int
    definition: ListDefinition
    version: int
    entry: Mapping[str, Any]
    entry_no: int
    kind: int
    score: float
    sub_mask: int = 0
    edit_op: int = 0
    edit_pos: int = 0
    zone: str = ""
    suppression_key: tuple[object, ...] = ()
    window_s: float = 0.0
    entry_bytes: bytes = b""  # the Hit's serialized `entry` field, when already known


@dataclass
class BatchOutcome:
    hits: int = 0
    sightings: int = 0
    items: list[OutboxItem] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)


@dataclass
class PreparedBatch:
    """A batch read, validated, deduplicated and matched: the core's part of the batch path.

    The snapshot it was matched on travels with it: if the lists change before its hits are
    decided, the batch is matched again (see Engine._process).
    """

    wire: WireBatch
    checked: ValidatedBatch
    accepted: np.ndarray
    snapshot: Any          # the watchlist snapshot the matches were found in
    matched: list[Any]     # its ListMatches, of accepted reads, by their place in the batch

    def __len__(self) -> int:
        return len(self.wire)


def _pick(column: np.ndarray, index: np.ndarray) -> np.ndarray:
    """column[index]; the whole column itself in the usual case where every read was accepted."""
    if len(index) == len(column):
        return column
    picked: np.ndarray = column[index]
    return picked


def _positions(mask: int) -> list[int]:
    return [i for i in range(16) if mask >> i & 1]


class Engine:
    def __init__(self, store: Any, outbox: Outbox, metrics: EngineMetrics, *,
                 zone_rules: ZoneRules | None = None, limits: EngineLimits | None = None,
                 retro_hours: float = 24.0, retro_max_reads: int = 2_000_000,
                 dedupe_reads: int = 2_000_000, keys: PlateKeys | None = None) -> None:
        self.store = store
        self.outbox = outbox
        self.metrics = metrics
        # Read when scraped: deliveries lower the depth whenever their deletions commit.
        metrics.outbox_depth.set_function(lambda: outbox.depth)
        self.limits = limits or EngineLimits()
        self.zone_rules = zone_rules or ZoneRules()
        self.keys = keys or PlateKeys()
        self.retro = RetroBuffer(self.keys, retro_hours, retro_max_reads)
        self.seen = SeenReads(dedupe_reads)
        # Keys the read-id and camera hashes; plates have their own key in self.keys.
        self._id_seed = secrets.randbits(64)
        self._read_scopes: dict[str, int] = {"": 0}
        self._integrator_reads: dict[str, Any] = {}
        self._ocr_table = self.keys.ocr_table
        self._allow_zone_camera_hashes = np.zeros(0, dtype=np.uint64)
        self._screen = Screen(memory=self.seen.memory)
        self.suppression = SuppressionWindows()
        # Windows of hits raised before a restart (plate hashes need the same key across restarts:
        # the server keeps it in the data directory).
        self.suppression.restore(outbox.open_windows(int(time.time() * 1e6)))
        self.ready = False
        self.on_commit: list[Any] = []
        self._inflight = 0
        self._inflight_by: dict[str, int] = {}   # by integrator
        self._latency_ewma_s = 0.005
        self._seen_lists: dict[int, Any] = {}
        self._retro_lock = asyncio.Lock()
        self._entries: dict[int, tuple[Any, dict[int, tuple[dict[str, Any], bytes]]]] = {}
        self._list_fields: dict[tuple[int, int], tuple[ListDefinition, bytes]] = {}
        self._hit_counters: dict[tuple[str, int, str], Any] = {}
        self._accepted_reads = metrics.reads.labels("ACCEPTED")   # looked up once, used per batch
        # (definition, camera registry, recipients) by (id of the definition, camera id).
        self._recipient_lists: dict[tuple[int, str], tuple[Any, Any, list[str]]] = {}
        self._zone_cameras: frozenset[str] = frozenset()
        self._allow_zone_cameras: frozenset[str] = frozenset()
        self._intake: BatchIntake | None = None  # started by the first batch that uses it
        self.set_zone_rules(self.zone_rules)

    # -- configuration -------------------------------------------------------------------------

    def set_zone_rules(self, rules: ZoneRules) -> None:
        self.zone_rules = rules
        cameras = {c for z in rules.zones.values() for c in z.cameras}
        cameras |= {c.id for c in rules.cameras.values() if c.zones}
        self._zone_cameras = frozenset(cameras)
        # In an allow zone every read may break the rule (a vehicle without a permit); in a deny
        # zone only a read that matched one of its lists can.
        self._allow_zone_cameras = frozenset(c for c in cameras
                                             if any(z.mode == "allow" for z in rules.zones_of(c)))
        self._allow_zone_camera_hashes = self._camera_hashes(self._allow_zone_cameras)
        known = (core.CameraSet(self._camera_hashes(rules.cameras))
                 if self.limits.require_known_camera else None)
        self._screen = Screen(known, self.seen.memory)

    def _camera_hashes(self, cameras: Iterable[str]) -> npt.NDArray[np.uint64]:
        """Camera ids keyed as the core keys each read's camera, for batch-wide lookups."""
        return np.array([core.keyed_hash(c.encode("utf-8"), self._id_seed)
                         for c in sorted(cameras)], dtype=np.uint64)

    def _read_scope(self, integrator: str) -> int:
        """What puts an integrator's read-id hashes in a space of their own: two integrators
        may both send a read "1", and neither is the other's duplicate."""
        scope = self._read_scopes.get(integrator)
        if scope is None:
            # Names come from authentication (configured tokens, certificates the CA signed), so
            # this stays as small as the set of integrators.
            scope = core.keyed_hash(b"integrator\x1f" + integrator.encode("utf-8"),
                                    self._id_seed) or 1
            self._read_scopes[integrator] = scope
        return scope

    def note_snapshot(self) -> None:
        """Remembers the serving lists as they are now (retroactive search starts from here)."""
        self._seen_lists = dict(self.store.snapshot.lists)
        self._update_list_metrics()

    def _update_list_metrics(self) -> None:
        for serving in self._seen_lists.values():
            name = serving.definition.name
            self.metrics.watchlist_version.labels(name).set(serving.info.version)
            self.metrics.watchlist_entries.labels(name).set(serving.active_entries)

    # -- the batch path ------------------------------------------------------------------------

    def admit(self, n: int, batch_id: str = "", integrator: str = "") -> None:
        """Counts n reads of an integrator in flight; raises NotReady, BatchTooLarge or
        Overloaded instead."""
        self._check_admission(n, batch_id, integrator)
        self._inflight += n
        self._inflight_by[integrator] = self._inflight_by.get(integrator, 0) + n
        self.metrics.inflight_reads.set(self._inflight)

    def _check_admission(self, n: int, batch_id: str = "", integrator: str = "") -> None:
        if not self.ready:
            raise NotReady("watchlists are not loaded yet")
        if n > self.limits.max_batch_reads:
            raise BatchTooLarge(f"a batch holds at most {self.limits.max_batch_reads} reads, "
                                f"this one {n}")
        if self._inflight and self._inflight + n > self.limits.max_inflight_reads:
            raise self._refusal(f"the engine has {self._inflight} reads in flight", batch_id)
        own = self._inflight_by.get(integrator, 0)
        if own and self._over_share(own + n):
            raise self._refusal(f"this integrator has {own} reads in flight", batch_id)

    def _over_share(self, reads: int) -> bool:
        """Whether one integrator with this many reads in flight is past its share."""
        share = self.limits.max_inflight_reads_per_integrator
        return bool(share) and reads > share

    def _refusal(self, why: str, batch_id: str) -> Overloaded:
        self.metrics.batches_refused.inc()
        retry = max(5, int(self._latency_ewma_s * 2000))
        return Overloaded(f"{why}; retry later", retry, batch_id)

    def release(self, n: int, integrator: str = "") -> None:
        self._inflight -= n
        left = self._inflight_by.get(integrator, 0) - n
        if left > 0:
            self._inflight_by[integrator] = left
        else:
            self._inflight_by.pop(integrator, None)
        self.metrics.inflight_reads.set(self._inflight)

    def _time_range(self) -> tuple[int, int]:
        """The observed_us a read may carry now: not older than max_read_age_s, not further in
        the future than max_future_s."""
        now_us = int(time.time() * 1e6)
        limits = self.limits
        return (now_us - int(limits.max_read_age_s * 1e6),
                now_us + int(limits.max_future_s * 1e6))

    def read_wire(self, data: bytes, integrator: str = "") -> WireBatch:
        """The columns of a serialized ReadBatch an integrator sent; raises BadBatch if it is
        malformed."""
        oldest, newest = self._time_range()
        return read_wire(data, plate_seed=self.keys.seed, id_seed=self._id_seed,
                         ocr_table=self._ocr_table, min_observed_us=oldest,
                         max_observed_us=newest, screen=self._screen, integrator=integrator,
                         read_scope=self._read_scope(integrator))

    def prepare(self, batch: bytes | WireBatch, integrator: str = "") -> PreparedBatch:
        """Reads, validates, deduplicates and matches a batch on the calling thread; raises
        BadBatch if it is malformed and, before any matching, what admission would refuse it for."""
        wire = batch if isinstance(batch, WireBatch) else self.read_wire(batch, integrator)
        # A batch the engine would refuse costs no validation and no match.
        self._check_admission(len(wire), wire.batch_id, wire.integrator)
        checked = validate(wire)
        accepted = checked.accepted
        snapshot = self.store.snapshot
        matched = self._core_match(snapshot, checked) if len(accepted) else []
        return PreparedBatch(wire, checked, accepted, snapshot, matched)

    async def prepare_async(self, data: bytes, integrator: str = "") -> PreparedBatch:
        """prepare(), with the core's reading and matching done on its intake worker while the
        event loop goes on with other batches."""
        self._check_admission(0)
        if self._inflight >= self.limits.max_inflight_reads or self._over_share(
                self._inflight_by.get(integrator, 0) + 1) or (
                self._intake is not None and (
                    self._intake.pending >= _INTAKE_QUEUE
                    or self._intake.pending_bytes + len(data) > _INTAKE_BYTES)):
            # Already full: read on the loop, so the refusal costs no match.
            return self.prepare(data, integrator)
        if self._intake is None or not self._intake.serves(asyncio.get_running_loop()):
            # First use, or an engine driven from a new event loop (tests, embedding).
            self.close()
            self._intake = BatchIntake(self.keys.seed, self._id_seed, self._ocr_table,
                                       self.limits.match_threads)
        snapshot = self.store.snapshot
        sources = snapshot.sources
        oldest, newest = self._time_range()
        columns, found = await self._intake.submit(
            data, oldest, newest, [source.matcher.core_matcher for _, source in sources],
            self._screen, self._read_scope(integrator))
        wire = WireBatch(data, str(columns["batch_id"]), columns, integrator)
        checked = validate(wire)
        accepted = checked.accepted
        matched: list[Any] = []
        if len(accepted) and sources:
            matched = self._accept(snapshot, checked, [
                None if index_matches is None
                else BatchMatches(checked.canonical, checked.plate_status, *index_matches)
                for index_matches in found])
        return PreparedBatch(wire, checked, accepted, snapshot, matched)

    def close(self) -> None:
        """Stops the intake worker (after the batches it holds)."""
        if self._intake is not None:
            self._intake.close()
            self._intake = None

    async def process(self, batch: reads_pb2.ReadBatch | bytes | WireBatch | PreparedBatch,
                      integrator: str = "") -> reads_pb2.BatchAck:
        """Admits, matches and commits one batch an integrator sent (a wire or prepared batch
        names its own); raises Overloaded at the in-flight limit."""
        started = time.perf_counter()
        if isinstance(batch, reads_pb2.ReadBatch):
            batch = batch.SerializeToString()
        if isinstance(batch, bytes):
            prepared = await self.prepare_async(batch, integrator)
        elif isinstance(batch, WireBatch):
            prepared = self.prepare(batch)
        else:
            prepared = batch
        n = len(prepared)
        integrator = prepared.checked.integrator
        self.admit(n, prepared.wire.batch_id, integrator)
        try:
            ack = await self._process(prepared)
        finally:
            self.release(n, integrator)
        elapsed = time.perf_counter() - started
        self._latency_ewma_s = 0.9 * self._latency_ewma_s + 0.1 * elapsed
        self.metrics.batch_seconds.observe(elapsed)
        return ack

    async def _process(self, prepared: PreparedBatch) -> reads_pb2.BatchAck:
        await self.check_deltas()
        now_us = int(time.time() * 1e6)
        checked, accepted = prepared.checked, prepared.accepted
        outcome = BatchOutcome()
        if len(accepted):
            matched = prepared.matched
            snapshot = self.store.snapshot
            if prepared.snapshot is not snapshot:
                # The lists changed while the batch was prepared: match on what serves now, or a
                # delta searched for in the retroactive buffer before these reads are in it
                # would miss them.
                matched = self._core_match(snapshot, checked)
            raised = self._raise(checked, matched)
            outcome = self._decide(checked, raised, now_us)
            # Buffered before the commit's await: from here on, a delta's retroactive search
            # sees these reads (nothing else runs on the loop between the match and here).
            self._buffer(checked, accepted, now_us)
            # Read ids are remembered only once the batch's hits are committed (a batch that
            # failed may be sent again), and before its acknowledgement: every batch handed over
            # after it, to the intake worker or read on the loop, sees them. The outbox's writer
            # thread remembers them right after the commit (at once, when there is none).
            # Counting and waking the sender follow the commit even when the integrator went
            # away meanwhile: its reads were taken all the same.
            taken = len(accepted)

            def committed() -> None:
                self._count_reads(checked, taken)
                if outcome.items:
                    self._committed()

            await self.outbox.commit(outcome.items, outcome.windows,
                                     remember=(self.seen.memory,
                                               _pick(checked.read_id_hash, accepted)),
                                     on_committed=committed)
        else:
            self._count_reads(checked, 0)
        rejected, rejections = checked.rejections()
        ack = reads_pb2.BatchAck(batch_id=prepared.wire.batch_id,
                                 status=reads_pb2.BATCH_STATUS_PROCESSED,
                                 accepted=len(accepted), rejected=rejected, hits=outcome.hits)
        if rejections:
            ack.MergeFromString(rejections)
        return ack

    def _count_reads(self, checked: ValidatedBatch, accepted: int) -> None:
        integrator = checked.integrator or "-"
        self._accepted_reads.inc(accepted)
        counter = self._integrator_reads.get(integrator)
        if counter is None:
            counter = self.metrics.integrator_reads.labels(integrator, "ACCEPTED")
            self._integrator_reads[integrator] = counter
        counter.inc(accepted)
        if accepted != len(checked.status):
            codes, counts = np.unique(checked.status, return_counts=True)
            for code, count in zip(codes.tolist(), counts.tolist()):
                if code != reads_pb2.READ_STATUS_ACCEPTED:
                    name = reads_pb2.ReadStatus.Name(code).removeprefix("READ_STATUS_")
                    self.metrics.reads.labels(name).inc(count)
                    self.metrics.integrator_reads.labels(integrator, name).inc(count)

    def _committed(self) -> None:
        for callback in self.on_commit:
            callback()

    def _core_match(self, snapshot: Any, checked: ValidatedBatch) -> list[Any]:
        """The batch matched on the loop's thread, as the intake worker matches it."""
        results = [source.matcher.match(checked.canonical, checked.country_column,
                                        checked.match_confidence,
                                        threads=self.limits.match_threads)
                   for _, source in snapshot.sources]
        return self._accept(snapshot, checked, results)

    @staticmethod
    def _accept(snapshot: Any, checked: ValidatedBatch,
                results: list[BatchMatches | None]) -> list[Any]:
        """Every index's matches over the whole batch, per list; a rejected read's are dropped
        (matches keep the read's place in the batch)."""
        keep_reads = None if checked.all_accepted else checked.status == ACCEPTED
        matched: list[Any] = snapshot.accept(results, checked.observed_us, keep_reads)
        return matched

    def _raise(self, checked: ValidatedBatch, matched: list[Any]) -> list[RaisedHit]:
        """The matches as hits to decide on: entry fields attached, zone rules applied."""
        raised: list[RaisedHit] = []
        zone_matches: dict[int, dict[int, RaisedHit]] = {}
        # Match columns as Python lists, once per BatchMatches: the lists of the shared index
        # all keep parts of the same one, and a batch has a handful of matches.
        as_lists: dict[int, tuple[list[Any], ...]] = {}
        for lm in matched:
            definition: ListDefinition = lm.list.definition
            version = int(lm.list.info.version)
            m = lm.matches
            keep = lm.keep
            if not len(keep):
                continue
            columns = as_lists.get(id(m))
            if columns is None:
                columns = as_lists[id(m)] = tuple(
                    np.asarray(c).tolist() for c in (m.read, m.entry, m.entry_no, m.kind, m.score,
                                                     m.sub_mask, m.edit_op, m.edit_pos))
            reads, rows, entry_nos, kinds, scores, sub_masks, edit_ops, edit_poses = columns
            kept = keep.tolist()
            entries = self._entry_rows(lm.source.table, [rows[k] for k in kept])
            for k, (entry, encoded) in zip(kept, entries):
                read = reads[k]
                hit = RaisedHit(
                    read_index=read, definition=definition, version=version,
                    entry=entry, entry_no=entry_nos[k], kind=kinds[k], score=scores[k],
                    sub_mask=sub_masks[k], edit_op=edit_ops[k], edit_pos=edit_poses[k],
                    entry_bytes=encoded)
                if definition.zone:
                    # Zone lists speak only through the zone rules; keep the best match per list.
                    per_read = zone_matches.setdefault(read, {})
                    if definition.id not in per_read or per_read[definition.id].score < hit.score:
                        per_read[definition.id] = hit
                    continue
                hit.suppression_key = (definition.id, hit.entry_no, int(checked.plate_hash[read]))
                hit.window_s = definition.suppression_s
                raised.append(hit)
        raised.extend(self._zone_hits(checked, zone_matches))
        return raised

    def _entry_rows(self, table: Any, rows: list[int]) -> list[tuple[dict[str, Any], bytes]]:
        """Entry fields of table's rows and their serialized EntryRef (never mutated once made).

        Lists are immutable tables and the same entries hit again and again (a wanted vehicle
        passes camera after camera), so rows are converted once and kept, per table, up to a bound.
        """
        cached = self._entries.get(id(table))
        if cached is None or cached[0] is not table:
            if len(self._entries) >= _ENTRY_CACHE_TABLES:
                self._entries.clear()
            cached = (table, {})
            self._entries[id(table)] = cached
        known = cached[1]
        if not known and table.num_rows <= _ENTRY_CACHE_WHOLE:
            # A small list converts whole in about the time a few rows take one by one.
            known.update((r, (row, b"")) for r, row in enumerate(table.to_pylist()))
        missing = sorted({r for r in rows if r not in known})
        if missing:
            if len(known) + len(missing) > _ENTRY_CACHE_ROWS:
                known.clear()
            fresh = table.take(missing).to_pylist()
            known.update((r, (row, b"")) for r, row in zip(missing, fresh))
        out = []
        for r in rows:
            row, encoded = known[r]
            if not encoded:
                encoded = entry_field(row, int(row["entry_no"]))
                known[r] = (row, encoded)
            out.append((row, encoded))
        return out

    def _zone_hits(self, checked: ValidatedBatch,
                   zone_matches: dict[int, dict[int, RaisedHit]]) -> list[RaisedHit]:
        rules = self.zone_rules
        if not rules.zones or not self._zone_cameras:
            return []
        # Only reads that can break a rule are looked at one by one: those that matched a zone
        # list, and those from cameras of allow zones. In a city whose cameras all watch a
        # deny-mode low-emission zone, that is the few listed vehicles, not every read. Hashes
        # narrow the reads down; their camera ids then decide.
        maybe = np.flatnonzero(np.isin(checked.camera_hash, self._allow_zone_camera_hashes))
        if zone_matches:
            maybe = np.union1d(maybe, np.fromiter(zone_matches, dtype=np.int64,
                                                  count=len(zone_matches)))
        if not checked.all_accepted:
            maybe = maybe[checked.status[maybe] == ACCEPTED]
        reads = [i for i in maybe.tolist() if checked.camera_ids[i] in self._zone_cameras]
        if not reads:
            return []
        cameras = [checked.camera_ids[i] for i in reads]
        when = [aware(int(checked.observed_us[i])) for i in reads]
        matched = {n: set(zone_matches.get(i, {})) for n, i in enumerate(reads)}
        out: list[RaisedHit] = []
        definitions = self.store.definitions
        taken: set[int] = set()   # matches already turned into a zone's hit
        for zh in rules.evaluate(cameras, when, matched, [True] * len(reads)):
            read = reads[zh.read]
            zone = rules.zones[zh.zone]
            if zh.list_id is not None:
                # A match becomes its zone's hit as it is; only a list shared by zones that the
                # read broke together needs a copy per further zone (a copy costs 5 us).
                hit = zone_matches[read][zh.list_id]
                if id(hit) in taken:
                    hit = replace(hit)
                taken.add(id(hit))
            else:
                # Allow mode: the plate is on no permit list; the zone's first list speaks for it.
                list_id = min(zone.lists)
                definition = definitions[list_id]
                serving = self.store.snapshot.lists.get(list_id)
                hit = RaisedHit(read, definition,
                                int(serving.info.version) if serving else 0, {}, 0, ZONE, 1.0)
            hit.zone = zh.zone
            if zone.once_per_day:
                end = _day_end_us(zh.day)
                hit.suppression_key = ("zone", zh.zone, int(checked.plate_hash[read]), zh.day)
                hit.window_s = max(1.0, (end - int(checked.observed_us[read])) / 1e6)
            out.append(hit)
        return out

    def _hit_counter(self, list_name: str, priority: int, kind: str) -> Any:
        # A label lookup costs more than the increment; the children are few and never change.
        key = (list_name, priority, kind)
        counter = self._hit_counters.get(key)
        if counter is None:
            counter = self._hit_counters[key] = self.metrics.hits.labels(list_name, str(priority), kind)
        return counter

    def _recipients(self, definition: ListDefinition, camera_id: str) -> list[str]:
        """Who a hit of this list at this camera goes to (the Hit copies the list it is given).

        Worked out once per list definition and camera: a cached answer counts only for the very
        definition and camera registry it was made from, so a reload never reuses it."""
        cameras = self.zone_rules.cameras
        cached = self._recipient_lists.get((id(definition), camera_id))
        if cached is not None and cached[0] is definition and cached[1] is cameras:
            return cached[2]
        if len(self._recipient_lists) >= _RECIPIENT_LISTS:
            self._recipient_lists.clear()
        out = self._work_out_recipients(definition, camera_id)
        self._recipient_lists[(id(definition), camera_id)] = (definition, cameras, out)
        return out

    def _work_out_recipients(self, definition: ListDefinition, camera_id: str) -> list[str]:
        if definition.covert:
            return list(definition.recipients)
        out: list[str] = []
        camera = self.zone_rules.cameras.get(camera_id)
        if camera is not None and camera.region:
            out.append(camera.region)
        out.extend(r for r in definition.recipients if r not in out)
        return out

    def _decide(self, checked: ValidatedBatch, raised: list[RaisedHit], now_us: int,
                retroactive: bool = False) -> BatchOutcome:
        """Prioritise and suppress: new hits, or sightings on the trail of an open hit."""
        outcome = BatchOutcome()
        # Counted per batch: a counter's increment takes a lock, once per hit was measurable.
        counts: dict[tuple[str, int, str], int] = {}
        sightings: dict[str, int] = {}   # by list name, counted the same way
        debug = log.isEnabledFor(logging.DEBUG)
        integrator = checked.integrator
        for r in raised:
            i = r.read_index
            read_id = checked.read_ids[i]
            camera_id = checked.camera_ids[i]
            observed = int(checked.observed_us[i])
            confidence = float(checked.confidence[i])
            priority, rank = prioritise(r.definition.priority, r.kind, r.score, confidence)
            hid = make_hit_id(read_id, r.definition.id, r.entry_no, r.zone, integrator)
            list_name = r.definition.name
            open_hit = (self.suppression.open_hit(r.suppression_key, observed)
                        if r.suppression_key and r.window_s > 0 else None)
            if open_hit is not None and open_hit.hit_id != hid:
                sighting = hits_pb2.Sighting(
                    hit_id=open_hit.hit_id,
                    sighting_id=make_sighting_id(open_hit.hit_id, read_id, integrator),
                    read_id=read_id, camera_id=camera_id, observed_us=observed,
                    score=r.score, priority=open_hit.priority, integrator=integrator)
                outcome.items.append(OutboxItem(sighting.sighting_id, SIGHTING, open_hit.priority,
                                                rank, sighting.SerializeToString(), now_us))
                outcome.sightings += 1
                sightings[list_name] = sightings.get(list_name, 0) + 1
                continue
            # The per-hit fields, then the read, entry and list as ready-made bytes.
            # Set field by field, and only what differs from the defaults: a constructor with
            # every field as a keyword took half again as long.
            own = hits_pb2.Hit()
            own.hit_id = hid
            own.priority = priority
            own.rank = rank
            own.action = _ACTIONS[r.definition.action]
            own.canonical_plate = checked.canonical[i].decode("ascii")
            own.match_kind = r.kind  # type: ignore[assignment]
            own.score = r.score
            if r.sub_mask:   # most hits: nothing substituted
                own.substituted_positions.extend(_positions(r.sub_mask))
            if r.edit_op:
                own.edit_op = r.edit_op  # type: ignore[assignment]  # the core's codes are the proto's
            if r.edit_pos:
                own.edit_pos = r.edit_pos
            own.recipients.extend(self._recipients(r.definition, camera_id))
            if retroactive:
                own.retroactive = True
            if r.zone:
                own.zone = r.zone
            own.raised_us = now_us
            if integrator:
                own.integrator = integrator
            payload = b"".join((own.SerializeToString(), read_field(read_bytes(checked.reads, i)),
                                r.entry_bytes or entry_field(r.entry, r.entry_no),
                                self._list_field(r.definition, r.version)))
            outcome.items.append(OutboxItem(hid, HIT, priority, rank, payload, now_us))
            outcome.hits += 1
            if r.suppression_key and r.window_s > 0:
                outcome.windows.append(
                    self.suppression.open(r.suppression_key, hid, priority, observed, r.window_s))
            kind = _KIND_NAMES.get(r.kind, str(r.kind))
            key = (list_name, priority, kind)
            counts[key] = counts.get(key, 0) + 1
            if retroactive:
                self.metrics.retro_hits.labels(list_name).inc()
            if debug:
                log.debug("hit %s list=%s priority=%d kind=%s plate=%s camera=%s", hid, list_name,
                          priority, kind, mask_plate(own.canonical_plate), camera_id)
        for (list_name, priority, kind), n in counts.items():
            self._hit_counter(list_name, priority, kind).inc(n)
        for list_name, n in sightings.items():
            self.metrics.sightings.labels(list_name).inc(n)
        return outcome

    def _list_field(self, definition: ListDefinition, version: int) -> bytes:
        """The Hit's list field, made once per list definition and version: the answer kept
        counts only for the very definition it was made from, as with recipients."""
        cached = self._list_fields.get((id(definition), version))
        if cached is not None and cached[0] is definition:
            return cached[1]
        if len(self._list_fields) >= _ENTRY_CACHE_TABLES:
            self._list_fields.clear()
        encoded = list_field(definition, version)
        self._list_fields[(id(definition), version)] = (definition, encoded)
        return encoded

    def _buffer(self, checked: ValidatedBatch, accepted: np.ndarray, now_us: int) -> None:
        if self.retro.window_us <= 0:
            return
        chunk = RetroChunk(
            plate_hash=_pick(checked.plate_hash, accepted), ocr_hash=_pick(checked.ocr_hash, accepted),
            observed_us=_pick(checked.observed_us, accepted),
            confidence=_pick(checked.confidence, accepted),
            countries=checked.countries.take(accepted),
            read_ids=checked.read_ids.take(accepted),
            camera_ids=checked.camera_ids.take(accepted), newest_us=checked.newest_us,
            integrator=checked.integrator)
        self.retro.add(chunk, now_us)
        self.metrics.retro_reads.set(len(self.retro))

    # -- retroactive hits ----------------------------------------------------------------------

    def has_seen(self, serving: Any) -> bool:
        """Whether check_deltas has looked at this serving list (and its added entries)."""
        return self._seen_lists.get(serving.info.list_id) is serving

    async def check_deltas(self) -> int:
        """Searches the retroactive buffer for entries added by deltas since the last look."""
        snapshot_lists = self.store.snapshot.lists
        if all(self._seen_lists.get(k) is v for k, v in snapshot_lists.items()):
            return 0
        async with self._retro_lock:
            raised = 0
            for list_id, serving in dict(self.store.snapshot.lists).items():
                before = self._seen_lists.get(list_id)
                if before is serving:
                    continue
                self._seen_lists[list_id] = serving
                if (before is None or serving.info.origin != "delta" or serving.overlay is None
                        or serving.definition.zone):
                    continue
                table = serving.overlay.table
                numbers = np.asarray(table.column("entry_no").to_numpy(), dtype=np.int64)
                fresh = np.flatnonzero(numbers >= int(before.next_entry_no))
                if len(fresh):
                    raised += await self._retroactive(serving, table.take(fresh))
            self._update_list_metrics()
            return raised

    async def _retroactive(self, serving: Any, added: Any) -> int:
        definition: ListDefinition = serving.definition
        rows = added.to_pylist()
        plates = [str(r["plate"]) for r in rows]
        usable = [n for n, p in enumerate(plates) if "?" not in p and "*" not in p]
        now_us = int(time.time() * 1e6)
        candidates = await asyncio.to_thread(
            self.retro.search, [plates[n].encode("ascii") for n in usable],
            exact="exact" in definition.kinds or "resolved" in definition.kinds,
            ocr="ocr" in definition.kinds or "fuzzy" in definition.kinds, now_us=now_us)
        if not candidates:
            return 0
        # Per integrator: a batch's reads are one integrator's, and hit ids are derived from it.
        groups: dict[str, tuple[list[reads_pb2.Read], list[RaisedHit], list[bytes]]] = {}
        for c in candidates:
            row = rows[usable[c.entry]]
            entry_country = str(row.get("country") or "").upper()
            read_country = c.country.strip().upper()
            if entry_country and read_country and entry_country != read_country:
                continue
            valid_from, valid_until = row.get("valid_from"), row.get("valid_until")
            when = aware(c.observed_us)
            if (valid_from is not None and when < aware(valid_from)) or (
                    valid_until is not None and when >= aware(valid_until)):
                continue
            q = min(1.0, max(0.0, c.confidence))
            if not c.exact and q > definition.near_max_confidence:
                continue
            score = (1.0 if c.exact else 0.8) * (0.5 + 0.5 * q)
            if score < definition.min_score:
                continue
            reads, raised, canonical = groups.setdefault(c.integrator, ([], [], []))
            reads.append(reads_pb2.Read(read_id=c.read_id, camera_id=c.camera_id,
                                        observed_us=c.observed_us, country=c.country,
                                        confidence=c.confidence))
            canonical.append(str(row["plate"]).encode("ascii") if c.exact else b"")
            raised.append(RaisedHit(len(reads) - 1, definition, int(serving.info.version), row,
                                    int(row["entry_no"]), 1 if c.exact else 4, float(score)))
        outcome = BatchOutcome()
        for integrator, (reads, raised, canonical) in groups.items():
            n = len(reads)
            checked = ValidatedBatch(
                reads, PackedTexts([r.read_id for r in reads]),
                PackedTexts([r.camera_id for r in reads]), PackedTexts([r.country for r in reads]),
                np.array([r.observed_us for r in reads], dtype=np.int64),
                np.array([r.confidence for r in reads], dtype=np.float32),
                np.array(canonical, dtype="S10"), np.zeros(n, dtype=np.uint8),
                np.zeros(n, dtype=np.uint8), np.zeros(n, dtype="S1"), np.zeros(n, dtype=np.uint64),
                np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64),
                np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.float64),
                integrator=integrator)
            decided = self._decide(checked, raised, now_us, retroactive=True)
            outcome.items.extend(decided.items)
            outcome.windows.extend(decided.windows)
            outcome.hits += decided.hits
        if outcome.items:
            await self.outbox.commit(outcome.items, outcome.windows, on_committed=self._committed)
        if groups:
            log.info("list %s: %d retroactive hits for %d added entries", definition.name,
                     outcome.hits, len(rows))
        return outcome.hits


def _day_end_us(day: str) -> int:
    """The end of a local day in microseconds since the epoch."""
    return int(local_day_bounds(day)[1].timestamp() * 1e6)
