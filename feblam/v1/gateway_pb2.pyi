# Generated from proto/feblam/v1/gateway.proto; do not edit. Run proto/generate.sh.
from feblam.v1 import hits_pb2 as _hits_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_CONFIRMED: _ClassVar[Decision]
    DECISION_MISREAD: _ClassVar[Decision]
    DECISION_NOT_FOUND: _ClassVar[Decision]
    DECISION_LISTING_OUTDATED: _ClassVar[Decision]
    DECISION_NO_ACTION: _ClassVar[Decision]
DECISION_UNSPECIFIED: Decision
DECISION_CONFIRMED: Decision
DECISION_MISREAD: Decision
DECISION_NOT_FOUND: Decision
DECISION_LISTING_OUTDATED: Decision
DECISION_NO_ACTION: Decision

class HitBatch(_message.Message):
    __slots__ = ("sequence", "hits", "sightings")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    SIGHTINGS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    hits: _containers.RepeatedCompositeFieldContainer[_hits_pb2.Hit]
    sightings: _containers.RepeatedCompositeFieldContainer[_hits_pb2.Sighting]
    def __init__(self, sequence: _Optional[int] = ..., hits: _Optional[_Iterable[_Union[_hits_pb2.Hit, _Mapping]]] = ..., sightings: _Optional[_Iterable[_Union[_hits_pb2.Sighting, _Mapping]]] = ...) -> None: ...

class PublishAck(_message.Message):
    __slots__ = ("sequence", "stored", "duplicates")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    stored: int
    duplicates: int
    def __init__(self, sequence: _Optional[int] = ..., stored: _Optional[int] = ..., duplicates: _Optional[int] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("recipients", "list_ids", "max_priority", "backlog")
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    LIST_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    recipients: _containers.RepeatedScalarFieldContainer[str]
    list_ids: _containers.RepeatedScalarFieldContainer[int]
    max_priority: int
    backlog: bool
    def __init__(self, recipients: _Optional[_Iterable[str]] = ..., list_ids: _Optional[_Iterable[int]] = ..., max_priority: _Optional[int] = ..., backlog: _Optional[bool] = ...) -> None: ...

class DeliveredHit(_message.Message):
    __slots__ = ("hit", "received_us", "trail")
    HIT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_US_FIELD_NUMBER: _ClassVar[int]
    TRAIL_FIELD_NUMBER: _ClassVar[int]
    hit: _hits_pb2.Hit
    received_us: int
    trail: _containers.RepeatedCompositeFieldContainer[_hits_pb2.Sighting]
    def __init__(self, hit: _Optional[_Union[_hits_pb2.Hit, _Mapping]] = ..., received_us: _Optional[int] = ..., trail: _Optional[_Iterable[_Union[_hits_pb2.Sighting, _Mapping]]] = ...) -> None: ...

class DeliveredSighting(_message.Message):
    __slots__ = ("sighting", "received_us")
    SIGHTING_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_US_FIELD_NUMBER: _ClassVar[int]
    sighting: _hits_pb2.Sighting
    received_us: int
    def __init__(self, sighting: _Optional[_Union[_hits_pb2.Sighting, _Mapping]] = ..., received_us: _Optional[int] = ...) -> None: ...

class DeliveredHits(_message.Message):
    __slots__ = ("hits", "sightings")
    HITS_FIELD_NUMBER: _ClassVar[int]
    SIGHTINGS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[DeliveredHit]
    sightings: _containers.RepeatedCompositeFieldContainer[DeliveredSighting]
    def __init__(self, hits: _Optional[_Iterable[_Union[DeliveredHit, _Mapping]]] = ..., sightings: _Optional[_Iterable[_Union[DeliveredSighting, _Mapping]]] = ...) -> None: ...

class AcknowledgeRequest(_message.Message):
    __slots__ = ("hit_id", "decision", "operator", "note")
    HIT_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    hit_id: str
    decision: Decision
    operator: str
    note: str
    def __init__(self, hit_id: _Optional[str] = ..., decision: _Optional[_Union[Decision, str]] = ..., operator: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class AcknowledgeResponse(_message.Message):
    __slots__ = ("recorded", "decisions")
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    recorded: bool
    decisions: int
    def __init__(self, recorded: _Optional[bool] = ..., decisions: _Optional[int] = ...) -> None: ...
