"""The durable outbox: idempotent commits, priority order, survival across reopen, delivery marks."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from feblam.hits.outbox import HIT, SIGHTING, Outbox, OutboxClosed, OutboxItem, OutboxWriteError
from feblam.hits.sender import encode_batch
from feblam.v1 import gateway_pb2, hits_pb2


def item(item_id: str, priority: int, rank: float = 0.5, kind: int = HIT) -> OutboxItem:
    payload = (hits_pb2.Hit(hit_id=item_id, priority=priority).SerializeToString() if kind == HIT
               else hits_pb2.Sighting(sighting_id=item_id, priority=priority).SerializeToString())
    return OutboxItem(item_id, kind, priority, rank, payload)


def test_commit_is_idempotent_and_take_is_by_priority_then_rank(tmp_path: Path) -> None:
    async def scenario() -> None:
        box = Outbox(tmp_path / "o.db")
        new = await asyncio.gather(box.commit([item("a", 5), item("b", 1, 0.2)]),
                                   box.commit([item("c", 1, 0.9), item("a", 5)]))
        assert sorted(new) == [1, 2]
        assert box.depth == 3
        assert [i.item_id for i in box.take(10)] == ["c", "b", "a"]
        first = box.take(1)
        await box.delivered([first[0].seq])
        assert box.depth == 2 and box.count() == 2
        box.close()

    asyncio.run(scenario())


def test_items_survive_reopening(tmp_path: Path) -> None:
    async def write() -> None:
        box = Outbox(tmp_path / "o.db")
        await box.commit([item("x", 2), item("y", 3, kind=SIGHTING)])
        box.close()

    asyncio.run(write())
    box = Outbox(tmp_path / "o.db")
    assert box.depth == 2
    assert [(i.item_id, i.kind) for i in box.take(5)] == [("x", HIT), ("y", SIGHTING)]
    box.close()


def test_encoded_batch_parses_as_a_hit_batch(tmp_path: Path) -> None:
    items = [item("h1", 1), item("s1", 1, kind=SIGHTING), item("h2", 4)]
    parsed = gateway_pb2.HitBatch.FromString(encode_batch(300, items))
    assert parsed.sequence == 300
    assert [h.hit_id for h in parsed.hits] == ["h1", "h2"]
    assert [s.sighting_id for s in parsed.sightings] == ["s1"]


def test_groups_larger_than_one_statement_are_written_whole(tmp_path: Path) -> None:
    # More items, and more ids to delete, than one statement's parameters allow.
    async def scenario() -> None:
        box = Outbox(tmp_path / "o.db")
        many = [item(f"h{i}", 1 + i % 5) for i in range(1_000)]
        new = await asyncio.gather(box.commit(many[:700]), box.commit(many[300:]))
        assert sorted(new) == [300, 700] and box.depth == 1_000 == box.count()
        taken = box.take(1_000)
        assert len(taken) == 1_000 and [i.priority for i in taken] == sorted(i.priority for i in taken)
        await box.delivered([i.seq for i in taken[:950]])
        assert box.depth == 50 == box.count()
        box.close()

    asyncio.run(scenario())


def test_a_failed_write_fails_its_commit_and_keeps_what_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "o.db"

    async def scenario() -> None:
        box = Outbox(path)
        assert await box.commit([item("kept", 2)]) == 1
        # The database refuses one item, as a full disk or a broken file would refuse a write.
        db = sqlite3.connect(path)
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.item_id = 'bad'"
                   " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        db.commit()
        db.close()
        with pytest.raises(OutboxWriteError, match="refused by the test"):
            await box.commit([item("x", 1), item("bad", 1)])
        assert box.depth == 1 and box.count() == 1
        assert [i.item_id for i in box.take(5)] == ["kept"]
        assert await box.commit([item("after", 1)]) == 1
        assert box.depth == 2
        box.close()

    asyncio.run(scenario())


def test_one_outbox_serves_event_loops_one_after_another(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")

    async def commit(name: str) -> int:
        return await box.commit([item(name, 1)])

    assert asyncio.run(commit("first")) == 1
    assert asyncio.run(commit("second")) == 1
    assert box.depth == 2
    box.close()
    with pytest.raises(OutboxClosed):
        asyncio.run(commit("third"))
