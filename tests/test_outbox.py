"""The durable outbox: idempotent commits, priority order, survival across reopen, delivery marks."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feblam._native import core
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


def refuse_bad_items(path: Path) -> None:
    """The database refuses items with id 'bad', as a full disk or a broken file refuses a write."""
    db = sqlite3.connect(path)
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.item_id = 'bad'"
               " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    db.commit()
    db.close()


def test_a_failed_write_fails_its_commit_and_keeps_what_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "o.db"

    async def scenario() -> None:
        box = Outbox(path)
        assert await box.commit([item("kept", 2)]) == 1
        refuse_bad_items(path)
        with pytest.raises(OutboxWriteError, match="refused by the test"):
            await box.commit([item("x", 1), item("bad", 1)])
        assert box.depth == 1 and box.count() == 1
        assert [i.item_id for i in box.take(5)] == ["kept"]
        assert await box.commit([item("after", 1)]) == 1
        assert box.depth == 2
        box.close()

    asyncio.run(scenario())


def test_what_follows_a_commit_runs_even_when_its_caller_stopped_waiting(tmp_path: Path) -> None:
    path = tmp_path / "o.db"

    async def scenario() -> None:
        box = Outbox(path)
        ran: list[str] = []
        # The caller goes away (its client disconnected) while the transaction is under way.
        waiting = asyncio.create_task(box.commit([item("gone", 1)],
                                                 on_committed=lambda: ran.append("gone")))
        await asyncio.sleep(0)
        waiting.cancel()
        await box.commit([item("stays", 1)], on_committed=lambda: ran.append("stays"))
        await box.commit([], on_committed=lambda: ran.append("empty"))
        assert sorted(ran) == ["empty", "gone", "stays"]
        assert box.count() == 2
        refuse_bad_items(path)
        with pytest.raises(OutboxWriteError):
            await box.commit([item("bad", 1)], on_committed=lambda: ran.append("bad"))
        assert "bad" not in ran
        box.close()

    asyncio.run(scenario())


def test_read_ids_are_remembered_with_a_committed_group_and_never_with_a_failed_one(
        tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    memory = core.ReadIdMemory(1_000)

    def ids(*values: int) -> np.ndarray:
        return np.array(values, dtype=np.uint64)

    async def scenario() -> None:
        box = Outbox(path)
        # Two commits of one loop turn share a transaction; each one's ids are remembered.
        await asyncio.gather(box.commit([item("a", 1)], remember=(memory, ids(11, 12))),
                             box.commit([item("b", 1)], remember=(memory, ids(13))))
        assert memory.seen(ids(11, 12, 13, 14)).tolist() == [True, True, True, False]
        # Nothing to commit: remembered at once.
        await box.commit([], remember=(memory, ids(15)))
        assert memory.seen(ids(15)).tolist() == [True]
        refuse_bad_items(path)
        # A failed group remembers nothing: its batch may be sent again.
        with pytest.raises(OutboxWriteError):
            await box.commit([item("bad", 1)], remember=(memory, ids(21, 22)))
        assert memory.seen(ids(21, 22)).tolist() == [False, False]
        # Commits that share a transaction name one memory; the refused one stores nothing.
        kept, refused = await asyncio.gather(
            box.commit([item("c", 1)], remember=(memory, ids(31))),
            box.commit([item("d", 1)], remember=(core.ReadIdMemory(10), ids(32))),
            return_exceptions=True)
        assert kept == 1
        assert isinstance(refused, ValueError) and "one memory" in str(refused)
        assert sorted(i.item_id for i in box.take(10)) == ["a", "b", "c"]
        assert memory.seen(ids(31)).tolist() == [True]
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


# One step of a sender's life: commit n items (priorities drawn), take up to n and deliver them
# or fail, restart the engine (the outbox reopened from its file).
_STEP = st.one_of(st.tuples(st.just("commit"), st.lists(st.integers(1, 5), min_size=1, max_size=6)),
                  st.tuples(st.just("deliver"), st.integers(1, 8)),
                  st.tuples(st.just("fail"), st.integers(1, 8)),
                  st.tuples(st.just("restart"), st.just(0)))


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(_STEP, max_size=25), in_memory=st.integers(1, 8))
def test_the_sender_is_handed_every_committed_item_once_unless_given_back(
        tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, Any]],
        in_memory: int) -> None:
    path = tmp_path_factory.mktemp("outbox") / "o.db"
    committed: set[str] = set()
    delivered: list[str] = []
    given_back: set[str] = set()

    async def scenario() -> None:
        # A small memory bound, so overflows to disk happen within a few commits.
        box = Outbox(path, synchronous="normal", committed_in_memory=in_memory)
        n = 0
        for op, arg in steps:
            if op == "commit":
                items = [item(f"i{n + k}", p, rank=0.1 * k) for k, p in enumerate(arg)]
                n += len(arg)
                assert await box.commit(items) == len(items)
                committed.update(i.item_id for i in items)
            elif op == "restart":
                box.close()
                box = Outbox(path, synchronous="normal", committed_in_memory=in_memory)
            else:
                handed = await box.next_items(arg)
                assert len(handed) <= arg
                # Most urgent first within what is handed out at once.
                keys = [(i.priority, -i.rank, i.seq) for i in handed]
                assert keys == sorted(keys)
                if op == "deliver":
                    box.delivered([i.seq for i in handed])
                    delivered.extend(i.item_id for i in handed)
                else:
                    box.give_back()
                    await box.failed([i.seq for i in handed])
                    given_back.update(i.item_id for i in handed)
        # Then the gateway takes everything.
        while handed := await box.next_items(5):
            box.delivered([i.seq for i in handed])
            delivered.extend(i.item_id for i in handed)
        await asyncio.sleep(0.02)  # deletions wait a moment for company
        assert box.depth == 0
        box.close()

    asyncio.run(scenario())
    assert set(delivered) == committed
    # An item is handed out twice only after a delivery of it failed.
    twice = {i for i in delivered if delivered.count(i) > 1}
    assert twice <= given_back, twice - given_back


def test_items_dropped_from_memory_during_a_disk_read_are_still_handed_out(tmp_path: Path) -> None:
    # The sender's disk read is held until more is committed than memory keeps: what was
    # dropped must come from a later disk read, not be forgotten.
    release = threading.Event()

    class SlowDisk(Outbox):
        def read_disk(self, limit: int) -> tuple[list[OutboxItem], int]:
            found = super().read_disk(limit)
            release.wait(5)
            return found

    async def scenario() -> None:
        box = SlowDisk(tmp_path / "o.db", synchronous="normal", committed_in_memory=2)
        reading = asyncio.create_task(box.next_items(10))
        await asyncio.sleep(0.05)   # the read has seen an empty outbox
        for k in range(5):
            await box.commit([item(f"late{k}", 3)])
        release.set()
        handed = await reading
        while more := await box.next_items(10):
            handed.extend(more)
            box.delivered([i.seq for i in more])
        assert sorted(i.item_id for i in handed) == [f"late{k}" for k in range(5)]
        box.close()

    asyncio.run(scenario())
