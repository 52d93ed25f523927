# Generated from proto/feblam/v1/admin.proto; do not edit. Run proto/generate.sh.
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChangeReason(_message.Message):
    __slots__ = ("why",)
    WHY_FIELD_NUMBER: _ClassVar[int]
    why: str
    def __init__(self, why: _Optional[str] = ...) -> None: ...

class ListSource(_message.Message):
    __slots__ = ("server_path", "content", "file_name")
    SERVER_PATH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    server_path: str
    content: bytes
    file_name: str
    def __init__(self, server_path: _Optional[str] = ..., content: _Optional[bytes] = ..., file_name: _Optional[str] = ...) -> None: ...

class RejectedRow(_message.Message):
    __slots__ = ("line", "field", "reason")
    LINE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    line: int
    field: str
    reason: str
    def __init__(self, line: _Optional[int] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ValidationReport(_message.Message):
    __slots__ = ("source", "checksum", "rows", "valid", "rejected", "refused", "rejected_by_reason", "rejected_rows")
    class RejectedByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    REJECTED_ROWS_FIELD_NUMBER: _ClassVar[int]
    source: str
    checksum: str
    rows: int
    valid: int
    rejected: int
    refused: str
    rejected_by_reason: _containers.ScalarMap[str, int]
    rejected_rows: _containers.RepeatedCompositeFieldContainer[RejectedRow]
    def __init__(self, source: _Optional[str] = ..., checksum: _Optional[str] = ..., rows: _Optional[int] = ..., valid: _Optional[int] = ..., rejected: _Optional[int] = ..., refused: _Optional[str] = ..., rejected_by_reason: _Optional[_Mapping[str, int]] = ..., rejected_rows: _Optional[_Iterable[_Union[RejectedRow, _Mapping]]] = ...) -> None: ...

class ListVersion(_message.Message):
    __slots__ = ("list_id", "version", "origin", "source", "checksum", "entries", "rejected", "actor", "why", "created_utc", "parent")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    WHY_FIELD_NUMBER: _ClassVar[int]
    CREATED_UTC_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    version: int
    origin: str
    source: str
    checksum: str
    entries: int
    rejected: int
    actor: str
    why: str
    created_utc: float
    parent: int
    def __init__(self, list_id: _Optional[int] = ..., version: _Optional[int] = ..., origin: _Optional[str] = ..., source: _Optional[str] = ..., checksum: _Optional[str] = ..., entries: _Optional[int] = ..., rejected: _Optional[int] = ..., actor: _Optional[str] = ..., why: _Optional[str] = ..., created_utc: _Optional[float] = ..., parent: _Optional[int] = ...) -> None: ...

class ListDefinition(_message.Message):
    __slots__ = ("list_id", "name", "category", "priority", "action", "covert", "recipients", "kinds", "min_score", "near_max_confidence", "suppression_s", "zone", "fuzzy_max_confidence")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    COVERT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    NEAR_MAX_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_S_FIELD_NUMBER: _ClassVar[int]
    ZONE_FIELD_NUMBER: _ClassVar[int]
    FUZZY_MAX_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    name: str
    category: str
    priority: int
    action: str
    covert: bool
    recipients: _containers.RepeatedScalarFieldContainer[str]
    kinds: _containers.RepeatedScalarFieldContainer[str]
    min_score: float
    near_max_confidence: float
    suppression_s: int
    zone: str
    fuzzy_max_confidence: float
    def __init__(self, list_id: _Optional[int] = ..., name: _Optional[str] = ..., category: _Optional[str] = ..., priority: _Optional[int] = ..., action: _Optional[str] = ..., covert: _Optional[bool] = ..., recipients: _Optional[_Iterable[str]] = ..., kinds: _Optional[_Iterable[str]] = ..., min_score: _Optional[float] = ..., near_max_confidence: _Optional[float] = ..., suppression_s: _Optional[int] = ..., zone: _Optional[str] = ..., fuzzy_max_confidence: _Optional[float] = ...) -> None: ...

class LoadListRequest(_message.Message):
    __slots__ = ("list_id", "source", "reason", "check_only")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHECK_ONLY_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    source: ListSource
    reason: ChangeReason
    check_only: bool
    def __init__(self, list_id: _Optional[int] = ..., source: _Optional[_Union[ListSource, _Mapping]] = ..., reason: _Optional[_Union[ChangeReason, _Mapping]] = ..., check_only: _Optional[bool] = ...) -> None: ...

class LoadListResponse(_message.Message):
    __slots__ = ("loaded", "version", "report")
    LOADED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    loaded: bool
    version: ListVersion
    report: ValidationReport
    def __init__(self, loaded: _Optional[bool] = ..., version: _Optional[_Union[ListVersion, _Mapping]] = ..., report: _Optional[_Union[ValidationReport, _Mapping]] = ...) -> None: ...

class DeltaEntry(_message.Message):
    __slots__ = ("plate", "country", "reason", "reference", "valid_from", "valid_until", "fields")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PLATE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    plate: str
    country: str
    reason: str
    reference: str
    valid_from: str
    valid_until: str
    fields: _containers.ScalarMap[str, str]
    def __init__(self, plate: _Optional[str] = ..., country: _Optional[str] = ..., reason: _Optional[str] = ..., reference: _Optional[str] = ..., valid_from: _Optional[str] = ..., valid_until: _Optional[str] = ..., fields: _Optional[_Mapping[str, str]] = ...) -> None: ...

class DeltaRemoval(_message.Message):
    __slots__ = ("plate", "country")
    PLATE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    plate: str
    country: str
    def __init__(self, plate: _Optional[str] = ..., country: _Optional[str] = ...) -> None: ...

class ApplyDeltaRequest(_message.Message):
    __slots__ = ("list_id", "add", "remove", "reason")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    ADD_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    add: _containers.RepeatedCompositeFieldContainer[DeltaEntry]
    remove: _containers.RepeatedCompositeFieldContainer[DeltaRemoval]
    reason: ChangeReason
    def __init__(self, list_id: _Optional[int] = ..., add: _Optional[_Iterable[_Union[DeltaEntry, _Mapping]]] = ..., remove: _Optional[_Iterable[_Union[DeltaRemoval, _Mapping]]] = ..., reason: _Optional[_Union[ChangeReason, _Mapping]] = ...) -> None: ...

class ApplyDeltaResponse(_message.Message):
    __slots__ = ("applied", "version", "report", "removed")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    version: ListVersion
    report: ValidationReport
    removed: int
    def __init__(self, applied: _Optional[bool] = ..., version: _Optional[_Union[ListVersion, _Mapping]] = ..., report: _Optional[_Union[ValidationReport, _Mapping]] = ..., removed: _Optional[int] = ...) -> None: ...

class ListListsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListListsResponse(_message.Message):
    __slots__ = ("lists",)
    class Item(_message.Message):
        __slots__ = ("definition", "serving")
        DEFINITION_FIELD_NUMBER: _ClassVar[int]
        SERVING_FIELD_NUMBER: _ClassVar[int]
        definition: ListDefinition
        serving: ListVersion
        def __init__(self, definition: _Optional[_Union[ListDefinition, _Mapping]] = ..., serving: _Optional[_Union[ListVersion, _Mapping]] = ...) -> None: ...
    LISTS_FIELD_NUMBER: _ClassVar[int]
    lists: _containers.RepeatedCompositeFieldContainer[ListListsResponse.Item]
    def __init__(self, lists: _Optional[_Iterable[_Union[ListListsResponse.Item, _Mapping]]] = ...) -> None: ...

class ShowListRequest(_message.Message):
    __slots__ = ("list_id",)
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    def __init__(self, list_id: _Optional[int] = ...) -> None: ...

class ShowListResponse(_message.Message):
    __slots__ = ("definition", "versions", "serving_version")
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    SERVING_VERSION_FIELD_NUMBER: _ClassVar[int]
    definition: ListDefinition
    versions: _containers.RepeatedCompositeFieldContainer[ListVersion]
    serving_version: int
    def __init__(self, definition: _Optional[_Union[ListDefinition, _Mapping]] = ..., versions: _Optional[_Iterable[_Union[ListVersion, _Mapping]]] = ..., serving_version: _Optional[int] = ...) -> None: ...

class DiffVersionsRequest(_message.Message):
    __slots__ = ("list_id", "from_version", "to_version")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    from_version: int
    to_version: int
    def __init__(self, list_id: _Optional[int] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ...) -> None: ...

class DiffVersionsResponse(_message.Message):
    __slots__ = ("added", "removed", "unchanged")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    added: int
    removed: int
    unchanged: int
    def __init__(self, added: _Optional[int] = ..., removed: _Optional[int] = ..., unchanged: _Optional[int] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ("list_id", "version", "reason")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    version: int
    reason: ChangeReason
    def __init__(self, list_id: _Optional[int] = ..., version: _Optional[int] = ..., reason: _Optional[_Union[ChangeReason, _Mapping]] = ...) -> None: ...

class RollbackResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: ListVersion
    def __init__(self, version: _Optional[_Union[ListVersion, _Mapping]] = ...) -> None: ...

class LoadZonesRequest(_message.Message):
    __slots__ = ("zones", "cameras", "reason")
    ZONES_FIELD_NUMBER: _ClassVar[int]
    CAMERAS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    zones: ListSource
    cameras: ListSource
    reason: ChangeReason
    def __init__(self, zones: _Optional[_Union[ListSource, _Mapping]] = ..., cameras: _Optional[_Union[ListSource, _Mapping]] = ..., reason: _Optional[_Union[ChangeReason, _Mapping]] = ...) -> None: ...

class LoadZonesResponse(_message.Message):
    __slots__ = ("zones", "cameras")
    ZONES_FIELD_NUMBER: _ClassVar[int]
    CAMERAS_FIELD_NUMBER: _ClassVar[int]
    zones: _containers.RepeatedScalarFieldContainer[str]
    cameras: int
    def __init__(self, zones: _Optional[_Iterable[str]] = ..., cameras: _Optional[int] = ...) -> None: ...
