# Generated from proto/feblam/v1/hits.proto; do not edit. Run proto/generate.sh.
from feblam.v1 import reads_pb2 as _reads_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MatchKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATCH_KIND_UNSPECIFIED: _ClassVar[MatchKind]
    MATCH_KIND_EXACT: _ClassVar[MatchKind]
    MATCH_KIND_RESOLVED: _ClassVar[MatchKind]
    MATCH_KIND_OCR: _ClassVar[MatchKind]
    MATCH_KIND_FUZZY: _ClassVar[MatchKind]
    MATCH_KIND_PATTERN: _ClassVar[MatchKind]
    MATCH_KIND_ZONE: _ClassVar[MatchKind]

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_INTERCEPT: _ClassVar[Action]
    ACTION_OBSERVE_DISCREETLY: _ClassVar[Action]
    ACTION_REPORT_ONLY: _ClassVar[Action]

class EditOp(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EDIT_OP_UNSPECIFIED: _ClassVar[EditOp]
    EDIT_OP_INSERTED: _ClassVar[EditOp]
    EDIT_OP_DROPPED: _ClassVar[EditOp]
    EDIT_OP_SUBSTITUTED: _ClassVar[EditOp]
MATCH_KIND_UNSPECIFIED: MatchKind
MATCH_KIND_EXACT: MatchKind
MATCH_KIND_RESOLVED: MatchKind
MATCH_KIND_OCR: MatchKind
MATCH_KIND_FUZZY: MatchKind
MATCH_KIND_PATTERN: MatchKind
MATCH_KIND_ZONE: MatchKind
ACTION_UNSPECIFIED: Action
ACTION_INTERCEPT: Action
ACTION_OBSERVE_DISCREETLY: Action
ACTION_REPORT_ONLY: Action
EDIT_OP_UNSPECIFIED: EditOp
EDIT_OP_INSERTED: EditOp
EDIT_OP_DROPPED: EditOp
EDIT_OP_SUBSTITUTED: EditOp

class ListRef(_message.Message):
    __slots__ = ("list_id", "name", "category", "version", "covert")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    COVERT_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    name: str
    category: str
    version: int
    covert: bool
    def __init__(self, list_id: _Optional[int] = ..., name: _Optional[str] = ..., category: _Optional[str] = ..., version: _Optional[int] = ..., covert: _Optional[bool] = ...) -> None: ...

class EntryRef(_message.Message):
    __slots__ = ("entry_no", "plate", "country", "reason", "reference", "valid_from_us", "valid_until_us", "fields")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ENTRY_NO_FIELD_NUMBER: _ClassVar[int]
    PLATE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_US_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_US_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    entry_no: int
    plate: str
    country: str
    reason: str
    reference: str
    valid_from_us: int
    valid_until_us: int
    fields: _containers.ScalarMap[str, str]
    def __init__(self, entry_no: _Optional[int] = ..., plate: _Optional[str] = ..., country: _Optional[str] = ..., reason: _Optional[str] = ..., reference: _Optional[str] = ..., valid_from_us: _Optional[int] = ..., valid_until_us: _Optional[int] = ..., fields: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Sighting(_message.Message):
    __slots__ = ("hit_id", "sighting_id", "read_id", "camera_id", "observed_us", "score", "priority", "integrator")
    HIT_ID_FIELD_NUMBER: _ClassVar[int]
    SIGHTING_ID_FIELD_NUMBER: _ClassVar[int]
    READ_ID_FIELD_NUMBER: _ClassVar[int]
    CAMERA_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_US_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    INTEGRATOR_FIELD_NUMBER: _ClassVar[int]
    hit_id: str
    sighting_id: str
    read_id: str
    camera_id: str
    observed_us: int
    score: float
    priority: int
    integrator: str
    def __init__(self, hit_id: _Optional[str] = ..., sighting_id: _Optional[str] = ..., read_id: _Optional[str] = ..., camera_id: _Optional[str] = ..., observed_us: _Optional[int] = ..., score: _Optional[float] = ..., priority: _Optional[int] = ..., integrator: _Optional[str] = ...) -> None: ...

class Hit(_message.Message):
    __slots__ = ("hit_id", "priority", "rank", "action", "read", "canonical_plate", "entry", "list", "match_kind", "score", "substituted_positions", "edit_op", "edit_pos", "recipients", "retroactive", "zone", "raised_us", "integrator")
    HIT_ID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_PLATE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    LIST_FIELD_NUMBER: _ClassVar[int]
    MATCH_KIND_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SUBSTITUTED_POSITIONS_FIELD_NUMBER: _ClassVar[int]
    EDIT_OP_FIELD_NUMBER: _ClassVar[int]
    EDIT_POS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    RETROACTIVE_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    RAISED_US_FIELD_NUMBER: _ClassVar[int]
    INTEGRATOR_FIELD_NUMBER: _ClassVar[int]
    hit_id: str
    priority: int
    rank: float
    action: Action
    read: _reads_pb2.Read
    canonical_plate: str
    entry: EntryRef
    list: ListRef
    match_kind: MatchKind
    score: float
    substituted_positions: _containers.RepeatedScalarFieldContainer[int]
    edit_op: EditOp
    edit_pos: int
    recipients: _containers.RepeatedScalarFieldContainer[str]
    retroactive: bool
    zone: str
    raised_us: int
    integrator: str
    def __init__(self, hit_id: _Optional[str] = ..., priority: _Optional[int] = ..., rank: _Optional[float] = ..., action: _Optional[_Union[Action, str]] = ..., read: _Optional[_Union[_reads_pb2.Read, _Mapping]] = ..., canonical_plate: _Optional[str] = ..., entry: _Optional[_Union[EntryRef, _Mapping]] = ..., list: _Optional[_Union[ListRef, _Mapping]] = ..., match_kind: _Optional[_Union[MatchKind, str]] = ..., score: _Optional[float] = ..., substituted_positions: _Optional[_Iterable[int]] = ..., edit_op: _Optional[_Union[EditOp, str]] = ..., edit_pos: _Optional[int] = ..., recipients: _Optional[_Iterable[str]] = ..., retroactive: _Optional[bool] = ..., zone: _Optional[str] = ..., raised_us: _Optional[int] = ..., integrator: _Optional[str] = ...) -> None: ...
