"""Per-read validation of a batch: every read gets a status; a bad read never fails its batch.

Fields are pulled out of the parsed batch column by column and checked with numpy, so the cost per
read stays a handful of attribute reads, not a Python function per read.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feblam._native import core
from feblam.plates import PlateStatus
from feblam.v1 import reads_pb2

ACCEPTED = reads_pb2.READ_STATUS_ACCEPTED
_FIELDS = operator.attrgetter("read_id", "camera_id", "country", "raw_plate", "observed_us",
                              "confidence")
_PLATE_STATUS = {
    PlateStatus.EMPTY: reads_pb2.READ_STATUS_EMPTY_PLATE,
    PlateStatus.TOO_LONG: reads_pb2.READ_STATUS_PLATE_TOO_LONG,
    PlateStatus.CONTROL_CHARACTER: reads_pb2.READ_STATUS_INVALID_PLATE,
    PlateStatus.NOTHING_LEFT: reads_pb2.READ_STATUS_INVALID_PLATE,
    PlateStatus.INVALID_CHARACTER: reads_pb2.READ_STATUS_INVALID_PLATE,
    PlateStatus.INVALID_UTF8: reads_pb2.READ_STATUS_INVALID_PLATE,
}
_PLATE_DETAIL = {
    PlateStatus.EMPTY: "plate is empty",
    PlateStatus.TOO_LONG: "plate is longer than any plate",
    PlateStatus.CONTROL_CHARACTER: "plate holds a control character",
    PlateStatus.NOTHING_LEFT: "plate has no letter or digit",
    PlateStatus.INVALID_CHARACTER: "plate holds a character that is not a plate character",
    PlateStatus.INVALID_UTF8: "plate is not valid UTF-8",
}
_DETAIL = {
    reads_pb2.READ_STATUS_MISSING_READ_ID: "read_id is empty",
    reads_pb2.READ_STATUS_MISSING_CAMERA: "camera_id is empty",
    reads_pb2.READ_STATUS_UNKNOWN_CAMERA: "camera is not in the camera registry",
    reads_pb2.READ_STATUS_TIME_OUT_OF_RANGE: "observed_us is missing, too old or in the future",
    reads_pb2.READ_STATUS_CONFIDENCE_OUT_OF_RANGE: "confidence is outside 0 to 1",
    reads_pb2.READ_STATUS_DUPLICATE: "read_id was already accepted",
}


@dataclass
class ValidatedBatch:
    """A batch's columns and per-read statuses; `accepted` indexes the reads to match."""

    reads: Sequence[reads_pb2.Read]
    read_ids: list[str]
    camera_ids: list[str]
    countries: list[str]
    observed_us: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float32]
    canonical: npt.NDArray[np.bytes_]
    status: npt.NDArray[np.uint8]
    plate_status: npt.NDArray[np.uint8]

    @property
    def accepted(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.status == ACCEPTED)

    def mark(self, index: int, status: int) -> None:
        self.status[index] = status

    def rejections(self) -> list[reads_pb2.ReadRejection]:
        out = []
        for i in np.flatnonzero(self.status != ACCEPTED).tolist():
            status = int(self.status[i])
            if status in (reads_pb2.READ_STATUS_EMPTY_PLATE, reads_pb2.READ_STATUS_PLATE_TOO_LONG,
                          reads_pb2.READ_STATUS_INVALID_PLATE):
                detail = _PLATE_DETAIL[PlateStatus(int(self.plate_status[i]))]
            else:
                detail = _DETAIL.get(status, "")  # type: ignore[call-overload]
            out.append(reads_pb2.ReadRejection(index=i, read_id=self.read_ids[i],
                                               status=status,  # type: ignore[arg-type]
                                               detail=detail))
        return out


def normalise_plates(raw: Sequence[str]) -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.uint8]]:
    """Canonical plates and PlateStatus codes of a column of raw texts, in one core call."""
    encoded = [text.encode("utf-8", "surrogatepass") for text in raw]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    canonical, status = core.normalise_column(offsets, data)
    return canonical, status


def validate(reads: Sequence[reads_pb2.Read], *, now_us: int, max_age_s: float, max_future_s: float,
             known_cameras: Collection[str] | None = None) -> ValidatedBatch:
    """Statuses of every read except DUPLICATE (the caller knows which ids it has seen)."""
    n = len(reads)
    if n == 0:
        empty = np.zeros(0, dtype=np.uint8)
        return ValidatedBatch(reads, [], [], [], np.zeros(0, dtype=np.int64),
                              np.zeros(0, dtype=np.float32), np.zeros(0, dtype="S10"), empty, empty)
    # One pass over the messages (each access makes a wrapper object), then columns.
    ids, cams, country, raw, when, conf = zip(*map(_FIELDS, reads))
    read_ids, camera_ids, countries = list(ids), list(cams), list(country)
    observed = np.array(when, dtype=np.int64)
    confidence = np.array(conf, dtype=np.float32)
    # An absent confidence reads as 0.0; it means "fully confident".
    for i in np.flatnonzero(confidence == 0).tolist():
        if not reads[i].HasField("confidence"):
            confidence[i] = 1.0
    canonical, plate_status = normalise_plates(raw)
    status = np.full(n, ACCEPTED, dtype=np.uint8)
    # Later checks overwrite earlier ones, so the first listed failure is the one reported.
    bad_plate = plate_status != PlateStatus.OK
    if bad_plate.any():
        for code in np.unique(plate_status[bad_plate]).tolist():
            status[plate_status == code] = _PLATE_STATUS[PlateStatus(code)]
    status[(confidence < 0) | (confidence > 1) | np.isnan(confidence)] = \
        reads_pb2.READ_STATUS_CONFIDENCE_OUT_OF_RANGE
    too_old = observed < now_us - int(max_age_s * 1e6)
    status[too_old | (observed > now_us + int(max_future_s * 1e6))] = \
        reads_pb2.READ_STATUS_TIME_OUT_OF_RANGE
    if known_cameras is not None:
        unknown = set(camera_ids).difference(known_cameras)
        if unknown:
            for i, camera in enumerate(camera_ids):
                if camera in unknown:
                    status[i] = reads_pb2.READ_STATUS_UNKNOWN_CAMERA
    if "" in camera_ids:
        for i, camera in enumerate(camera_ids):
            if not camera:
                status[i] = reads_pb2.READ_STATUS_MISSING_CAMERA
    if "" in read_ids:
        for i, read_id in enumerate(read_ids):
            if not read_id:
                status[i] = reads_pb2.READ_STATUS_MISSING_READ_ID
    return ValidatedBatch(reads, read_ids, camera_ids, countries, observed, confidence, canonical,
                          status, plate_status)


class SeenReads:
    """Read ids accepted lately, bounded: two generations, the older dropped when the newer fills.

    Dicts, not sets: a dict holding only strings is untracked by the cyclic garbage collector,
    so a million remembered ids add nothing to its pauses (a set would be walked every time).
    """

    def __init__(self, capacity: int = 2_000_000) -> None:
        self._half = max(1, capacity // 2)
        self._current: dict[str, None] = {}
        self._previous: dict[str, None] = {}

    def mark_duplicates(self, batch: ValidatedBatch) -> None:
        """Marks accepted reads whose id was accepted before, or earlier in the same batch."""
        accepted = batch.accepted.tolist()
        ids = [batch.read_ids[i] for i in accepted]
        current, previous = self._current, self._previous
        seen = current.keys() & ids
        if previous:
            seen |= previous.keys() & ids
        if not seen and len(set(ids)) == len(ids):
            return
        first: set[str] = set()
        for i, read_id in zip(accepted, ids):
            if read_id in seen or read_id in first:
                batch.mark(i, reads_pb2.READ_STATUS_DUPLICATE)
            else:
                first.add(read_id)

    def remember(self, read_ids: Sequence[str]) -> None:
        self._current.update(dict.fromkeys(read_ids))
        if len(self._current) >= self._half:
            self._previous = self._current
            self._current = {}
