"""Protobuf's wire format for the few fields FEBLAM writes by hand: varints and embedded bytes.

Hits, deliveries and console messages are put together from parts already serialized (a read
sliced from its batch, a hit as the engine stored it), which protobuf's API can only take by
parsing them first.
"""

from __future__ import annotations

_LENGTH_DELIMITED = 2


def varint(value: int) -> bytes:
    """A non-negative integer in protobuf's base-128 wire encoding."""
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


# Varints of the lengths hits, reads and sightings have, made once: embedding is done for every
# hit twice (its read, then the hit in a delivery) and building a varint costs more than a lookup.
_SMALL_VARINTS = [varint(n) for n in range(1 << 14)]


def _length(n: int) -> bytes:
    return _SMALL_VARINTS[n] if n < len(_SMALL_VARINTS) else varint(n)


def embedded(field_number: int, message: bytes) -> bytes:
    """A field holding an already serialized message (or bytes): tag, length, the bytes."""
    return b"".join((_length(field_number << 3 | _LENGTH_DELIMITED), _length(len(message)), message))
