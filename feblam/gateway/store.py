"""The gateway's store (SQLite, WAL): hits once each by id, trail sightings, operator decisions."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from feblam.protowire import embedded, varint
from feblam.v1 import gateway_pb2, hits_pb2

_SCHEMA = """
-- Hits in arrival order: the record. Ids are found through hit_ids and the staged ids.
CREATE TABLE IF NOT EXISTS hits (
    seq         INTEGER PRIMARY KEY,
    hit_id      TEXT    NOT NULL,
    received_us INTEGER NOT NULL,
    priority    INTEGER NOT NULL,
    list_id     INTEGER NOT NULL,
    camera_id   TEXT    NOT NULL,
    payload     BLOB    NOT NULL
);
-- Each hit id's row, for the rows up to index_state.indexed_upto (see StagedHitIds).
CREATE TABLE IF NOT EXISTS hit_ids (
    hit_id TEXT    PRIMARY KEY,
    seq    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS index_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto   INTEGER NOT NULL,
    sightings_upto INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO index_state (id, indexed_upto) VALUES (1, 0);
-- Sightings in arrival order: the record, like hits.
CREATE TABLE IF NOT EXISTS sightings (
    seq         INTEGER PRIMARY KEY,
    sighting_id TEXT    NOT NULL,
    hit_id      TEXT    NOT NULL,
    received_us INTEGER NOT NULL,
    payload     BLOB    NOT NULL
);
-- For the sightings up to index_state.sightings_upto (see StagedSightings): 's' and the
-- sighting id, and 'h' and its hit's id (the hit's trail), each with the sighting's row.
CREATE TABLE IF NOT EXISTS sighting_keys (
    key TEXT    NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decisions (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    hit_id    TEXT    NOT NULL,
    decision  INTEGER NOT NULL,
    operator  TEXT    NOT NULL,
    note      TEXT    NOT NULL,
    at_us     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_hit ON decisions (hit_id);
"""

T = TypeVar("T")

# Host parameters of one IN (...) list stay under 999, the smallest bound any SQLite build has had.
KEYS_PER_STATEMENT = 900


def marks(n: int) -> str:
    """n parameter marks: ?,?,..."""
    return ",".join("?" * n)


def chunks(values: list[T], size: int) -> list[list[T]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def _first_of_each(items: Sequence[T], key: Callable[[T], str], stored: set[str]) -> list[T]:
    """Items whose id is neither stored nor taken by an earlier item of the same delivery."""
    seen = set(stored)
    out: list[T] = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _in_order(sightings: Iterable[hits_pb2.Sighting]) -> tuple[hits_pb2.Sighting, ...]:
    """A trail in the order its vehicle was seen."""
    return tuple(sorted(sightings, key=lambda s: s.observed_us))


_DELIVERED_HIT = gateway_pb2.DeliveredHit.DESCRIPTOR.fields_by_name
_DELIVERED_HITS_FIELD = gateway_pb2.DeliveredHits.DESCRIPTOR.fields_by_name["hits"].number
_RECEIVED_TAG = varint(_DELIVERED_HIT["received_us"].number << 3)   # a varint field
_DELIVERED_SIGHTING = gateway_pb2.DeliveredSighting.DESCRIPTOR.fields_by_name
_DELIVERED_SIGHTINGS_FIELD = (
    gateway_pb2.DeliveredHits.DESCRIPTOR.fields_by_name["sightings"].number)
# Both messages keep their time of receipt under the same field number: one encoding serves.
assert _DELIVERED_SIGHTING["received_us"].number == _DELIVERED_HIT["received_us"].number

# What consoles filter on: list id, priority, covert, recipients.
Route = tuple[int, int, bool, frozenset[str]]


def route_of(hit: hits_pb2.Hit) -> Route:
    ref = hit.list
    return ref.list_id, hit.priority, ref.covert, frozenset(hit.recipients)


@dataclass(eq=False, slots=True)
class StoredHit:
    hit: hits_pb2.Hit
    received_us: int
    # The sightings stored for the hit when it was read from the store (a live hit usually has
    # none yet: sightings follow their hit).
    trail: tuple[hits_pb2.Sighting, ...] = ()
    payload: bytes = b""   # the hit serialized, when the store has it at hand
    # Worked out on first use and kept (a plain attribute: functools.cached_property takes a
    # lock on every first use, which cost more than some of what it caches).
    _wire: bytes = field(default=b"", init=False, repr=False)
    _route: Route | None = field(default=None, init=False, repr=False)

    @property
    def wire(self) -> bytes:
        """This hit as one entry of a DeliveredHits message, made once for every console that
        is sent it: a message per console copied the hit and serialized it again."""
        if not self._wire:
            body = [embedded(_DELIVERED_HIT["hit"].number,
                             self.payload or self.hit.SerializeToString()),
                    _received_field(self.received_us)]
            body.extend(embedded(_DELIVERED_HIT["trail"].number, s.SerializeToString())
                        for s in self.trail)
            self._wire = embedded(_DELIVERED_HITS_FIELD, b"".join(body))
        return self._wire

    @property
    def route(self) -> Route:
        if self._route is None:
            self._route = route_of(self.hit)
        return self._route


@dataclass(eq=False, slots=True)
class StoredSighting:
    """A sighting just stored, with the route of its hit: consoles that may see the hit see it."""

    sighting: hits_pb2.Sighting
    received_us: int
    route: Route
    payload: bytes = b""
    _wire: bytes = field(default=b"", init=False, repr=False)

    @property
    def wire(self) -> bytes:
        """This sighting as one entry of a DeliveredHits message's sightings."""
        if not self._wire:
            body = embedded(_DELIVERED_SIGHTING["sighting"].number,
                            self.payload or self.sighting.SerializeToString())
            self._wire = embedded(_DELIVERED_SIGHTINGS_FIELD,
                                  body + _received_field(self.received_us))
        return self._wire


@dataclass
class Delivery:
    """What one delivery from an engine stored for the first time."""

    hits: list[StoredHit]
    sightings: list[StoredSighting]   # of hits stored before this delivery
    stored: int                       # hits and sightings stored
    duplicates: int                   # hits and sightings already stored before


# The last time of receipt encoded: the hits of one delivery share it.
_last_received: tuple[int, bytes] = (-1, b"")


def _received_field(received_us: int) -> bytes:
    global _last_received
    last = _last_received   # one read: another thread may replace it meanwhile
    if last[0] != received_us:
        last = _last_received = (received_us, _RECEIVED_TAG + varint(received_us))
    return last[1]


def delivered_hits(group: Sequence[StoredHit | StoredSighting]) -> bytes:
    """A serialized DeliveredHits of the group's hits and sightings, each kind in the group's
    order. Trails came with the hits from the store: no lookup per hit and console."""
    return b"".join(item.wire for item in group)


# A store written before hits were kept in arrival order (hit_id was the hits table's key).
_MIGRATE_KEYED_HITS = """
ALTER TABLE hits RENAME TO hits_keyed;
{schema}
INSERT INTO hits (hit_id, received_us, priority, list_id, camera_id, payload)
    SELECT hit_id, received_us, priority, list_id, camera_id, payload FROM hits_keyed ORDER BY rowid;
INSERT INTO hit_ids (hit_id, seq) SELECT hit_id, seq FROM hits;
UPDATE index_state SET indexed_upto = (SELECT COALESCE(MAX(seq), 0) FROM hits);
DROP TABLE hits_keyed;
"""

# A store written before sightings were kept in arrival order (sighting_id was their key, and an
# index on hit_id found a trail).
_MIGRATE_KEYED_SIGHTINGS = """
ALTER TABLE sightings RENAME TO sightings_keyed;
DROP INDEX IF EXISTS sightings_hit;
{schema}
INSERT INTO sightings (sighting_id, hit_id, received_us, payload)
    SELECT sighting_id, hit_id, received_us, payload FROM sightings_keyed ORDER BY rowid;
INSERT OR IGNORE INTO sighting_keys (key, seq) SELECT 's' || sighting_id, seq FROM sightings;
INSERT OR IGNORE INTO sighting_keys (key, seq) SELECT 'h' || hit_id, seq FROM sightings;
UPDATE index_state SET sightings_upto = (SELECT COALESCE(MAX(seq), 0) FROM sightings);
DROP TABLE sightings_keyed;
"""

# Ids staged in memory before a run moves them to hit_ids (about 2 MB of memory), and how many
# of a run's ids each delivery moves: a whole run written in one delivery held that delivery,
# and every console waiting on it, for the run's full write (31 ms).
STAGED_IDS = 20_000
RUN_SLICE = 2_000
# Hit routes kept for the sightings that follow their hits (about 12 MB at most).
ROUTES_REMEMBERED = 100_000


@dataclass
class RunStep:
    """What one transaction did to the run: to take in once it committed."""

    started: list[tuple[str, int]] | None  # the run's (key, seq) pairs, sorted, if it began here
    moved: int                             # pairs of the run this transaction wrote to the index
    upto: int | None                       # the run's highest seq, when this transaction ended it


class _StagedKeys:
    """Keys of an append-only table's rows: the newest held in memory, the older ones in an
    index of (key, seq) pairs.

    The keys are digests, so an index on them puts each new row on a page of its own: a page
    (4 KiB) written to the WAL per row, and again at the checkpoint. New keys are kept in memory;
    once STAGED_IDS rows have gathered they form a run, which moves to the index in sorted slices
    of RUN_SLICE, one slice per transaction. Each slice is a range of keys, so a run writes each
    index page it touches about once, however many of its keys the page takes, and no delivery
    waits for more than a slice. The table stays the record: the keys of its rows past the last
    finished run are read back from it when the store opens, so nothing rests on memory
    surviving a crash. One process writes a store.

    The owner holds the store's lock and applies changes only once their transaction committed.
    Subclasses keep the staged keys (_take_in, _start, _finish) and say what a run writes.
    """

    _insert: str   # writes (key, seq) pairs to the index

    def __init__(self, db: sqlite3.Connection, table: str, upto_column: str) -> None:
        # table: the record; upto_column: where index_state keeps how far the index reaches.
        self._mark = f"UPDATE index_state SET {upto_column} = ?"
        self.indexed_upto = int(
            db.execute(f"SELECT {upto_column} FROM index_state").fetchone()[0])
        self.next_seq = 1 + int(
            db.execute(f"SELECT COALESCE(MAX(seq), 0) FROM {table}").fetchone()[0])
        self.run: list[tuple[str, int]] = []
        self.run_moved = 0

    def _staged_rows(self) -> int:
        raise NotImplementedError

    def _pairs(self, added: Any) -> list[tuple[str, int]]:
        """The index pairs of the staged rows and of added."""
        raise NotImplementedError

    def _take_in(self, added: Any) -> None:
        raise NotImplementedError

    def _start(self) -> None:
        """The staged rows become the run's."""
        raise NotImplementedError

    def _finish(self) -> None:
        """The run's rows are in the index."""
        raise NotImplementedError

    def write_run(self, db: sqlite3.Connection, added: Any) -> RunStep | None:
        """Within the caller's transaction: the next slice of the run under way, or the first of
        a new run of the staged rows and those just added once there are enough; None when
        there is nothing to move yet."""
        started = None
        run, moved = self.run, self.run_moved
        if not run:
            if self._staged_rows() + len(added) < STAGED_IDS:
                return None
            run = started = sorted(self._pairs(added))
        part = run[moved:moved + RUN_SLICE]
        db.executemany(self._insert, part)
        upto = None
        if moved + len(part) >= len(run):
            upto = max(seq for _, seq in run)
            db.execute(self._mark, (upto,))
        return RunStep(started, len(part), upto)

    def committed(self, added: Any, step: RunStep | None) -> None:
        """Takes in what a committed transaction stored (rows from next_seq on) and moved."""
        self.next_seq += len(added)
        self._take_in(added)
        if step is None:
            return
        if step.started is not None:
            self._start()
            self.run = step.started
            self.run_moved = 0
        self.run_moved += step.moved
        if step.upto is not None:
            self.indexed_upto = step.upto
            self._finish()
            self.run = []
            self.run_moved = 0


class StagedHitIds(_StagedKeys):
    """Where each hit id's row is: hit_ids, and the ids staged since (see _StagedKeys)."""

    _insert = "INSERT OR IGNORE INTO hit_ids (hit_id, seq) VALUES (?, ?)"

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__(db, "hits", "indexed_upto")
        self.recent: dict[str, int] = {
            str(hit_id): int(seq) for hit_id, seq in db.execute(
                "SELECT hit_id, seq FROM hits WHERE seq > ? ORDER BY seq", (self.indexed_upto,))}
        self.running: dict[str, int] = {}   # the run's ids, until they are all in the index

    def _staged(self, hit_id: str) -> int | None:
        seq = self.recent.get(hit_id)
        return seq if seq is not None else self.running.get(hit_id)

    def seq_of(self, db: sqlite3.Connection, hit_id: str) -> int | None:
        seq = self._staged(hit_id)
        if seq is not None:
            return seq
        row = db.execute("SELECT seq FROM hit_ids WHERE hit_id = ?", (hit_id,)).fetchone()
        return int(row[0]) if row else None

    def stored(self, db: sqlite3.Connection, ids: list[str]) -> set[str]:
        """Which of ids are stored: the staged ones, then one lookup per chunk of the rest."""
        found = {i for i in ids if i in self.recent or i in self.running}
        rest = [i for i in ids if i not in found]
        for part in chunks(rest, KEYS_PER_STATEMENT):
            found.update(r[0] for r in db.execute(
                f"SELECT hit_id FROM hit_ids WHERE hit_id IN ({marks(len(part))})", part))
        return found

    def _staged_rows(self) -> int:
        return len(self.recent)

    def _pairs(self, added: dict[str, int]) -> list[tuple[str, int]]:
        return [*self.recent.items(), *added.items()]

    def _take_in(self, added: dict[str, int]) -> None:
        self.recent.update(added)

    def _start(self) -> None:
        self.running, self.recent = self.recent, {}

    def _finish(self) -> None:
        self.running = {}


# A sighting as the store stages it: (sighting id, hit id, seq).
SightingRow = tuple[str, str, int]


class StagedSightings(_StagedKeys):
    """Each sighting once, and each hit's trail: sighting_keys, and the sightings staged since
    (see _StagedKeys). Sightings are digests like hits, and each has two keys: its own id, and
    its hit's id for the trail."""

    _insert = "INSERT OR IGNORE INTO sighting_keys (key, seq) VALUES (?, ?)"

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__(db, "sightings", "sightings_upto")
        # Staged since the last run, and the run being moved: sighting ids, and trails by hit.
        self.recent: tuple[dict[str, int], dict[str, list[int]]] = ({}, {})
        self.running: tuple[dict[str, int], dict[str, list[int]]] = ({}, {})
        self._take_in([(str(s), str(h), int(q)) for s, h, q in db.execute(
            "SELECT sighting_id, hit_id, seq FROM sightings WHERE seq > ? ORDER BY seq",
            (self.indexed_upto,))])

    def stored(self, db: sqlite3.Connection, ids: list[str]) -> set[str]:
        """Which sighting ids are stored: the staged ones, then the index."""
        found = {i for i in ids if i in self.recent[0] or i in self.running[0]}
        rest = ["s" + i for i in ids if i not in found]
        for part in chunks(rest, KEYS_PER_STATEMENT):
            found.update(str(r[0])[1:] for r in db.execute(
                f"SELECT key FROM sighting_keys WHERE key IN ({marks(len(part))})", part))
        return found

    def trails(self, db: sqlite3.Connection, hit_ids: list[str]) -> dict[str, set[int]]:
        """The rows of each hit's sightings, by hit id (hits without any left out)."""
        out: dict[str, set[int]] = {}
        for staged in (self.recent[1], self.running[1]):
            for hit_id in hit_ids:
                if hit_id in staged:
                    out.setdefault(hit_id, set()).update(staged[hit_id])
        for part in chunks(["h" + h for h in hit_ids], KEYS_PER_STATEMENT):
            for key, seq in db.execute(
                    f"SELECT key, seq FROM sighting_keys WHERE key IN ({marks(len(part))})", part):
                out.setdefault(str(key)[1:], set()).add(int(seq))
        return out

    def _staged_rows(self) -> int:
        return len(self.recent[0])

    def _pairs(self, added: list[SightingRow]) -> list[tuple[str, int]]:
        ids, trails = self.recent
        pairs = [("s" + s, q) for s, q in ids.items()]
        pairs.extend(("h" + h, q) for h, seqs in trails.items() for q in seqs)
        for s, h, q in added:
            pairs.append(("s" + s, q))
            pairs.append(("h" + h, q))
        return pairs

    def _take_in(self, added: list[SightingRow]) -> None:
        ids, trails = self.recent
        for s, h, q in added:
            ids[s] = q
            trails.setdefault(h, []).append(q)

    def _start(self) -> None:
        self.running, self.recent = self.recent, ({}, {})

    def _finish(self) -> None:
        self.running = ({}, {})


class GatewayStore:
    """Safe to share between threads; one lock serialises access to the one connection."""

    def __init__(self, path: str | Path, *, synchronous: str = "full") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One process writes a store: the staged hit ids live in its memory. A second gateway on
        # the same file is refused rather than left to store hits the first already has.
        self._owner = open(self.path.with_name(self.path.name + ".lock"), "a")  # held while open
        try:
            fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._owner.close()
            raise RuntimeError(f"another process has the gateway store {self.path} open") from None
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        if self._columns("hits") and "seq" not in self._columns("hits"):
            self._db.executescript("BEGIN IMMEDIATE;" + _MIGRATE_KEYED_HITS.format(schema=_SCHEMA)
                                   + "COMMIT;")
        if self._columns("index_state") and "sightings_upto" not in self._columns("index_state"):
            self._db.execute("ALTER TABLE index_state ADD COLUMN"
                             " sightings_upto INTEGER NOT NULL DEFAULT 0")
        if self._columns("sightings") and "seq" not in self._columns("sightings"):
            self._db.executescript("BEGIN IMMEDIATE;"
                                   + _MIGRATE_KEYED_SIGHTINGS.format(schema=_SCHEMA) + "COMMIT;")
        self._db.executescript(_SCHEMA)
        self._ids = StagedHitIds(self._db)
        self._sightings = StagedSightings(self._db)
        self._routes: dict[str, Route] = {}   # of hits stored or sighted lately, by hit id
        self._shared_routes: dict[Route, Route] = {}

    def _columns(self, table: str) -> set[str]:
        return {str(r[1]) for r in self._db.execute(f"PRAGMA table_info({table})")}

    def store(self, hits: Sequence[hits_pb2.Hit],
              sightings: Sequence[hits_pb2.Sighting]) -> Delivery:
        """Stores what is new in one transaction.

        Ids already stored are looked up set-wise first, so the transaction runs a few
        statements however many hits and sightings a delivery carries."""
        now = int(time.time() * 1e6)
        with self._lock:
            db = self._db
            ids = self._ids
            staged = self._sightings
            db.execute("BEGIN IMMEDIATE")
            try:
                new_hits = _first_of_each(hits, lambda h: h.hit_id,
                                          ids.stored(db, [h.hit_id for h in hits]))
                added = {h.hit_id: ids.next_seq + n for n, h in enumerate(new_hits)}
                payloads = [h.SerializeToString() for h in new_hits]
                db.executemany(
                    "INSERT INTO hits (seq, hit_id, received_us, priority, list_id, camera_id,"
                    " payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(added[h.hit_id], h.hit_id, now, h.priority, h.list.list_id, h.read.camera_id,
                      payload) for h, payload in zip(new_hits, payloads)])
                step = ids.write_run(db, added)
                new_sightings = _first_of_each(
                    sightings, lambda s: s.sighting_id,
                    staged.stored(db, [s.sighting_id for s in sightings]))
                rows = [(s.sighting_id, s.hit_id, staged.next_seq + n)
                        for n, s in enumerate(new_sightings)]
                sighting_payloads = [s.SerializeToString() for s in new_sightings]
                db.executemany(
                    "INSERT INTO sightings (seq, sighting_id, hit_id, received_us, payload)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(seq, sid, hid, now, payload)
                     for (sid, hid, seq), payload in zip(rows, sighting_payloads)])
                sighting_step = staged.write_run(db, rows)
                fresh = self._with_trails([StoredHit(h, now, (), payload)
                                           for h, payload in zip(new_hits, payloads)], rows)
                routes = self._routes_of(fresh, [s.hit_id for s in new_sightings])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            ids.committed(added, step)
            staged.committed(rows, sighting_step)
            self._remember_routes(routes)
        stored = len(new_hits) + len(new_sightings)
        # A fresh hit's trail already carries the sightings stored with it.
        earlier = routes.keys() - {item.hit.hit_id for item in fresh}
        live = [StoredSighting(s, now, routes[s.hit_id], payload)
                for s, payload in zip(new_sightings, sighting_payloads) if s.hit_id in earlier]
        return Delivery(fresh, live, stored, len(hits) + len(sightings) - stored)

    def _routes_of(self, fresh: list[StoredHit], hit_ids: list[str]) -> dict[str, Route]:
        """The routes of fresh hits and of the stored hits these ids name (those not stored are
        left out). Hits seen lately are remembered; others are read. Called under the lock."""
        out = {item.hit.hit_id: item.route for item in fresh}
        for hit_id in hit_ids:
            if hit_id in out:
                continue
            route = self._routes.get(hit_id)
            if route is None:
                seq = self._ids.seq_of(self._db, hit_id)
                row = None if seq is None else self._db.execute(
                    "SELECT payload FROM hits WHERE seq = ?", (seq,)).fetchone()
                if row is None:
                    continue
                route = route_of(hits_pb2.Hit.FromString(row[0]))
            out[hit_id] = route
        return out

    def _remember_routes(self, routes: dict[str, Route]) -> None:
        # Sightings name hits raised within their list's suppression window: the newest hits'
        # routes cover nearly all of them. Bounded; starts over when full. Hits share a handful
        # of routes, kept once each: a route of its own per hit took four times the memory.
        if len(self._routes) + len(routes) > ROUTES_REMEMBERED:
            self._routes.clear()
            self._shared_routes.clear()
        shared = self._shared_routes
        for hit_id, route in routes.items():
            self._routes[hit_id] = shared.setdefault(route, route)

    def _sightings_of(self, hit_ids: list[str],
                      pending: Sequence[SightingRow] = ()) -> dict[str, list[hits_pb2.Sighting]]:
        """The sightings stored for these hits, by hit id, each in order of arrival. pending:
        rows of the transaction under way, not yet staged. Called under the lock."""
        seqs = self._sightings.trails(self._db, hit_ids)
        wanted = set(hit_ids)
        for _, hit_id, seq in pending:
            if hit_id in wanted:
                seqs.setdefault(hit_id, set()).add(seq)
        rows: list[tuple[int, str, bytes]] = []
        for part in chunks(sorted({q for qs in seqs.values() for q in qs}), KEYS_PER_STATEMENT):
            rows.extend(self._db.execute(
                f"SELECT seq, hit_id, payload FROM sightings WHERE seq IN ({marks(len(part))})",
                part))
        out: dict[str, list[hits_pb2.Sighting]] = {}
        for _, hit_id, payload in sorted(rows):
            out.setdefault(str(hit_id), []).append(hits_pb2.Sighting.FromString(payload))
        return out

    def _with_trails(self, fresh: list[StoredHit],
                     pending: Sequence[SightingRow] = ()) -> list[StoredHit]:
        """Fresh hits with the sightings already stored for them, in one lookup per batch.

        Sightings normally arrive after their hit, so this usually finds none; it keeps
        delivery to consoles from asking the store once per hit. Called under the lock.
        """
        if not fresh:
            return fresh
        trails = self._sightings_of([item.hit.hit_id for item in fresh], pending)
        if not trails:
            return fresh
        return [StoredHit(item.hit, item.received_us, _in_order(trails.get(item.hit.hit_id, [])),
                          item.payload)
                for item in fresh]

    def hit(self, hit_id: str) -> StoredHit | None:
        with self._lock:
            seq = self._ids.seq_of(self._db, hit_id)
            row = None if seq is None else self._db.execute(
                "SELECT payload, received_us FROM hits WHERE seq = ?", (seq,)).fetchone()
        return StoredHit(hits_pb2.Hit.FromString(row[0]), row[1], (), row[0]) if row else None

    def trail(self, hit_id: str) -> list[hits_pb2.Sighting]:
        with self._lock:
            sightings = self._sightings_of([hit_id]).get(hit_id, [])
        return list(_in_order(sightings))

    def undecided(self, limit: int = 10_000) -> list[StoredHit]:
        """Hits without a decision, most urgent first, then in arrival order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload, received_us FROM hits WHERE hit_id NOT IN"
                " (SELECT hit_id FROM decisions) ORDER BY priority, received_us, seq LIMIT ?",
                (limit,)).fetchall()
            return self._with_trails([StoredHit(hits_pb2.Hit.FromString(r[0]), r[1], (), r[0])
                                      for r in rows])

    def all_hits(self) -> list[StoredHit]:
        """Every stored hit in arrival order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload, received_us FROM hits ORDER BY seq").fetchall()
        return [StoredHit(hits_pb2.Hit.FromString(r[0]), r[1], (), r[0]) for r in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM hits").fetchone()[0])

    def decide(self, hit_id: str, decision: int, operator: str, note: str) -> tuple[bool, int, str]:
        """Records a decision: (recorded, decisions on the hit so far, the hit's camera id)."""
        with self._lock:
            seq = self._ids.seq_of(self._db, hit_id)
            row = None if seq is None else self._db.execute(
                "SELECT camera_id FROM hits WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                return False, 0, ""
            self._db.execute(
                "INSERT INTO decisions (hit_id, decision, operator, note, at_us) VALUES (?, ?, ?, ?, ?)",
                (hit_id, decision, operator, note, int(time.time() * 1e6)))
            count = self._db.execute("SELECT COUNT(*) FROM decisions WHERE hit_id = ?",
                                     (hit_id,)).fetchone()[0]
        return True, int(count), str(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._owner.close()
