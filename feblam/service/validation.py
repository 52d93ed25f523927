"""Per-read validation of a batch: every read gets a status; a bad read never fails its batch.

The serialized batch is read by the core straight into columns (no message object per read) and
checked with numpy; a Read message is parsed on its own only for the few reads that hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from feblam._native import core
from feblam.plates import STATUS_REASONS, PlateStatus
from feblam.service.errors import BadBatch
from feblam.service.retro import PackedTexts
from feblam.v1 import reads_pb2

ACCEPTED = reads_pb2.READ_STATUS_ACCEPTED
_PLATE_STATUS = {
    PlateStatus.EMPTY: reads_pb2.READ_STATUS_EMPTY_PLATE,
    PlateStatus.TOO_LONG: reads_pb2.READ_STATUS_PLATE_TOO_LONG,
    PlateStatus.CONTROL_CHARACTER: reads_pb2.READ_STATUS_INVALID_PLATE,
    PlateStatus.NOTHING_LEFT: reads_pb2.READ_STATUS_INVALID_PLATE,
    PlateStatus.INVALID_CHARACTER: reads_pb2.READ_STATUS_INVALID_PLATE,
    PlateStatus.INVALID_UTF8: reads_pb2.READ_STATUS_INVALID_PLATE,
}
_PLATE_STATUSES = np.array([reads_pb2.READ_STATUS_EMPTY_PLATE, reads_pb2.READ_STATUS_PLATE_TOO_LONG,
                            reads_pb2.READ_STATUS_INVALID_PLATE], dtype=np.uint8)
_DETAIL: dict[int, str] = {
    reads_pb2.READ_STATUS_MISSING_READ_ID: "read_id is empty",
    reads_pb2.READ_STATUS_MISSING_CAMERA: "camera_id is empty",
    reads_pb2.READ_STATUS_UNKNOWN_CAMERA: "camera is not in the camera registry",
    reads_pb2.READ_STATUS_TIME_OUT_OF_RANGE: "observed_us is missing, too old or in the future",
    reads_pb2.READ_STATUS_CONFIDENCE_OUT_OF_RANGE: "confidence is outside 0 to 1",
    reads_pb2.READ_STATUS_DUPLICATE: "read_id was already accepted",
    reads_pb2.READ_STATUS_COUNTRY_TOO_LONG: f"country is longer than {core.MAX_COUNTRY_BYTES} bytes",
    reads_pb2.READ_STATUS_CAMERA_ID_TOO_LONG:
        f"camera_id is longer than {core.MAX_CAMERA_ID_BYTES} bytes",
    reads_pb2.READ_STATUS_READ_ID_TOO_LONG: f"read_id is longer than {core.MAX_READ_ID_BYTES} bytes",
    reads_pb2.READ_STATUS_READ_TOO_LARGE: f"the read is larger than {core.MAX_READ_BYTES // 1024} KiB",
}

# A rejection's detail by code: the wire status for most, _PLATE_DETAIL + the plate status for
# plate problems (the normaliser's own reason).
_PLATE_DETAIL = 32
_DETAILS = ([_DETAIL.get(code, "").encode("utf-8") for code in range(_PLATE_DETAIL)]
            + [b""] * 32)
for _status, _reason in STATUS_REASONS.items():
    _DETAILS[_PLATE_DETAIL + int(_status)] = _reason.encode("utf-8")


class Reads(Protocol):
    """The batch's Read messages by position: a list, or WireReads."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int, /) -> reads_pb2.Read: ...


class WireReads:
    """The Reads of a serialized batch, each parsed only when asked for (the reads that hit)."""

    __slots__ = ("_data", "_begin", "_end")

    def __init__(self, data: bytes, begin: npt.NDArray[np.int64], end: npt.NDArray[np.int64]) -> None:
        self._data = data
        self._begin = begin
        self._end = end

    def __len__(self) -> int:
        return len(self._begin)

    def __getitem__(self, i: int) -> reads_pb2.Read:
        read: reads_pb2.Read = reads_pb2.Read.FromString(self.raw(i))
        return read

    def raw(self, i: int) -> bytes:
        """Read i exactly as the integrator serialized it."""
        return self._data[int(self._begin[i]):int(self._end[i])]


def read_bytes(reads: Reads, i: int) -> bytes:
    """Read i serialized: sliced from the batch when it came off the wire, else encoded."""
    if isinstance(reads, WireReads):
        return reads.raw(i)
    return bytes(reads[i].SerializeToString())


@dataclass(frozen=True)
class WireBatch:
    """A serialized ReadBatch and the columns the core read out of it."""

    data: bytes
    batch_id: str
    columns: dict[str, Any]
    integrator: str = ""  # who sent it; its read ids were hashed in that integrator's space

    def __len__(self) -> int:
        return len(self.columns["begin"])


def read_wire(data: bytes, *, plate_seed: int, id_seed: int, ocr_table: bytes,
              min_observed_us: int, max_observed_us: int, screen: Screen | None = None,
              integrator: str = "", read_scope: int = 0) -> WireBatch:
    """Columns of a serialized ReadBatch; plates hashed with plate_seed, ids with id_seed (read
    ids in the integrator's space, read_scope), and each read's problem, observed_us checked
    against the range given, cameras and read ids against the screen's registry and memory."""
    screen = screen or Screen()
    try:
        columns = core.read_batch_columns(data, plate_seed, id_seed, ocr_table,
                                          min_observed_us, max_observed_us,
                                          screen.known_cameras, screen.memory, read_scope)
    except ValueError as exc:
        raise BadBatch(str(exc)) from exc
    return WireBatch(data, str(columns["batch_id"]), columns, integrator)


# The core's per-read problem codes (intake.hpp) as wire statuses.
_STATUS_OF_PROBLEM = np.array(
    [ACCEPTED] + [_PLATE_STATUS[PlateStatus(code)] for code in range(1, 7)]
    + [reads_pb2.READ_STATUS_CONFIDENCE_OUT_OF_RANGE, reads_pb2.READ_STATUS_TIME_OUT_OF_RANGE,
       reads_pb2.READ_STATUS_MISSING_CAMERA, reads_pb2.READ_STATUS_MISSING_READ_ID,
       reads_pb2.READ_STATUS_UNKNOWN_CAMERA, reads_pb2.READ_STATUS_DUPLICATE,
       reads_pb2.READ_STATUS_COUNTRY_TOO_LONG, reads_pb2.READ_STATUS_CAMERA_ID_TOO_LONG,
       reads_pb2.READ_STATUS_READ_ID_TOO_LONG, reads_pb2.READ_STATUS_READ_TOO_LARGE],
    dtype=np.uint8)


@dataclass(frozen=True)
class Screen:
    """What the core checks each read against besides the read itself: the camera registry
    (None: any camera) and the memory of accepted read ids (None: no duplicate check)."""

    known_cameras: Any = None  # core.CameraSet
    memory: Any = None         # core.ReadIdMemory


@dataclass
class ValidatedBatch:
    """A batch's columns and per-read statuses; `accepted` indexes the reads to match.

    The hash columns are keyed: plate_hash with the retroactive buffer's secret, read_id_hash and
    camera_hash with the engine's own.
    """

    reads: Reads
    read_ids: PackedTexts
    camera_ids: PackedTexts
    countries: PackedTexts
    observed_us: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float32]
    canonical: npt.NDArray[np.bytes_]
    status: npt.NDArray[np.uint8]
    plate_status: npt.NDArray[np.uint8]
    country_column: npt.NDArray[np.bytes_]
    plate_hash: npt.NDArray[np.uint64]
    ocr_hash: npt.NDArray[np.uint64]
    read_id_hash: npt.NDArray[np.uint64]
    camera_hash: npt.NDArray[np.uint64]
    match_confidence: npt.NDArray[np.float64]
    newest_us: int = 0        # newest observed_us among accepted reads, or later
    all_accepted: bool = False  # a promise that every status is ACCEPTED (the usual batch)
    integrator: str = ""      # who sent the reads: read ids are unique per integrator

    @property
    def accepted(self) -> npt.NDArray[np.intp]:
        # The usual batch, all accepted, needs no pass over its statuses.
        if self.all_accepted:
            return np.arange(len(self.status))
        return np.flatnonzero(self.status == ACCEPTED)

    def rejections(self) -> tuple[int, bytes]:
        """How many reads were not accepted, and their ReadRejections as a serialized BatchAck's
        `rejections` field (encoded in the core, in batch order)."""
        if self.all_accepted:
            return 0, b""
        plate_problem = np.isin(self.status, _PLATE_STATUSES)
        code = np.where(plate_problem, _PLATE_DETAIL + self.plate_status.astype(np.int64),
                        self.status.astype(np.int64)).astype(np.uint8)
        blob, starts, ends = self.read_ids.columns()
        count, encoded = core.encode_rejections(self.status, code, _DETAILS, blob, starts, ends,
                                                ACCEPTED)
        return int(count), encoded


def validate(batch: WireBatch) -> ValidatedBatch:
    """Statuses of every read from the problems the core found (plate, confidence, time, ids,
    camera registry, duplicates)."""
    c = batch.columns
    problem: npt.NDArray[np.uint8] = c["problem"]
    clean = c["problems"] == 0
    status: npt.NDArray[np.uint8] = (np.full(len(problem), ACCEPTED, dtype=np.uint8) if clean
                                     else _STATUS_OF_PROBLEM[problem])
    return ValidatedBatch(WireReads(batch.data, c["begin"], c["end"]),
                          PackedTexts.packed(*c["read_ids"]), PackedTexts.packed(*c["camera_ids"]),
                          PackedTexts.packed(*c["countries"]), c["observed_us"], c["confidence"],
                          c["canonical"], status, c["plate_status"], c["country"], c["plate_hash"],
                          c["ocr_hash"], c["read_id_hash"], c["camera_hash"], c["confidence64"],
                          int(c["newest_ok_us"]), clean, batch.integrator)


class SeenReads:
    """Read ids accepted lately, as keyed hashes in the core's bounded two-generation memory.

    The core looks each batch up in it while reading the batch (Screen.memory); a batch's ids
    are remembered only once its hits are committed, so a batch that failed may be sent again.
    """

    def __init__(self, capacity: int = 2_000_000) -> None:
        self.memory = core.ReadIdMemory(max(1, capacity))

    def remember(self, read_id_hashes: npt.NDArray[np.uint64]) -> None:
        self.memory.remember(read_id_hashes)

    def __len__(self) -> int:
        return len(self.memory)
