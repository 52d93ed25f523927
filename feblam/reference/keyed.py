"""The core's keyed hash of short texts (read ids, camera ids, plates), word by word in Python.

Read-id memory, the camera registry and the retroactive buffer all compare these hashes, so the
core's value for a text must never drift: the property tests hold it to this reference.
"""

from __future__ import annotations

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def _mix_key(x: int) -> int:
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def _mix(x: int) -> int:
    x ^= x >> 31
    x = (x * 0x7FB5D329728EA185) & MASK
    x ^= x >> 27
    x = (x * 0x81DADEF4BC2DD44D) & MASK
    return x ^ (x >> 33)


def _fold(a: int, b: int) -> int:
    product = a * b
    return (product & MASK) ^ (product >> 64)


def hash_key(seed: int) -> tuple[int, int]:
    """The two key words a seed gives (two golden-ratio steps, each mixed)."""
    state = (seed + GOLDEN) & MASK
    k0 = _mix_key(state)
    state = (state + GOLDEN) & MASK
    return k0, _mix_key(state)


def keyed_hash(text: bytes, seed: int) -> int:
    k0, k1 = hash_key(seed)
    n = len(text)
    h = k0 ^ ((n * GOLDEN) & MASK)
    i = 0
    while True:
        # Sixteen bytes a round as two little-endian words, zero past the end.
        a = int.from_bytes(text[i:i + 8], "little")
        b = int.from_bytes(text[i + 8:i + 16], "little")
        h = _fold(a ^ k1 ^ h, b ^ k0)
        i += 16
        if i >= n:
            break
    return _mix(_fold(h ^ k1, n ^ k0 ^ 0xE7037ED1A0B428DB))
