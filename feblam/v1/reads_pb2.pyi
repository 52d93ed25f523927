# Generated from proto/feblam/v1/reads.proto; do not edit. Run proto/generate.sh.
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    DIRECTION_APPROACHING: _ClassVar[Direction]
    DIRECTION_RECEDING: _ClassVar[Direction]

class ReadStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    READ_STATUS_UNSPECIFIED: _ClassVar[ReadStatus]
    READ_STATUS_ACCEPTED: _ClassVar[ReadStatus]
    READ_STATUS_MISSING_READ_ID: _ClassVar[ReadStatus]
    READ_STATUS_EMPTY_PLATE: _ClassVar[ReadStatus]
    READ_STATUS_PLATE_TOO_LONG: _ClassVar[ReadStatus]
    READ_STATUS_INVALID_PLATE: _ClassVar[ReadStatus]
    READ_STATUS_UNKNOWN_CAMERA: _ClassVar[ReadStatus]
    READ_STATUS_TIME_OUT_OF_RANGE: _ClassVar[ReadStatus]
    READ_STATUS_DUPLICATE: _ClassVar[ReadStatus]
    READ_STATUS_CONFIDENCE_OUT_OF_RANGE: _ClassVar[ReadStatus]
    READ_STATUS_MISSING_CAMERA: _ClassVar[ReadStatus]
    READ_STATUS_COUNTRY_TOO_LONG: _ClassVar[ReadStatus]
    READ_STATUS_CAMERA_ID_TOO_LONG: _ClassVar[ReadStatus]
    READ_STATUS_READ_ID_TOO_LONG: _ClassVar[ReadStatus]
    READ_STATUS_READ_TOO_LARGE: _ClassVar[ReadStatus]

class BatchStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_STATUS_UNSPECIFIED: _ClassVar[BatchStatus]
    BATCH_STATUS_PROCESSED: _ClassVar[BatchStatus]
    BATCH_STATUS_RETRY_LATER: _ClassVar[BatchStatus]
DIRECTION_UNSPECIFIED: Direction
DIRECTION_APPROACHING: Direction
DIRECTION_RECEDING: Direction
READ_STATUS_UNSPECIFIED: ReadStatus
READ_STATUS_ACCEPTED: ReadStatus
READ_STATUS_MISSING_READ_ID: ReadStatus
READ_STATUS_EMPTY_PLATE: ReadStatus
READ_STATUS_PLATE_TOO_LONG: ReadStatus
READ_STATUS_INVALID_PLATE: ReadStatus
READ_STATUS_UNKNOWN_CAMERA: ReadStatus
READ_STATUS_TIME_OUT_OF_RANGE: ReadStatus
READ_STATUS_DUPLICATE: ReadStatus
READ_STATUS_CONFIDENCE_OUT_OF_RANGE: ReadStatus
READ_STATUS_MISSING_CAMERA: ReadStatus
READ_STATUS_COUNTRY_TOO_LONG: ReadStatus
READ_STATUS_CAMERA_ID_TOO_LONG: ReadStatus
READ_STATUS_READ_ID_TOO_LONG: ReadStatus
READ_STATUS_READ_TOO_LARGE: ReadStatus
BATCH_STATUS_UNSPECIFIED: BatchStatus
BATCH_STATUS_PROCESSED: BatchStatus
BATCH_STATUS_RETRY_LATER: BatchStatus

class Position(_message.Message):
    __slots__ = ("latitude", "longitude")
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    latitude: float
    longitude: float
    def __init__(self, latitude: _Optional[float] = ..., longitude: _Optional[float] = ...) -> None: ...

class Read(_message.Message):
    __slots__ = ("read_id", "camera_id", "observed_us", "raw_plate", "country", "confidence", "lane", "direction", "vehicle_class", "vehicle_make", "vehicle_colour", "image_ref", "position")
    READ_ID_FIELD_NUMBER: _ClassVar[int]
    CAMERA_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_US_FIELD_NUMBER: _ClassVar[int]
    RAW_PLATE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    LANE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_CLASS_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_MAKE_FIELD_NUMBER: _ClassVar[int]
    VEHICLE_COLOUR_FIELD_NUMBER: _ClassVar[int]
    IMAGE_REF_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    read_id: str
    camera_id: str
    observed_us: int
    raw_plate: str
    country: str
    confidence: float
    lane: int
    direction: Direction
    vehicle_class: str
    vehicle_make: str
    vehicle_colour: str
    image_ref: str
    position: Position
    def __init__(self, read_id: _Optional[str] = ..., camera_id: _Optional[str] = ..., observed_us: _Optional[int] = ..., raw_plate: _Optional[str] = ..., country: _Optional[str] = ..., confidence: _Optional[float] = ..., lane: _Optional[int] = ..., direction: _Optional[_Union[Direction, str]] = ..., vehicle_class: _Optional[str] = ..., vehicle_make: _Optional[str] = ..., vehicle_colour: _Optional[str] = ..., image_ref: _Optional[str] = ..., position: _Optional[_Union[Position, _Mapping]] = ...) -> None: ...

class ReadBatch(_message.Message):
    __slots__ = ("batch_id", "reads")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    READS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    reads: _containers.RepeatedCompositeFieldContainer[Read]
    def __init__(self, batch_id: _Optional[str] = ..., reads: _Optional[_Iterable[_Union[Read, _Mapping]]] = ...) -> None: ...

class ReadRejection(_message.Message):
    __slots__ = ("index", "read_id", "status", "detail")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    READ_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    index: int
    read_id: str
    status: ReadStatus
    detail: str
    def __init__(self, index: _Optional[int] = ..., read_id: _Optional[str] = ..., status: _Optional[_Union[ReadStatus, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class BatchAck(_message.Message):
    __slots__ = ("batch_id", "status", "accepted", "rejected", "rejections", "hits", "retry_after_ms")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    status: BatchStatus
    accepted: int
    rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[ReadRejection]
    hits: int
    retry_after_ms: int
    def __init__(self, batch_id: _Optional[str] = ..., status: _Optional[_Union[BatchStatus, str]] = ..., accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[ReadRejection, _Mapping]]] = ..., hits: _Optional[int] = ..., retry_after_ms: _Optional[int] = ...) -> None: ...
