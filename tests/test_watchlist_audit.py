"""The watchlist audit log: append-only, durable across reopening, queryable per list."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from feblam.watchlists.audit import AuditLog


def test_records_survive_reopening_and_filter_by_list(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.db")
    log.record("load", list_id=1, version=1, actor="ops-anna", why="daily", outcome="applied",
               detail={"entries": 10})
    log.record("refusal", list_id=2, actor="ops-bert", why="daily", outcome="refused",
               detail={"reason": "too many bad rows"})
    log.record("rollback", list_id=1, version=3, actor="ops-anna", why="bad data",
               outcome="applied")
    log.close()
    reopened = AuditLog(tmp_path / "audit.db")
    everything = reopened.records()
    assert [r.action for r in everything] == ["rollback", "refusal", "load"]
    assert [r.action for r in reopened.records(list_id=1)] == ["rollback", "load"]
    assert everything[1].detail == {"reason": "too many bad rows"}
    assert everything[2].actor == "ops-anna" and everything[2].version == 1


def test_rows_cannot_be_changed_or_removed(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.db")
    log.record("load", list_id=1, version=1, actor="a", why="w", outcome="applied")
    log.close()
    raw = sqlite3.connect(tmp_path / "audit.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE watchlist_audit SET actor = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM watchlist_audit")
    raw.close()
    assert len(AuditLog(tmp_path / "audit.db").records()) == 1


def test_unknown_actions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        AuditLog(tmp_path / "a.db").record("erase", actor="a", why="w", outcome="x")
