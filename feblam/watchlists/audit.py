"""Append-only audit log of every watchlist load, delta, rollback and refusal (SQLite).

Oversight asks who changed which list, when, why and with what result. Rows can be added, never
changed or removed: triggers refuse UPDATE and DELETE, so the guarantee holds for any client.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watchlist_audit (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at_utc     REAL    NOT NULL,
    action     TEXT    NOT NULL,
    list_id    INTEGER,
    version    INTEGER,
    actor      TEXT    NOT NULL,
    why        TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    detail     TEXT    NOT NULL
);
CREATE TRIGGER IF NOT EXISTS watchlist_audit_no_update BEFORE UPDATE ON watchlist_audit
BEGIN SELECT RAISE(ABORT, 'the watchlist audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS watchlist_audit_no_delete BEFORE DELETE ON watchlist_audit
BEGIN SELECT RAISE(ABORT, 'the watchlist audit log is append-only'); END;
"""

ACTIONS = ("load", "delta", "rollback", "refusal", "zones", "cameras")


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at_utc: float
    action: str
    list_id: int | None
    version: int | None
    actor: str
    why: str
    outcome: str
    detail: dict[str, Any]


class AuditLog:
    """One SQLite file in WAL mode; safe to share between threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def record(self, action: str, *, actor: str, why: str, outcome: str,
               list_id: int | None = None, version: int | None = None,
               detail: dict[str, Any] | None = None) -> int:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO watchlist_audit (at_utc, action, list_id, version, actor, why, outcome,"
                " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), action, list_id, version, actor, why, outcome,
                 json.dumps(detail or {}, sort_keys=True, default=str)),
            )
            return int(cursor.lastrowid or 0)

    def records(self, list_id: int | None = None, limit: int = 1000) -> list[AuditRecord]:
        query = "SELECT seq, at_utc, action, list_id, version, actor, why, outcome, detail FROM watchlist_audit"
        args: tuple[Any, ...] = ()
        if list_id is not None:
            query += " WHERE list_id = ?"
            args = (list_id,)
        query += " ORDER BY seq DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(query, (*args, limit)).fetchall()
        return [AuditRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]))
                for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
