"""Micro benchmark of a batch acknowledgement for 1,000 rejected reads (a camera sending
garbage): the core's one-pass encoding against one ReadRejection message per read."""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from feblam.plates import STATUS_REASONS, PlateStatus
from feblam.service.retro import PlateKeys
from feblam.service.validation import ACCEPTED, ValidatedBatch, read_wire, validate
from feblam.v1 import reads_pb2

KEYS = PlateKeys(seed=5)


@pytest.fixture(scope="module")
def garbage() -> ValidatedBatch:
    batch = reads_pb2.ReadBatch(batch_id="g", reads=[
        reads_pb2.Read(read_id=f"cam-7-{i:06d}", camera_id="cam-7", raw_plate="", observed_us=5)
        for i in range(1000)])
    wire = read_wire(batch.SerializeToString(), plate_seed=KEYS.seed, id_seed=7,
                     ocr_table=KEYS.ocr_table, min_observed_us=0, max_observed_us=10)
    return validate(wire)


@pytest.mark.benchmark(group="ack-1000-rejected")
def test_ack_rejections_encoded(benchmark: BenchmarkFixture, garbage: ValidatedBatch) -> None:
    def ack() -> bytes:
        count, encoded = garbage.rejections()
        out = reads_pb2.BatchAck(batch_id="g", rejected=count)
        out.MergeFromString(encoded)
        return out.SerializeToString()
    assert len(reads_pb2.BatchAck.FromString(benchmark(ack)).rejections) == 1000


@pytest.mark.benchmark(group="ack-1000-rejected")
def test_ack_rejections_as_messages(benchmark: BenchmarkFixture, garbage: ValidatedBatch) -> None:
    # The baseline: what the engine did before, a message per rejected read.
    def ack() -> bytes:
        rejections = [
            reads_pb2.ReadRejection(index=i, read_id=garbage.read_ids[i],
                                    status=int(garbage.status[i]),  # type: ignore[arg-type]
                                    detail=STATUS_REASONS[PlateStatus(int(garbage.plate_status[i]))])
            for i in range(len(garbage.status)) if garbage.status[i] != ACCEPTED]
        return reads_pb2.BatchAck(batch_id="g", rejected=len(rejections),
                                  rejections=rejections).SerializeToString()
    assert len(reads_pb2.BatchAck.FromString(benchmark(ack)).rejections) == 1000
