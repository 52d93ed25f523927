"""The gateway store's hit and sighting keys: staged in memory, moved to on-disk indexes in
sorted runs.

Every behaviour is checked across runs, across reopening (the staged keys exist only in memory,
so a reopened store must rebuild them from its tables) and on a store written in the older
layout, where hit_id was the hits table's key and sighting_id the sightings table's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import feblam.gateway.store as store_module
from feblam.gateway.store import Delivery, GatewayStore, StoredHit, delivered_hits
from feblam.v1 import gateway_pb2 as pb
from feblam.v1 import hits_pb2, reads_pb2


def hit(hit_id: str, priority: int = 2) -> hits_pb2.Hit:
    return hits_pb2.Hit(hit_id=hit_id, priority=priority,
                        read=reads_pb2.Read(read_id=f"read-{hit_id}", camera_id="cam-1"))


def sighting(hit_id: str, read_id: str, observed_us: int = 0) -> hits_pb2.Sighting:
    return hits_pb2.Sighting(sighting_id=f"{hit_id}/{read_id}", hit_id=hit_id, read_id=read_id,
                             observed_us=observed_us)


def counts(delivery: Delivery) -> tuple[int, int]:
    """(stored, duplicates) of a delivery."""
    return delivery.stored, delivery.duplicates


def indexed(path: Path) -> tuple[int, int]:
    """(ids in the on-disk index, indexed_upto), read by a connection of its own."""
    db = sqlite3.connect(path)
    try:
        count = db.execute("SELECT COUNT(*) FROM hit_ids").fetchone()[0]
        upto = db.execute("SELECT indexed_upto FROM index_state").fetchone()[0]
        return int(count), int(upto)
    finally:
        db.close()


def test_ids_move_to_the_index_in_runs_and_are_found_either_way(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "STAGED_IDS", 4)
    path = tmp_path / "g.db"
    store = GatewayStore(path, synchronous="normal")
    assert counts(store.store([hit("a"), hit("b"), hit("c")], [])) == (3, 0)
    assert indexed(path) == (0, 0)          # staged: below a run
    assert counts(store.store([hit("d"), hit("a")], [])) == (1, 1)
    assert indexed(path) == (4, 4)          # a, b, c, d in one run
    assert counts(store.store([hit("e"), hit("c"), hit("e")], [])) == (1, 2)
    assert indexed(path) == (4, 4)          # e staged
    for hit_id in "abcde":
        found = store.hit(hit_id)
        assert found is not None and found.hit.read.read_id == f"read-{hit_id}"
    assert store.hit("zz") is None
    assert store.decide("a", pb.DECISION_CONFIRMED, "op", "")[0]      # indexed
    assert store.decide("e", pb.DECISION_MISREAD, "op", "") == (True, 1, "cam-1")  # staged
    assert [s.hit.hit_id for s in store.all_hits()] == list("abcde")
    assert [s.hit.hit_id for s in store.undecided()] == list("bcd")
    store.close()


def test_a_run_moves_in_slices_one_per_delivery_and_survives_a_reopening(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "STAGED_IDS", 4)
    monkeypatch.setattr(store_module, "RUN_SLICE", 2)
    path = tmp_path / "g.db"
    store = GatewayStore(path, synchronous="normal")
    store.store([hit("d"), hit("b"), hit("a")], [])
    assert indexed(path) == (0, 0)
    store.store([hit("c")], [])
    assert indexed(path) == (2, 0)          # a run of a-d: its first slice (a, b) moved
    assert counts(store.store([hit("c"), hit("e")], [])) == (1, 1)   # c found while in the run
    assert indexed(path) == (4, 4)          # the second slice finishes the run
    store.store([hit("f"), hit("g"), hit("h")], [])
    assert indexed(path) == (6, 4)          # e-h: a new run, half moved
    store.close()                           # as a crash would leave it
    again = GatewayStore(path, synchronous="normal")
    assert counts(again.store([hit(i) for i in "abcdefgh"], [])) == (0, 8)
    assert all(again.hit(i) is not None for i in "abcdefgh")
    again.store([hit("i")], [])
    again.store([hit("j")], [])
    count, upto = indexed(path)
    assert upto >= 8 and count >= 8
    assert [s.hit.hit_id for s in again.all_hits()] == list("dbacefghij")
    again.close()


def test_new_sightings_come_with_their_hits_routes_whether_remembered_or_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g.db"
    store = GatewayStore(path, synchronous="normal")
    covert = hits_pb2.Hit(hit_id="c1", priority=1, recipients=["unit-ops"],
                          list=hits_pb2.ListRef(list_id=5, covert=True))
    first = store.store([hit("a"), covert], [sighting("a", "r1")])
    # The hit's trail carries a sighting stored with it; only later ones go out on their own.
    assert [s.read_id for s in first.hits[0].trail] == ["r1"] and first.sightings == []
    later = store.store([], [sighting("a", "r2"), sighting("c1", "r2"),
                                      sighting("zz", "r2")])
    assert [(s.sighting.hit_id, s.route) for s in later.sightings] == [
        ("a", (0, 2, False, frozenset())), ("c1", (5, 1, True, frozenset({"unit-ops"})))]
    assert (later.stored, later.duplicates) == (3, 0)
    store.close()
    # Reopened, or past the routes it keeps: the store reads the hit to route its sighting.
    monkeypatch.setattr(store_module, "ROUTES_REMEMBERED", 1)
    again = GatewayStore(path, synchronous="normal")
    again.store([hit("b"), hit("d")], [])
    more = again.store([], [sighting("c1", "r3"), sighting("a", "r3")])
    assert [(s.sighting.hit_id, s.route[0]) for s in more.sightings] == [("c1", 5), ("a", 0)]
    again.close()


def test_a_reopened_store_rebuilds_the_staged_ids_from_its_hits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Closing without a run is what a crash leaves: staged ids only in the hits table.
    monkeypatch.setattr(store_module, "STAGED_IDS", 3)
    path = tmp_path / "g.db"
    store = GatewayStore(path, synchronous="normal")
    store.store([hit("a"), hit("b"), hit("c"), hit("d")], [])
    store.store([hit("e")], [])
    store.close()
    assert indexed(path) == (4, 4)
    again = GatewayStore(path, synchronous="normal")
    assert counts(again.store([hit("e"), hit("a"), hit("f")], [])) == (1, 2)
    assert again.hit("e") is not None and again.count() == 6
    assert counts(again.store([hit("g")], [])) == (1, 0)   # e, f, g: the next run
    assert indexed(path) == (7, 7)
    assert [s.hit.hit_id for s in again.all_hits()] == list("abcdefg")
    again.close()


def test_a_store_of_the_older_layout_is_carried_over(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE hits (hit_id TEXT PRIMARY KEY, received_us INTEGER NOT NULL,
                           priority INTEGER NOT NULL, list_id INTEGER NOT NULL,
                           camera_id TEXT NOT NULL, payload BLOB NOT NULL);
        CREATE TABLE decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT, hit_id TEXT NOT NULL,
                                decision INTEGER NOT NULL, operator TEXT NOT NULL,
                                note TEXT NOT NULL, at_us INTEGER NOT NULL);
    """)
    for n, hit_id in enumerate(["zz", "aa", "mm"]):
        db.execute("INSERT INTO hits VALUES (?, ?, 2, 1, 'cam-1', ?)",
                   (hit_id, 100 + n, hit(hit_id).SerializeToString()))
    db.executescript("""
        CREATE TABLE sightings (sighting_id TEXT PRIMARY KEY, hit_id TEXT NOT NULL,
                                received_us INTEGER NOT NULL, payload BLOB NOT NULL);
        CREATE INDEX sightings_hit ON sightings (hit_id);
    """)
    for n, (hit_id, read_id) in enumerate([("aa", "r2"), ("zz", "r1"), ("aa", "r1")]):
        s = sighting(hit_id, read_id, observed_us=10 - n)
        db.execute("INSERT INTO sightings VALUES (?, ?, ?, ?)",
                   (s.sighting_id, hit_id, 200 + n, s.SerializeToString()))
    db.execute("INSERT INTO decisions (hit_id, decision, operator, note, at_us)"
               " VALUES ('aa', 1, 'op', '', 5)")
    db.commit()
    db.close()
    store = GatewayStore(path, synchronous="normal")
    assert [s.hit.hit_id for s in store.all_hits()] == ["zz", "aa", "mm"]   # arrival order
    assert [s.read_id for s in store.trail("aa")] == ["r1", "r2"]           # by observed time
    assert [s.read_id for s in store.trail("zz")] == ["r1"] and store.trail("mm") == []
    assert counts(store.store([], [sighting("aa", "r1"), sighting("mm", "r5")])) == (1, 1)
    assert [s.read_id for s in store.trail("mm")] == ["r5"]
    assert counts(store.store([hit("aa"), hit("nn")], [])) == (1, 1)
    assert store.decide("mm", pb.DECISION_CONFIRMED, "op", "")[:2] == (True, 1)
    assert store.decide("aa", pb.DECISION_CONFIRMED, "op", "")[:2] == (True, 2)
    assert [s.hit.hit_id for s in store.undecided()] == ["zz", "nn"]
    store.close()
    assert indexed(path) == (3, 3)


def test_a_store_with_keyed_sightings_only_is_carried_over(tmp_path: Path) -> None:
    # Hits already in arrival order, sightings still keyed by their id.
    path = tmp_path / "g.db"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE hits (seq INTEGER PRIMARY KEY, hit_id TEXT NOT NULL,
                           received_us INTEGER NOT NULL, priority INTEGER NOT NULL,
                           list_id INTEGER NOT NULL, camera_id TEXT NOT NULL, payload BLOB NOT NULL);
        CREATE TABLE hit_ids (hit_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE index_state (id INTEGER PRIMARY KEY CHECK (id = 1),
                                  indexed_upto INTEGER NOT NULL);
        INSERT INTO index_state (id, indexed_upto) VALUES (1, 1);
        CREATE TABLE sightings (sighting_id TEXT PRIMARY KEY, hit_id TEXT NOT NULL,
                                received_us INTEGER NOT NULL, payload BLOB NOT NULL);
        CREATE INDEX sightings_hit ON sightings (hit_id);
    """)
    db.execute("INSERT INTO hits VALUES (1, 'aa', 100, 2, 1, 'cam-1', ?)",
               (hit("aa").SerializeToString(),))
    db.execute("INSERT INTO hit_ids VALUES ('aa', 1)")
    first = sighting("aa", "r1", observed_us=5)
    db.execute("INSERT INTO sightings VALUES (?, 'aa', 200, ?)",
               (first.sighting_id, first.SerializeToString()))
    db.commit()
    db.close()
    store = GatewayStore(path, synchronous="normal")
    assert counts(store.store([hit("aa")], [first, sighting("aa", "r2", observed_us=6)])) == (1, 2)
    assert [s.read_id for s in store.trail("aa")] == ["r1", "r2"]
    store.close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT sightings_upto FROM index_state").fetchone()[0] == 1
        assert sorted(r[0] for r in db.execute("SELECT key FROM sighting_keys")) == [
            "haa", "s" + first.sighting_id]
    finally:
        db.close()


deliveries = st.lists(st.tuples(st.lists(st.sampled_from([f"h{i}" for i in range(12)]),
                                         max_size=6),
                                st.lists(st.tuples(st.sampled_from([f"h{i}" for i in range(12)]),
                                                   st.sampled_from(["r1", "r2", "r3"])),
                                         max_size=6),
                                st.booleans()),
                      min_size=1, max_size=12)


@settings(max_examples=80, deadline=None)
@given(deliveries, st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=3))
def test_one_copy_per_id_whatever_the_runs_and_reopenings(
        tmp_path_factory: pytest.TempPathFactory,
        batches: list[tuple[list[str], list[tuple[str, str]], bool]],
        run: int, run_slice: int) -> None:
    path = tmp_path_factory.mktemp("store") / "g.db"
    first_seen: list[str] = []
    trails: dict[str, list[str]] = {}   # hit id -> read ids of its sightings, in arrival order

    def trail_of(hit_id: str) -> list[str]:
        return trails.get(hit_id, [])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store_module, "STAGED_IDS", run)
        patch.setattr(store_module, "RUN_SLICE", run_slice)
        store = GatewayStore(path, synchronous="normal")
        for ids, seen, reopen in batches:
            delivery = store.store([hit(i) for i in ids], [sighting(h, r) for h, r in seen])
            fresh, stored, duplicates = delivery.hits, delivery.stored, delivery.duplicates
            new = [i for n, i in enumerate(ids) if i not in first_seen and i not in ids[:n]]
            new_seen = [(h, r) for n, (h, r) in enumerate(seen)
                        if r not in trail_of(h) and (h, r) not in seen[:n]]
            for h, r in new_seen:
                trails.setdefault(h, []).append(r)
            assert [f.hit.hit_id for f in fresh] == new
            # A fresh hit comes with the sightings already stored for it, this delivery's too.
            for f in fresh:
                assert [t.read_id for t in f.trail] == trail_of(f.hit.hit_id)
            assert (stored, duplicates) == (len(new) + len(new_seen),
                                            len(ids) + len(seen) - len(new) - len(new_seen))
            first_seen.extend(new)
            if reopen:
                store.close()
                store = GatewayStore(path, synchronous="normal")
        assert [s.hit.hit_id for s in store.all_hits()] == first_seen
        assert all(store.hit(i) is not None for i in first_seen)
        for h in [f"h{i}" for i in range(12)]:
            assert [s.read_id for s in store.trail(h)] == trail_of(h)
        store.close()
        # What a reopened store relies on: every row up to its indexed_upto is in the index.
        db = sqlite3.connect(path)
        try:
            assert db.execute("SELECT COUNT(*) FROM hits WHERE seq <= (SELECT indexed_upto"
                              " FROM index_state) AND hit_id NOT IN (SELECT hit_id FROM hit_ids)"
                              ).fetchone()[0] == 0
            assert db.execute("SELECT COUNT(*) FROM sightings WHERE seq <= (SELECT"
                              " sightings_upto FROM index_state) AND ('s' || sighting_id NOT IN"
                              " (SELECT key FROM sighting_keys) OR 'h' || hit_id NOT IN"
                              " (SELECT key FROM sighting_keys))").fetchone()[0] == 0
        finally:
            db.close()


sightings = st.builds(hits_pb2.Sighting, sighting_id=st.text(max_size=12),
                      hit_id=st.text(max_size=12), read_id=st.text(max_size=12),
                      observed_us=st.integers(0, 2**62))
stored_hits = st.builds(
    lambda hit_id, priority, recipients, received, trail, keep_payload: (
        hits_pb2.Hit(hit_id=hit_id, priority=priority, recipients=recipients,
                     read=reads_pb2.Read(read_id=hit_id, image_ref="i" * priority * 40)),
        received, tuple(trail), keep_payload),
    st.text(max_size=20), st.integers(1, 9), st.lists(st.text(max_size=6), max_size=3),
    st.integers(0, 2**62), st.lists(sightings, max_size=3), st.booleans())


@settings(max_examples=150, deadline=None)
@given(st.lists(stored_hits, max_size=6))
def test_a_console_message_made_from_parts_is_the_message_protobuf_makes(
        group: list[tuple[hits_pb2.Hit, int, tuple[hits_pb2.Sighting, ...], bool]]) -> None:
    items = [StoredHit(h, received, trail, h.SerializeToString() if keep else b"")
             for h, received, trail, keep in group]
    expected = pb.DeliveredHits(hits=[
        pb.DeliveredHit(hit=h, received_us=received, trail=trail)
        for h, received, trail, _ in group])
    assert pb.DeliveredHits.FromString(delivered_hits(items)) == expected


def test_a_second_store_on_the_same_file_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    first = GatewayStore(tmp_path / "g.db", synchronous="normal")
    with pytest.raises(RuntimeError, match="another process"):
        GatewayStore(tmp_path / "g.db", synchronous="normal")
    first.store([hit("a")], [])
    first.close()
    second = GatewayStore(tmp_path / "g.db", synchronous="normal")
    assert counts(second.store([hit("a")], [])) == (0, 1)
    second.close()
