"""The core's intake worker: the same columns and matches as reading and matching on the loop."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feblam import _core
from feblam.matching import ListPolicy, Matcher, MatchKind
from feblam.service.errors import BadBatch
from feblam.service.intake import BatchIntake
from feblam.service.retro import PlateKeys
from feblam.service.validation import Screen
from feblam.v1 import reads_pb2

KEYS = PlateKeys(seed=5)
ID_SEED = 77
LISTED = ["1ABC123", "AB12CDE", "GX99XYZ", "1A8C123", "HH1234"]
NEAR = Matcher.build(np.array(LISTED, dtype="S"), list_ids=1,
                     policies={1: ListPolicy(MatchKind.EXACT | MatchKind.OCR | MatchKind.FUZZY)})
EXACT = Matcher.build(np.array(LISTED[:3], dtype="S"), list_ids=2,
                      policies={2: ListPolicy(MatchKind.EXACT | MatchKind.RESOLVED)})

plates = st.sampled_from(LISTED + ["1A8C128", "AB12CD", "GX99XY2", "", "X" * 20, "1-abc-123",
                                   "ÄÖ", "\x07AB"])
reads = st.builds(reads_pb2.Read, read_id=st.sampled_from(["", "r1", "r2", "r3"]),
                  camera_id=st.sampled_from(["", "c1"]), raw_plate=plates,
                  country=st.sampled_from(["", "BE", "UK"]),
                  observed_us=st.integers(0, 2_000_000),
                  confidence=st.none() | st.floats(0, 1.25, width=32))


# The screen: camera c1 registered, read id r1 accepted before.
SCREEN = Screen(_core.CameraSet(np.array([_core.keyed_hash(b"c1", ID_SEED)], dtype=np.uint64)),
                _core.ReadIdMemory(16))
SCREEN.memory.remember(np.array([_core.keyed_hash(b"r1", ID_SEED)], dtype=np.uint64))


def run_intake(batches: list[bytes], low: int, high: int, threads: int = 1,
               screen: Screen | None = None, read_scope: int = 0) -> list[object]:
    async def scenario() -> list[object]:
        intake = BatchIntake(KEYS.seed, ID_SEED, KEYS.ocr_table, threads)
        try:
            futures = [intake.submit(b, low, high, [NEAR.core_matcher, EXACT.core_matcher],
                                     screen, read_scope)
                       for b in batches]
            return list(await asyncio.gather(*futures, return_exceptions=True))
        finally:
            intake.close()
    return asyncio.run(scenario())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(reads, max_size=6), min_size=1, max_size=4), st.sampled_from([1, 3]),
       st.booleans(), st.sampled_from([0, 1, 2**64 - 1]) | st.integers(0, 2**64 - 1))
def test_worker_results_equal_reading_and_matching_on_the_loop(
        batches: list[list[reads_pb2.Read]], threads: int, screened: bool, scope: int) -> None:
    # With several threads batches finish in any order; each result still belongs to its batch.
    data = [reads_pb2.ReadBatch(batch_id=f"b{k}", reads=r).SerializeToString()
            for k, r in enumerate(batches)]
    screen = SCREEN if screened else Screen()
    results = run_intake(data, 100, 1_000_000, threads, screen, scope)
    for payload, result in zip(data, results):
        assert not isinstance(result, BaseException)
        columns, found = result
        want = _core.read_batch_columns(payload, KEYS.seed, ID_SEED, KEYS.ocr_table, 100, 1_000_000,
                                        screen.known_cameras, screen.memory, scope)
        unscoped = _core.read_batch_columns(payload, KEYS.seed, ID_SEED, KEYS.ocr_table, 100,
                                            1_000_000)
        # The scope moves each read id's hash, and nothing else it reads.
        assert np.array_equal(want["read_id_hash"], unscoped["read_id_hash"] ^ np.uint64(scope))
        assert np.array_equal(want["camera_hash"], unscoped["camera_hash"])
        assert set(columns) == set(want)
        for key, value in want.items():
            if isinstance(value, np.ndarray):
                assert np.array_equal(columns[key], value, equal_nan=value.dtype.kind == "f"), key
            elif isinstance(value, tuple):
                assert columns[key][0] == value[0] and all(
                    np.array_equal(a, b) for a, b in zip(columns[key][1:], value[1:]))
            else:
                assert columns[key] == value, key
        for matcher, got in zip((NEAR, EXACT), found):
            expect = matcher.match(want["canonical"], want["country"], want["confidence64"])
            # An index that matched nothing hands back None rather than empty columns.
            assert (got is None) == (len(expect) == 0)
            if got is None:
                continue
            for have, column in zip(got, (expect.read, expect.entry, expect.list_id, expect.entry_no,
                                          expect.kind, expect.score, expect.sub_mask,
                                          expect.edit_op, expect.edit_pos)):
                assert np.array_equal(have, column)


def test_a_malformed_batch_fails_alone() -> None:
    good = reads_pb2.ReadBatch(batch_id="ok", reads=[reads_pb2.Read(
        read_id="r", camera_id="c", raw_plate="1ABC123", observed_us=500)]).SerializeToString()
    bad = good[:-3]
    first, second, third = run_intake([good, bad, good], 0, 10_000)
    assert isinstance(second, BadBatch) and "malformed" in str(second)
    for result in (first, third):
        columns, found = result
        assert columns["batch_id"] == "ok"
        assert set(found[0][0].tolist()) == {0}   # read 0 matches the listed 1ABC123 (and 1A8C123)


def test_closing_finishes_queued_batches_and_refuses_new_ones() -> None:
    data = reads_pb2.ReadBatch(batch_id="q", reads=[reads_pb2.Read(
        read_id=f"r{i}", camera_id="c", raw_plate="AB12CDE", observed_us=5) for i in range(500)]
    ).SerializeToString()

    async def scenario() -> None:
        intake = BatchIntake(KEYS.seed, ID_SEED, KEYS.ocr_table)
        futures = [intake.submit(data, 0, 10, [NEAR.core_matcher]) for _ in range(20)]
        assert intake.pending == 20 and intake.pending_bytes == 20 * len(data)
        intake.close()
        assert intake.pending_bytes == 0
        for future in futures:
            columns, found = future.result()   # settled by close(), without another loop turn
            assert columns["batch_id"] == "q" and len(found[0][0]) == 500
        with pytest.raises(RuntimeError, match="closed"):
            intake.submit(data, 0, 10, [])
        assert intake.pending == 0

    asyncio.run(scenario())


def test_a_batch_abandoned_by_its_caller_is_dropped_quietly() -> None:
    data = reads_pb2.ReadBatch(batch_id="x").SerializeToString()

    async def scenario() -> None:
        intake = BatchIntake(KEYS.seed, ID_SEED, KEYS.ocr_table)
        abandoned = intake.submit(data, 0, 1, [])
        abandoned.cancel()
        kept = await intake.submit(data, 0, 1, [])
        assert kept[0]["batch_id"] == "x"
        await asyncio.sleep(0.01)
        assert intake.pending == 0
        intake.close()

    asyncio.run(scenario())


def test_an_intake_is_bound_to_the_loop_it_first_served() -> None:
    data = reads_pb2.ReadBatch(batch_id="l").SerializeToString()
    intake = BatchIntake(KEYS.seed, ID_SEED, KEYS.ocr_table)

    async def use() -> str:
        assert intake.serves(asyncio.get_running_loop())
        columns, _ = await intake.submit(data, 0, 1, [])
        return str(columns["batch_id"])

    assert asyncio.run(use()) == "l"
    # The first loop is gone: another one is not served (the engine then starts a new intake).
    async def other() -> None:
        assert not intake.serves(asyncio.get_running_loop())
        with pytest.raises(RuntimeError, match="one event loop"):
            intake.submit(data, 0, 1, [])

    asyncio.run(other())
    intake.close()
    assert not intake.serves(asyncio.new_event_loop())


def test_ids_remembered_after_a_batch_are_duplicates_for_the_batches_handed_over_after() -> None:
    memory = _core.ReadIdMemory(1024)
    data = reads_pb2.ReadBatch(batch_id="d", reads=[reads_pb2.Read(
        read_id=f"r{i}", camera_id="c", raw_plate="AB12CDE", observed_us=5) for i in range(3)]
    ).SerializeToString()

    async def scenario() -> list[list[int]]:
        intake = BatchIntake(KEYS.seed, ID_SEED, KEYS.ocr_table)
        screen = Screen(memory=memory)
        first, _ = await intake.submit(data, 0, 10, [], screen)
        # As the engine does once the first batch's hits are committed.
        memory.remember(first["read_id_hash"][:2])
        second, _ = await intake.submit(data, 0, 10, [], screen)
        intake.close()
        return [first["problem"].tolist(), second["problem"].tolist()]

    first, second = asyncio.run(scenario())
    assert first == [0, 0, 0]
    assert second == [12, 12, 0]
    assert len(memory) == 2
