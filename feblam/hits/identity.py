"""Hit and sighting ids: derived from what they are about, so retries never make a second one."""

from __future__ import annotations

import xxhash

_SEP = "\x1f"


def hit_id(read_id: str, list_id: int, entry_no: int, zone: str = "") -> str:
    """The same read, list and entry (and zone) always give the same id, on any engine."""
    key = _SEP.join((read_id, str(list_id), str(entry_no), zone))
    return xxhash.xxh3_128_hexdigest(key.encode("utf-8"))


def sighting_id(hit: str, read_id: str) -> str:
    return xxhash.xxh3_128_hexdigest(f"{hit}{_SEP}{read_id}".encode("utf-8"))
