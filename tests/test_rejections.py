"""A batch acknowledgement's rejections, encoded by the core, equal messages built one by one."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from feblam.plates import STATUS_REASONS, PlateStatus
from feblam.service.retro import PackedTexts
from feblam.service.validation import ACCEPTED, ValidatedBatch, _DETAIL
from feblam.v1 import reads_pb2

_PLATE = (reads_pb2.READ_STATUS_EMPTY_PLATE, reads_pb2.READ_STATUS_PLATE_TOO_LONG,
          reads_pb2.READ_STATUS_INVALID_PLATE)


def reference(statuses: list[int], plate_statuses: list[int],
              read_ids: list[str]) -> list[reads_pb2.ReadRejection]:
    """Each read not accepted as its own message: index, id, status and the reason in words."""
    out = []
    for i, (status, plate) in enumerate(zip(statuses, plate_statuses)):
        if status == ACCEPTED:
            continue
        detail = (STATUS_REASONS.get(PlateStatus(plate), "") if status in _PLATE
                  else _DETAIL.get(status, ""))
        out.append(reads_pb2.ReadRejection(index=i, read_id=read_ids[i],
                                           status=status,  # type: ignore[arg-type]
                                           detail=detail))
    return out


def batch(statuses: list[int], plate_statuses: list[int], read_ids: PackedTexts) -> ValidatedBatch:
    n = len(statuses)
    zeros = np.zeros(n, dtype=np.uint64)
    return ValidatedBatch(
        [], read_ids, read_ids, read_ids, np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.float32), np.zeros(n, dtype="S10"),
        np.array(statuses, dtype=np.uint8), np.array(plate_statuses, dtype=np.uint8),
        np.zeros(n, dtype="S1"), zeros, zeros, zeros, zeros, np.zeros(n, dtype=np.float64),
        all_accepted=all(s == ACCEPTED for s in statuses))


rows = st.lists(st.tuples(st.sampled_from(list(reads_pb2.ReadStatus.values())),
                          st.sampled_from([int(p) for p in PlateStatus]),
                          st.text(max_size=8)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(rows, st.data())
def test_encoded_rejections_parse_to_the_messages_built_one_by_one(
        given_rows: list[tuple[int, int, str]], data: st.DataObject) -> None:
    statuses = [r[0] for r in given_rows]
    plates = [r[1] for r in given_rows]
    ids = [r[2] for r in given_rows]
    # Ids as the engine holds them: packed whole, or a subset taken from a larger column.
    if data.draw(st.booleans(), label="taken"):
        wider = ids + ["spare-ü", "x"]
        column = PackedTexts(wider).take(np.arange(len(ids)))
    else:
        column = PackedTexts(ids)
    count, encoded = batch(statuses, plates, column).rejections()
    ack = reads_pb2.BatchAck(batch_id="b", accepted=3)
    ack.MergeFromString(encoded)
    want = reference(statuses, plates, ids)
    assert count == len(want)
    assert list(ack.rejections) == want
    assert ack.batch_id == "b" and ack.accepted == 3
