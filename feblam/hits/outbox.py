"""The durable outbox: hits are committed here (SQLite, WAL) before their batch is acknowledged.

One writer thread owns every write and commits whatever is queued in one transaction (group
commit), so concurrent batches share one sync to disk. The sender reads the highest-priority items
on a connection of its own (WAL readers never block the writer) and deletes what the gateway
acknowledged. Items stay through gateway outages and engine restarts until delivered.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feblam.sqlite_sets import KEYS_PER_STATEMENT, chunks, insert_rows, marks

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
        self._write_db = _connect(self.path, synchronous)
        self._write_db.executescript(_SCHEMA)
        self._read_db = _connect(self.path, synchronous)
        self._read_lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[str, Any, Any] | None] = queue.SimpleQueue()
        self.depth = int(self._write_db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        self._closed = False
        self._thread = threading.Thread(target=self._write_loop, name="feblam-outbox", daemon=True)
        self._thread.start()

    # -- writes (through the writer thread) ------------------------------------------------------

    async def commit(self, items: Sequence[OutboxItem], windows: Sequence[Window] = ()) -> int:
        """Durably stores items (ids already present are ignored) and, in the same transaction,
        the suppression windows they opened; returns how many items were new."""
        if not items and not windows:
            return 0
        return int(await self._submit("insert", (list(items), list(windows))))

    def open_windows(self, now_us: int) -> list[Window]:
        """Suppression windows still open at now_us (closed ones are forgotten on the way)."""
        with self._read_lock:
            rows = self._read_db.execute(
                "SELECT key, hit_id, priority, opened_us, until_us FROM suppression"
                " WHERE until_us > ?", (now_us,)).fetchall()
        return [(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    async def forget_windows(self, now_us: int) -> None:
        await self._submit("forget", now_us)

    async def delivered(self, seqs: Sequence[int]) -> None:
        if seqs:
            await self._submit("delete", list(seqs))

    async def failed(self, seqs: Sequence[int]) -> None:
        if seqs:
            await self._submit("attempt", list(seqs))

    def _submit(self, op: str, args: Any) -> asyncio.Future[Any]:
        if self._closed:
            raise OutboxClosed("the outbox is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((op, args, (loop, future)))
        return future

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            work = [first]
            stop = False
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                work.append(more)
            results: list[Any] = []
            error: BaseException | None = None
            try:
                self._write_db.execute("BEGIN IMMEDIATE")
                results, change = self._apply([(op, args) for op, args, _ in work])
                self._write_db.execute("COMMIT")
            except BaseException as exc:  # noqa: BLE001 - every waiter must hear of the failure
                error = exc
                try:
                    self._write_db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if error is None:
                self.depth += change
            for i, (_, _, (loop, future)) in enumerate(work):
                if error is None:
                    loop.call_soon_threadsafe(_settle, future, results[i], None)
                else:
                    loop.call_soon_threadsafe(_settle, future, None, error)
            if stop:
                return

    def _apply(self, work: Sequence[tuple[str, Any]]) -> tuple[list[int], int]:
        """One group's operations as a few set-wise statements; per operation what it returns,
        and the change in depth.

        A group costs a handful of statements whatever its size (feblam.sqlite_sets). Inserts go
        first: deletions name items the sender took, which were committed by an earlier group.
        """
        unknown = {op for op, _ in work} - {"insert", "delete", "attempt", "forget"}
        if unknown:
            raise ValueError(f"unknown outbox operation {sorted(unknown)[0]!r}")
        db = self._write_db
        results = [0] * len(work)
        inserts = [(k, args) for k, (op, args) in enumerate(work) if op == "insert"]
        added = 0
        if inserts:
            now = int(time.time() * 1e6)
            known = self._stored_ids([i.item_id for _, (items, _) in inserts for i in items])
            rows: list[tuple[Any, ...]] = []
            for k, (items, _) in inserts:
                for i in items:
                    if i.item_id not in known:
                        known.add(i.item_id)
                        rows.append((i.item_id, i.kind, i.priority, i.rank, i.created_us or now,
                                     i.payload))
                        results[k] += 1
            insert_rows(db, "INSERT OR IGNORE INTO outbox"
                             " (item_id, kind, priority, rank, created_us, payload)", rows, 6)
            added = len(rows)
            insert_rows(db, "INSERT OR REPLACE INTO suppression"
                             " (key, hit_id, priority, opened_us, until_us)",
                         [w for _, (_, windows) in inserts for w in windows], 5)
        deleted = 0
        gone = [seq for op, args in work if op == "delete" for seq in args]
        for chunk in chunks(gone, KEYS_PER_STATEMENT):
            before = db.total_changes
            db.execute(f"DELETE FROM outbox WHERE seq IN ({marks(len(chunk))})", chunk)
            deleted += db.total_changes - before
        retried = [seq for op, args in work if op == "attempt" for seq in args]
        for chunk in chunks(retried, KEYS_PER_STATEMENT):
            db.execute("UPDATE outbox SET attempts = attempts + 1"
                       f" WHERE seq IN ({marks(len(chunk))})", chunk)
        horizons = [int(args) for op, args in work if op == "forget"]
        if horizons:
            db.execute("DELETE FROM suppression WHERE until_us <= ?", (max(horizons),))
        return results, added - deleted

    def _stored_ids(self, ids: list[str]) -> set[str]:
        """Which of ids are already in the outbox (usually none: one step per chunk)."""
        found: set[str] = set()
        for chunk in chunks(ids, KEYS_PER_STATEMENT):
            query = f"SELECT item_id FROM outbox WHERE item_id IN ({marks(len(chunk))})"
            found.update(r[0] for r in self._write_db.execute(query, chunk))
        return found

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
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=10)
        with self._read_lock:
            self._read_db.close()
        self._write_db.close()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
