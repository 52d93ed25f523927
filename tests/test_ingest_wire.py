"""The core's ReadBatch reader agrees with protobuf's own parser, field by field."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feblam import _core
from feblam.plates import normalise_plate
from feblam.protowire import varint
from feblam.service.retro import PlateKeys
from feblam.service.validation import SeenReads, WireReads
from feblam.v1 import reads_pb2

KEYS = PlateKeys(seed=11)
ID_SEED = 99

texts = st.text(max_size=12)
# Ids and countries around the engine's limits (128 and 16 bytes; "é" takes two).
ids = texts | st.text(alphabet="aé", min_size=63, max_size=130)
reads = st.builds(
    reads_pb2.Read,
    read_id=ids, camera_id=ids, observed_us=st.integers(-2**63, 2**63 - 1),
    raw_plate=st.text(alphabet="AB12 -?ÄÖé\u0131\u00a0xyz", max_size=14),
    country=st.text(max_size=4) | st.text(alphabet="Bé", min_size=8, max_size=17),
    confidence=st.none() | st.floats(width=32, allow_nan=True),
    lane=st.none() | st.integers(0, 2**32 - 1), direction=st.sampled_from([0, 1, 2, 7]),
    vehicle_class=texts, vehicle_make=texts, vehicle_colour=texts,
    image_ref=texts | st.builds(lambda n: "i" * n, st.integers(16_300, 16_400)),
    position=st.none() | st.builds(reads_pb2.Position, latitude=st.floats(), longitude=st.floats()))


def expected_problem(r: reads_pb2.Read, plate_status: int) -> int:
    """The intake's problem code for a read, spelled out (the last failing check wins)."""
    q = r.confidence if r.HasField("confidence") else 1.0
    checks = [(not 0 <= q <= 1, 7), (not r.camera_id, 9), (not r.read_id, 10),
              (len(r.country.encode()) > 16, 13), (len(r.camera_id.encode()) > 128, 14),
              (len(r.read_id.encode()) > 128, 15), (r.ByteSize() > 16 * 1024, 16)]
    return next((code for failed, code in reversed(checks) if failed), plate_status)


def tag(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


def columns(data: bytes) -> dict[str, Any]:
    return _core.read_batch_columns(data, KEYS.seed, ID_SEED, KEYS.ocr_table, -2**63, 2**63 - 1)


def unpack(packed: Any) -> list[str]:
    blob, ends, starts = packed
    # Texts follow one another: each starts where the one before ended.
    assert starts.tolist() == [0, *ends.tolist()][:len(ends)]
    return [blob[a:b] for a, b in zip(starts.tolist(), ends.tolist())]


@settings(max_examples=60, deadline=None)
@given(st.lists(reads, max_size=8), texts)
def test_columns_match_the_parsed_messages(batch_reads: list[reads_pb2.Read], batch_id: str) -> None:
    data = reads_pb2.ReadBatch(batch_id=batch_id, reads=batch_reads).SerializeToString()
    c = columns(data)
    parsed = reads_pb2.ReadBatch.FromString(data)
    assert c["batch_id"] == parsed.batch_id
    assert unpack(c["read_ids"]) == [r.read_id for r in parsed.reads]
    assert unpack(c["camera_ids"]) == [r.camera_id for r in parsed.reads]
    assert unpack(c["countries"]) == [r.country for r in parsed.reads]
    # A country over 16 bytes is not copied into the column (the read is refused for it).
    assert [x.decode() for x in c["country"].tolist()] == [
        "" if len(r.country.encode()) > 16 else r.country.rstrip("\0") for r in parsed.reads]
    assert c["country"].dtype.itemsize <= 16
    assert c["observed_us"].tolist() == [r.observed_us for r in parsed.reads]
    for got, r in zip(c["confidence"].tolist(), parsed.reads):
        want = r.confidence if r.HasField("confidence") else 1.0
        assert got == want or (math.isnan(got) and math.isnan(want))
    plates = [normalise_plate(r.raw_plate) for r in parsed.reads]
    assert [p.decode() for p in c["canonical"].tolist()] == [p for p, _ in plates]
    assert c["plate_status"].tolist() == [int(s) for _, s in plates]
    canonical = c["canonical"]
    assert np.array_equal(c["plate_hash"], KEYS.hashes(canonical))
    assert np.array_equal(c["ocr_hash"], KEYS.ocr_hashes(canonical))
    for problem, r, (_, plate_status) in zip(c["problem"].tolist(), parsed.reads, plates):
        assert problem == expected_problem(r, int(plate_status))
    lazy = WireReads(data, c["begin"], c["end"])
    assert [lazy[i].SerializeToString() for i in range(len(lazy))] == \
        [r.SerializeToString() for r in parsed.reads]


def test_unknown_fields_are_skipped_and_the_last_scalar_wins() -> None:
    read = reads_pb2.Read(read_id="first", camera_id="cam", raw_plate="1ABC123", observed_us=5)
    extra = reads_pb2.Read(read_id="second", observed_us=9).SerializeToString()
    unknown_varint = tag(50, 0) + varint(150)
    unknown_fixed64 = tag(51, 1) + b"\x01" * 8
    unknown_len = tag(52, 2) + varint(3) + b"abc"
    unknown_group = tag(53, 3) + tag(1, 0) + varint(7) + tag(54, 3) + tag(54, 4) + tag(53, 4)
    unknown_fixed32 = tag(55, 5) + b"\x02" * 4
    # A known field with another wire type is an unknown field to protobuf as well.
    mistyped = tag(1, 0) + varint(3)
    body = read.SerializeToString() + unknown_varint + unknown_fixed64 + unknown_len + \
        unknown_group + unknown_fixed32 + mistyped + extra
    data = tag(2, 2) + varint(len(body)) + body + unknown_varint
    parsed = reads_pb2.ReadBatch.FromString(data)
    c = columns(data)
    assert unpack(c["read_ids"]) == [parsed.reads[0].read_id] == ["second"]
    assert c["observed_us"].tolist() == [9]
    assert unpack(c["camera_ids"]) == ["cam"]


def test_a_truncated_batch_is_a_clean_error() -> None:
    data = reads_pb2.ReadBatch(batch_id="b", reads=[
        reads_pb2.Read(read_id="r1", camera_id="cam", raw_plate="1ABC123", confidence=0.5,
                       position=reads_pb2.Position(latitude=1.5))
    ]).SerializeToString()
    refused = 0
    for cut in range(1, len(data)):
        try:
            reads_pb2.ReadBatch.FromString(data[:cut])
        except Exception:
            refused += 1
            with pytest.raises(ValueError, match="malformed"):
                columns(data[:cut])
        else:
            assert unpack(columns(data[:cut])["read_ids"]) == []
    assert refused > len(data) // 2


@pytest.mark.parametrize("data", [
    bytes([(1 << 3) | 2, 2, 0xC3, 0x28]),            # batch_id that is not UTF-8
    bytes([0x00, 0x01]),                                # field number zero
    bytes([(9 << 3) | 7, 0]),                           # wire type 7
    bytes([(9 << 3) | 0]) + b"\xff" * 11,               # an eleven-byte varint
    bytes([(9 << 3) | 4]),                              # end group without a start
    bytes([(2 << 3) | 2, 4, (4 << 3) | 2, 2, 0xED, 0xA0]),  # raw_plate holding a surrogate
])
def test_malformed_batches_are_refused_as_protobuf_refuses_them(data: bytes) -> None:
    with pytest.raises(Exception):
        reads_pb2.ReadBatch.FromString(data)
    with pytest.raises(ValueError, match="malformed"):
        columns(data)


def test_read_id_memory_marks_repeats_within_and_across_batches() -> None:
    seen = SeenReads(capacity=4)
    memory = _core.ReadIdMemory(4)
    hashes = np.array([3, 4, 3, 9, 9], dtype=np.uint64)
    assert memory.duplicates(hashes).tolist() == [2, 4]
    # Capacity 4: generations of two ids; a full newer generation pushes the older one out.
    memory.remember(np.array([5, 6], dtype=np.uint64))
    memory.remember(np.array([7], dtype=np.uint64))
    assert memory.seen(np.array([5, 6, 7, 9], dtype=np.uint64)).tolist() == [True, True, True, False]
    memory.remember(np.array([8], dtype=np.uint64))
    assert memory.seen(np.array([5, 7, 8], dtype=np.uint64)).tolist() == [False, True, True]
    assert memory.duplicates(np.array([8, 5], dtype=np.uint64)).tolist() == [0]
    assert len(memory) == 2 and len(seen) == 0


class _TwoGenerations:
    """The read-id memory's contract in plain sets: ids go to the newer generation; when it holds
    half the capacity it becomes the older one, and the older one is dropped."""

    def __init__(self, capacity: int) -> None:
        self.half = max(1, capacity // 2)
        self.newer: set[int] = set()
        self.older: set[int] = set()

    def remember(self, hashes: list[int]) -> None:
        for h in hashes:
            h = h or 1   # the core keeps 0 as 1 (0 marks its empty slots)
            if h not in self.newer:
                self.newer.add(h)
                if len(self.newer) >= self.half:
                    self.older, self.newer = self.newer, set()

    def seen(self, hashes: list[int]) -> list[bool]:
        return [(h or 1) in self.newer or (h or 1) in self.older for h in hashes]

    def duplicates(self, hashes: list[int]) -> list[int]:
        earlier: set[int] = set()
        out = []
        for i, h in enumerate(hashes):
            h = h or 1
            if h in earlier or h in self.newer or h in self.older:
                out.append(i)
            earlier.add(h)
        return out


# Small ids repeat often; ids sharing their low bits all start probing in the same bucket.
_ids = st.one_of(st.integers(0, 40), st.integers(0, 40).map(lambda k: k << 40),
                 st.integers(0, 2**64 - 1))


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(1, 64),
       steps=st.lists(st.tuples(st.sampled_from(["remember", "look"]),
                                st.lists(_ids, max_size=30)), max_size=25))
def test_read_id_memory_keeps_exactly_the_two_newest_generations(
        capacity: int, steps: list[tuple[str, list[int]]]) -> None:
    memory = _core.ReadIdMemory(capacity)
    model = _TwoGenerations(capacity)
    for action, ids in steps:
        hashes = np.array(ids, dtype=np.uint64)
        if action == "remember":
            memory.remember(hashes)
            model.remember(ids)
        else:
            assert memory.seen(hashes).tolist() == model.seen(ids)
            assert memory.duplicates(hashes).tolist() == model.duplicates(ids)
        assert len(memory) == len(model.newer) + len(model.older)


def test_problems_take_the_last_failing_check_with_time_bounds_inclusive() -> None:
    def problem(read: reads_pb2.Read, low: int = 100, high: int = 200) -> int:
        data = reads_pb2.ReadBatch(reads=[read]).SerializeToString()
        return int(_core.read_batch_columns(data, 1, 2, KEYS.ocr_table, low, high)["problem"][0])

    ok: dict[str, Any] = dict(read_id="r", camera_id="c", raw_plate="1ABC123", observed_us=150)
    assert problem(reads_pb2.Read(**ok)) == 0
    assert problem(reads_pb2.Read(**{**ok, "observed_us": 100})) == 0
    assert problem(reads_pb2.Read(**{**ok, "observed_us": 200})) == 0
    assert problem(reads_pb2.Read(**{**ok, "observed_us": 99})) == 8
    assert problem(reads_pb2.Read(**{**ok, "observed_us": 201, "confidence": 2.0})) == 8
    assert problem(reads_pb2.Read(**{**ok, "confidence": float("nan")})) == 7
    assert problem(reads_pb2.Read(**{**ok, "raw_plate": "", "confidence": 0.0})) == 1
    assert problem(reads_pb2.Read(**{**ok, "camera_id": "", "observed_us": 5})) == 9
    assert problem(reads_pb2.Read(**{**ok, "camera_id": "", "read_id": ""})) == 10


def test_problem_count_and_newest_time_cover_only_reads_without_problems() -> None:
    reads = [reads_pb2.Read(read_id="a", camera_id="c", raw_plate="1ABC123", observed_us=150),
             reads_pb2.Read(read_id="b", camera_id="c", raw_plate="1ABC123", observed_us=170),
             reads_pb2.Read(read_id="c", camera_id="c", raw_plate="1ABC123", observed_us=500),
             reads_pb2.Read(read_id="", camera_id="c", raw_plate="1ABC123", observed_us=190)]
    data = reads_pb2.ReadBatch(reads=reads).SerializeToString()
    c = _core.read_batch_columns(data, 1, 2, KEYS.ocr_table, 100, 200)
    assert c["problems"] == 2 and c["newest_ok_us"] == 170
    assert c["confidence64"].dtype == np.float64 and c["confidence64"].tolist() == [1.0] * 4


# Reads that differ in what the screen looks at: a few ids and cameras, some problems of their own.
screened_reads = st.builds(
    reads_pb2.Read, read_id=st.sampled_from(["", "r1", "r2", "r3", "r4"]),
    camera_id=st.sampled_from(["", "c1", "c2", "c3"]),
    raw_plate=st.sampled_from(["1ABC123", "", "AB12CDE", "X" * 20]),
    observed_us=st.sampled_from([50, 150]), confidence=st.none() | st.sampled_from([0.5, 1.5]))


def _screen_reference(reads: list[reads_pb2.Read], problems: list[int], known: set[str] | None,
                      remembered: set[str]) -> list[int]:
    """The screen spelled out read by read: an unknown camera replaces problems 0-8; then a
    read with no problem whose id was remembered, or seen on an earlier read with no problem,
    is a duplicate."""
    out = list(problems)
    if known is not None:
        for i, r in enumerate(reads):
            if out[i] < 9 and r.camera_id not in known:
                out[i] = 11
    seen = set(remembered)
    for i, r in enumerate(reads):
        if out[i] == 0:
            if r.read_id in seen:
                out[i] = 12
            seen.add(r.read_id)
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(screened_reads, max_size=12), st.none() | st.sets(st.sampled_from(["c1", "c2"])),
       st.sets(st.sampled_from(["r1", "r2", "r9"])))
def test_the_screen_marks_unknown_cameras_and_repeated_ids_as_spelled_out(
        reads: list[reads_pb2.Read], known: set[str] | None, remembered: set[str]) -> None:
    data = reads_pb2.ReadBatch(reads=reads).SerializeToString()
    plain = _core.read_batch_columns(data, KEYS.seed, ID_SEED, KEYS.ocr_table, 100, 200)
    memory = _core.ReadIdMemory(64)
    memory.remember(np.array([_core.keyed_hash(r.encode(), ID_SEED) for r in sorted(remembered)],
                             dtype=np.uint64))
    cameras = None if known is None else _core.CameraSet(np.array(
        [_core.keyed_hash(c.encode(), ID_SEED) for c in sorted(known)], dtype=np.uint64))
    screened = _core.read_batch_columns(data, KEYS.seed, ID_SEED, KEYS.ocr_table, 100, 200,
                                        cameras, memory)
    want = _screen_reference(reads, plain["problem"].tolist(), known, remembered)
    assert screened["problem"].tolist() == want
    assert screened["problems"] == sum(1 for p in want if p)
    # Looking up is not remembering.
    assert len(memory) == len(remembered)
