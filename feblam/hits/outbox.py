"""The durable outbox: hits are committed here (SQLite, WAL) before their batch is acknowledged.

One writer thread of the core owns every write and commits whatever is queued in one transaction
(group commit), so concurrent batches share one sync to disk. It runs without the GIL: a writer
in Python took the interpreter for every statement and woke the event loop's thread each time,
which made it the engine's most switched thread. Finished operations come back through a
descriptor the event loop watches. The sender reads the highest-priority items on a connection of
its own (WAL readers never block the writer) and deletes what the gateway acknowledged. Items
stay through gateway outages and engine restarts until delivered.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feblam._native import core

HIT = 1
SIGHTING = 2

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

@dataclass(frozen=True)
class OutboxItem:
    """A serialised Hit or Sighting waiting for delivery."""

    item_id: str
    kind: int
    priority: int
    rank: float
    payload: bytes
    created_us: int = 0
    seq: int = 0
    attempts: int = 0


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
    def __init__(self, path: str | Path, *, synchronous: str = "full") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._read_db = _connect(self.path, synchronous)
        self._read_db.executescript(_SCHEMA)
        self._read_lock = threading.Lock()
        self.depth = int(self._read_db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        self._writer = core.OutboxWriter(str(self.path), synchronous == "full")
        # ticket -> (its future, what its count does to the depth: +1 new items, -1 deleted)
        self._waiting: dict[int, tuple[asyncio.Future[int], int]] = {}
        self._loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._closed = False

    # -- writes (through the core's writer thread) ---------------------------------------------

    async def commit(self, items: Sequence[OutboxItem], windows: Sequence[Window] = ()) -> int:
        """Durably stores items (ids already present are ignored) and, in the same transaction,
        the suppression windows they opened; returns how many items were new."""
        if not items and not windows:
            return 0
        now = int(time.time() * 1e6)
        rows = [(i.item_id, i.kind, i.priority, i.rank, i.created_us or now, i.payload)
                for i in items]
        return await self._submit(lambda w: w.insert(rows, list(windows)), +1)

    def open_windows(self, now_us: int) -> list[Window]:
        """Suppression windows still open at now_us (closed ones are forgotten on the way)."""
        with self._read_lock:
            rows = self._read_db.execute(
                "SELECT key, hit_id, priority, opened_us, until_us FROM suppression"
                " WHERE until_us > ?", (now_us,)).fetchall()
        return [(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    async def forget_windows(self, now_us: int) -> None:
        await self._submit(lambda w: w.forget(now_us), 0)

    async def delivered(self, seqs: Sequence[int]) -> None:
        if seqs:
            await self._submit(lambda w: w.remove(list(seqs)), -1)

    async def failed(self, seqs: Sequence[int]) -> None:
        if seqs:
            await self._submit(lambda w: w.attempt(list(seqs)), 0)

    def _submit(self, queue_op: Any, depth_sign: int) -> asyncio.Future[int]:
        if self._closed:
            raise OutboxClosed("the outbox is closed")
        loop = asyncio.get_running_loop()
        if loop not in self._loops:
            # Every loop that waits on the outbox watches the writer's descriptor; whichever
            # collects settles every future, each on its own loop.
            loop.add_reader(self._writer.fileno(), self._collect)
            self._loops.add(loop)
        future: asyncio.Future[int] = loop.create_future()
        self._waiting[queue_op(self._writer)] = (future, depth_sign)
        return future

    def _collect(self) -> None:
        running = _running_loop()
        for ticket, count, error in self._writer.collect():
            waiting = self._waiting.pop(ticket, None)
            if waiting is None:
                continue
            future, depth_sign = waiting
            if not error:
                self.depth += depth_sign * count
            loop = future.get_loop()
            if loop is running:
                _settle(future, count, OutboxWriteError(error) if error else None)
            elif not loop.is_closed():
                loop.call_soon_threadsafe(_settle, future, count,
                                          OutboxWriteError(error) if error else None)

    # -- reads ---------------------------------------------------------------------------------

    def take(self, limit: int) -> list[OutboxItem]:
        """The most urgent items: priority first, then rank, then the order they came in."""
        with self._read_lock:
            rows = self._read_db.execute(
                "SELECT seq, item_id, kind, priority, rank, created_us, attempts, payload FROM outbox"
                " ORDER BY priority, rank DESC, seq LIMIT ?", (limit,)).fetchall()
        return [OutboxItem(r[1], r[2], r[3], r[4], bytes(r[7]), r[5], r[0], r[6]) for r in rows]

    def count(self) -> int:
        with self._read_lock:
            return int(self._read_db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Commits what is queued, settles its waiters and closes the database."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        self._collect()
        for loop in list(self._loops):
            if not loop.is_closed():
                loop.remove_reader(self._writer.fileno())
        for future, _ in self._waiting.values():
            if not future.done() and not future.get_loop().is_closed():
                future.get_loop().call_soon_threadsafe(
                    _settle, future, 0, OutboxClosed("the outbox closed"))
        self._waiting.clear()
        with self._read_lock:
            self._read_db.close()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
