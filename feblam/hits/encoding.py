"""Hits serialized from parts: what a list, an entry or a read contributes is encoded once.

A serialized protobuf message is the concatenation of its fields, in any order, so a Hit can be
written as its per-hit fields followed by the ready-made bytes of its read (sliced from the
integrator's batch), its entry and its list. Entries and lists are immutable per list version and
the same ones hit again and again, so their bytes are cached by the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from feblam.protowire import embedded
from feblam.v1 import hits_pb2
from feblam.watchlists.definitions import ListDefinition
from feblam.watchlists.files import ENTRY_COLUMNS

_READ_FIELD = hits_pb2.Hit.DESCRIPTOR.fields_by_name["read"].number


def read_field(read: bytes) -> bytes:
    """The Hit's `read` field holding an already serialized Read."""
    return embedded(_READ_FIELD, read)


def entry_field(entry: Mapping[str, Any], entry_no: int) -> bytes:
    """The Hit's `entry` field for a list entry's row (its columns as the list file gave them)."""
    ref = hits_pb2.EntryRef(
        entry_no=entry_no, plate=str(entry.get("plate") or ""),
        country=str(entry.get("country") or ""), reason=str(entry.get("reason") or ""),
        reference=str(entry.get("reference") or ""),
        valid_from_us=micros_or_zero(entry.get("valid_from")),
        valid_until_us=micros_or_zero(entry.get("valid_until")),
        fields={str(k): str(v) for k, v in entry.items()
                if k not in ENTRY_COLUMNS and v is not None})
    return bytes(hits_pb2.Hit(entry=ref).SerializeToString())


def list_field(definition: ListDefinition, version: int) -> bytes:
    """The Hit's `list` field for one version of a list."""
    ref = hits_pb2.ListRef(list_id=definition.id, name=definition.name,
                           category=definition.category.value, version=version,
                           covert=definition.covert)
    return bytes(hits_pb2.Hit(list=ref).SerializeToString())


def micros_or_zero(value: Any) -> int:
    return int(aware(value).timestamp() * 1_000_000) if value is not None else 0


def aware(value: Any) -> datetime:
    """A validity bound as an aware UTC datetime (naive means UTC; numbers are microseconds)."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1e6, timezone.utc)
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
