"""The durable outbox: hits are committed here (SQLite, WAL) before their batch is acknowledged.

One writer thread of the core owns every write and commits whatever is queued in one transaction
(group commit), so concurrent batches share one sync to disk. It runs without the GIL: a writer
in Python took the interpreter for every statement and woke the event loop's thread each time,
which made it the engine's most switched thread. Finished operations come back through a
descriptor the event loop watches. Items stay through gateway outages and engine restarts until
delivered.

The sender takes the most urgent items from memory: each committed item is kept there too (up to
a bound) once the sender has caught up with the disk, so the usual delivery reads nothing back.
After a restart, a failed delivery, or more than memory holds, it reads the disk (a connection of
its own; WAL readers never block the writer) until one read finds less than it asked for.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from feblam._native import core

log = logging.getLogger("feblam.outbox")

HIT = 1
SIGHTING = 2
# Committed items kept in memory for the sender; past this it reads them from disk.
COMMITTED_IN_MEMORY = 20_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id    TEXT    NOT NULL UNIQUE,
    kind       INTEGER NOT NULL,
    priority   INTEGER NOT NULL,
    rank       REAL    NOT NULL,
    created_us INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    payload    BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (priority, rank DESC, seq);
-- Suppression windows of hits raised: a restarted engine keeps adding repeat sightings to the
-- open hit's trail instead of alerting dispatch again. Keys hold keyed hashes, never plates.
CREATE TABLE IF NOT EXISTS suppression (
    key        TEXT    PRIMARY KEY,
    hit_id     TEXT    NOT NULL,
    priority   INTEGER NOT NULL,
    opened_us  INTEGER NOT NULL,
    until_us   INTEGER NOT NULL
);
"""

# (key text, hit id, priority, opened_us, until_us)
Window = tuple[str, str, int, int, int]

@dataclass(slots=True)
class OutboxItem:
    """A serialised Hit or Sighting waiting for delivery. Once committed the outbox owns it: it
    stamps created_us when it is 0 and records the item's seq (not copies: one per hit is enough
    on the engine's busiest thread)."""

    item_id: str
    kind: int
    priority: int
    rank: float
    payload: bytes
    created_us: int = 0
    seq: int = 0
    attempts: int = 0


# A commit waiting for its transaction: its future, its items, and what to run once they are in
# (run even when nobody awaits the future any more).
_Waiter = tuple["asyncio.Future[int]", "list[OutboxItem]", "Callable[[], None] | None"]


@dataclass
class _Gathered:
    """Commits of one event-loop turn, not yet handed to the writer."""

    rows: list[tuple[str, int, int, float, int, bytes]] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    memory: Any = None                      # the core ReadIdMemory read ids go to, if any
    read_ids: list[Any] = field(default_factory=list)
    waiters: list[_Waiter] = field(default_factory=list)


class OutboxClosed(RuntimeError):
    """The outbox was closed; nothing more can be committed."""


class OutboxWriteError(RuntimeError):
    """A group of outbox writes failed in the database and was rolled back (disk full, ...)."""


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    # NORMAL survives a crash of the process (SIGKILL), FULL also a loss of power.
    db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
    db.execute("PRAGMA busy_timeout=5000")
    return db


class Outbox:
    def __init__(self, path: str | Path, *, synchronous: str = "full",
                 committed_in_memory: int = COMMITTED_IN_MEMORY) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._read_db = _connect(self.path, synchronous)
        self._read_db.executescript(_SCHEMA)
        self._read_lock = threading.Lock()
        self.depth = int(self._read_db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        self._writer = core.OutboxWriter(str(self.path), synchronous == "full")
        # ticket -> (its waiters with the items each committed, what its count does to the depth:
        # +1 new items, -1 deleted, whether it inserts)
        self._waiting: dict[int, tuple[list[_Waiter], int, bool]] = {}
        self._gathering: dict[asyncio.AbstractEventLoop, _Gathered] = {}
        self._loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._closed = False
        # Committed items not handed to the sender yet, most urgent first; and what the sender
        # must read from disk instead: everything, until a disk read caught up (`_caught_up`).
        self._committed: list[tuple[int, float, int, OutboxItem]] = []
        self._in_memory = max(1, committed_in_memory)
        self._from_disk = True
        self._horizon = 0       # seqs up to here were visible to the read that caught up
        self._dropped_upto = 0  # the highest seq dropped from memory (it waits on disk)
        self._deletions: list[asyncio.Future[int]] = []  # of delivered items, not awaited

    # -- writes (through the core's writer thread) ---------------------------------------------

    async def commit(self, items: Sequence[OutboxItem], windows: Sequence[Window] = (),
                     remember: tuple[Any, Any] | None = None,
                     on_committed: Callable[[], None] | None = None) -> int:
        """Durably stores items (ids already present are ignored) and, in the same transaction,
        the suppression windows they opened; returns how many items were new.

        remember: (a core ReadIdMemory, keyed read-id hashes) that the writer thread remembers
        once the transaction committed and before this returns; never when it failed. Commits
        of one turn of the event loop share a transaction, and must name the same memory.

        on_committed runs on the event loop once the transaction committed, even if the caller
        stopped waiting (a client that went away): what follows from a commit is not lost with
        the caller."""
        if not items and not windows:
            if remember is not None:
                remember[0].remember(remember[1])
            if on_committed is not None:
                on_committed()
            return 0
        loop = self._serve(asyncio.get_running_loop())
        now = int(time.time() * 1e6)
        stamped = list(items)
        for i in stamped:
            if not i.created_us:
                i.created_us = now
        # Commits made in one turn of the event loop (the batches whose matches came back
        # together) go to the writer as one operation: one wake-up of its thread, one
        # transaction, one completion to collect.
        gathered = self._gathering.get(loop)
        if (remember is not None and gathered is not None and gathered.memory is not None
                and gathered.memory is not remember[0]):
            raise ValueError("commits sharing a transaction remember read ids in one memory")
        if gathered is None:
            gathered = self._gathering[loop] = _Gathered()
            loop.call_soon(self._flush, loop)
        gathered.rows.extend((i.item_id, i.kind, i.priority, i.rank, i.created_us, i.payload)
                             for i in stamped)
        gathered.windows.extend(windows)
        if remember is not None:
            gathered.memory = remember[0]
            gathered.read_ids.append(remember[1])
        future: asyncio.Future[int] = loop.create_future()
        gathered.waiters.append((future, stamped, on_committed))
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        gathered = self._gathering.pop(loop, None)
        if gathered is None:
            return
        if self._closed:
            for future, _, _ in gathered.waiters:
                _settle(future, 0, OutboxClosed("the outbox closed"))
            return
        read_ids = (np.concatenate(gathered.read_ids) if gathered.read_ids
                    else np.zeros(0, dtype=np.uint64))
        ticket = self._writer.insert(gathered.rows, gathered.windows, gathered.memory, read_ids)
        self._waiting[ticket] = (gathered.waiters, +1, True)

    def open_windows(self, now_us: int) -> list[Window]:
        """Suppression windows still open at now_us (closed ones are forgotten on the way)."""
        with self._read_lock:
            rows = self._read_db.execute(
                "SELECT key, hit_id, priority, opened_us, until_us FROM suppression"
                " WHERE until_us > ?", (now_us,)).fetchall()
        return [(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    async def forget_windows(self, now_us: int) -> None:
        await self._submit(lambda w: w.forget(now_us), 0)

    def delivered(self, seqs: Sequence[int]) -> asyncio.Future[int]:
        """Deletes delivered items. Nobody need wait for it to be durable (a deletion lost with
        the power only sends a hit the gateway already holds), so it shares the next group's
        transaction; the sender awaits it only before it reads the disk."""
        done = self._submit(lambda w: w.remove(list(seqs), True), -1)
        self._deletions = [d for d in self._deletions if not _deletion_over(d)]
        self._deletions.append(done)
        return done

    async def failed(self, seqs: Sequence[int]) -> None:
        if seqs:
            await self._submit(lambda w: w.attempt(list(seqs)), 0)

    def _serve(self, loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise OutboxClosed("the outbox is closed")
        if loop not in self._loops:
            # Every loop that waits on the outbox watches the writer's descriptor; whichever
            # collects settles every future, each on its own loop.
            loop.add_reader(self._writer.fileno(), self._collect)
            self._loops.add(loop)
        return loop

    def _submit(self, queue_op: Any, depth_sign: int) -> asyncio.Future[int]:
        loop = self._serve(asyncio.get_running_loop())
        future: asyncio.Future[int] = loop.create_future()
        self._waiting[queue_op(self._writer)] = ([(future, [], None)], depth_sign, False)
        return future

    def _collect(self) -> None:
        running = _running_loop()
        for ticket, count, error, seqs in self._writer.collect():
            waiting = self._waiting.pop(ticket, None)
            if waiting is None:
                continue
            waiters, depth_sign, inserts = waiting
            if not error:
                self.depth += depth_sign * count
            start = 0
            for future, items, on_committed in waiters:
                result = count
                if inserts and not error:
                    # Each commit's share of the operation: its items' seqs, 0 where known.
                    mine = seqs[start:start + len(items)]
                    start += len(items)
                    result = sum(1 for seq in mine if seq)
                    for item, seq in zip(items, mine):
                        if seq:
                            self._keep(item, seq)
                failure = OutboxWriteError(error) if error else None
                then = on_committed if failure is None else None
                loop = future.get_loop()
                if loop is running:
                    _settle(future, result, failure, then)
                elif not loop.is_closed():
                    loop.call_soon_threadsafe(_settle, future, result, failure, then)

    # -- what the sender takes -----------------------------------------------------------------

    def _keep(self, item: OutboxItem, seq: int) -> None:
        if seq <= self._horizon:
            return  # the read that caught up saw it
        if len(self._committed) >= self._in_memory:
            # Too many to hold: they wait on disk, and the sender reads them from there.
            self._to_disk(seq)
            return
        item.seq = seq
        heapq.heappush(self._committed, (item.priority, -item.rank, seq, item))

    async def next_items(self, limit: int) -> list[OutboxItem]:
        """The most urgent items not handed out yet: from memory as they are committed, from
        disk after a restart, a failed delivery or an overflow, until a disk read finds less
        than it asked for. Each item is handed out once, unless given back."""
        if not self._from_disk:
            heap = self._committed
            return [heapq.heappop(heap)[3] for _ in range(min(limit, len(heap)))]
        # Deletions settle first, or the disk would still hold items already delivered.
        deletions, self._deletions = self._deletions, []
        await asyncio.gather(*deletions, return_exceptions=True)
        for done in deletions:
            _deletion_over(done)   # logs a failed one
        items, horizon = await asyncio.to_thread(self.read_disk, limit)
        if len(items) < limit:
            self._caught_up(horizon)
        return items

    def read_disk(self, limit: int) -> tuple[list[OutboxItem], int]:
        """The most urgent stored items, and the highest seq this read could see (any thread)."""
        with self._read_lock:
            db = self._read_db
            db.execute("BEGIN")
            try:
                rows = db.execute(
                    "SELECT seq, item_id, kind, priority, rank, created_us, attempts, payload"
                    " FROM outbox ORDER BY priority, rank DESC, seq LIMIT ?", (limit,)).fetchall()
                top = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
            finally:
                db.execute("COMMIT")
        items = [OutboxItem(r[1], r[2], r[3], r[4], bytes(r[7]), r[5], r[0], r[6]) for r in rows]
        return items, int(top[0]) if top else 0

    def _caught_up(self, horizon: int) -> None:
        """A disk read that saw every item up to seq `horizon` found less than it asked for:
        from now on the sender takes from memory what was committed after it."""
        if horizon < self._dropped_upto:
            return  # it started before items were dropped from memory; read again
        self._horizon = max(self._horizon, horizon)
        self._committed = [e for e in self._committed if e[2] > self._horizon]
        heapq.heapify(self._committed)
        self._from_disk = False

    def give_back(self) -> None:
        """The sender gives back what it was handed (a failed delivery): it reads the disk
        again, where every undelivered item is."""
        self._to_disk()

    def _to_disk(self, *dropped: int) -> None:
        """Forgets the items kept in memory (and seqs `dropped` not kept): the sender reads the
        disk until a read that saw them all catches up."""
        self._dropped_upto = max([self._dropped_upto, *dropped, *(e[2] for e in self._committed)])
        self._committed.clear()
        self._from_disk = True

    def take(self, limit: int) -> list[OutboxItem]:
        """The most urgent stored items: priority first, then rank, then the order they came in."""
        return self.read_disk(limit)[0]

    def count(self) -> int:
        with self._read_lock:
            return int(self._read_db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Commits what is queued, settles its waiters and closes the database."""
        if self._closed:
            return
        for loop in list(self._gathering):
            self._flush(loop)   # commits gathered in this turn go in before the writer stops
        self._closed = True
        self._writer.close()
        self._collect()
        for loop in list(self._loops):
            if not loop.is_closed():
                loop.remove_reader(self._writer.fileno())
        for waiters, _, _ in self._waiting.values():
            for future, _, _ in waiters:
                if not future.done() and not future.get_loop().is_closed():
                    future.get_loop().call_soon_threadsafe(
                        _settle, future, 0, OutboxClosed("the outbox closed"))
        self._waiting.clear()
        with self._read_lock:
            self._read_db.close()


def _deletion_over(future: asyncio.Future[int]) -> bool:
    """Whether a deletion is over; a failed one is logged: its items stay and are sent again,
    and the gateway keeps one copy per hit id."""
    if not future.done():
        return False
    if not future.cancelled() and future.exception() is not None:
        log.warning("delivered hits could not be deleted from the outbox: %s", future.exception())
    return True


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None,
            then: Callable[[], None] | None = None) -> None:
    """Settles a waiter's future, unless its caller gave up on it; `then` runs either way."""
    if not future.done():
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    if then is not None:
        then()
