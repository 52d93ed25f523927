"""Hit and sighting ids: derived from what they are about, so retries never make a second one."""

from __future__ import annotations

import xxhash

_SEP = "\x1f"
# Marks a read id scoped by its integrator. Ids of an engine that does not authenticate
# integrators keep the unscoped form, so their hit ids are what they always were.
_SCOPE = "\x1e"


def read_key(read_id: str, integrator: str = "") -> str:
    """A read's identity: read ids are unique per integrator only."""
    return f"{_SCOPE}{integrator}{_SEP}{read_id}" if integrator else read_id


def hit_id(read_id: str, list_id: int, entry_no: int, zone: str = "", integrator: str = "") -> str:
    """The same read, list and entry (and zone) always give the same id, on any engine."""
    key = _SEP.join((read_key(read_id, integrator), str(list_id), str(entry_no), zone))
    return xxhash.xxh3_128_hexdigest(key.encode("utf-8"))


def sighting_id(hit: str, read_id: str, integrator: str = "") -> str:
    return xxhash.xxh3_128_hexdigest(f"{hit}{_SEP}{read_key(read_id, integrator)}".encode("utf-8"))
