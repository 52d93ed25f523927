"""The core's keyed hash against its Python reference: the value of a text must never drift."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from feblam import _core
from feblam.reference.keyed import keyed_hash

seeds = st.integers(min_value=0, max_value=(1 << 64) - 1)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=80), seeds)
def test_the_core_hash_equals_the_reference(text: bytes, seed: int) -> None:
    assert _core.keyed_hash(text, seed) == keyed_hash(text, seed)


def test_every_length_and_each_byte_position_counts() -> None:
    # Each length up to five rounds, with a distinct byte at every position: a load that drops or
    # moves a byte of the tail gives another value than the reference.
    seed = 0x5EED
    for n in range(81):
        text = bytes((i * 37 + 11) % 256 for i in range(n))
        assert _core.keyed_hash(text, seed) == keyed_hash(text, seed), n
        for i in range(n):
            changed = text[:i] + bytes([text[i] ^ 0x80]) + text[i + 1:]
            assert _core.keyed_hash(changed, seed) != _core.keyed_hash(text, seed), (n, i)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), max_size=12), seeds)
def test_the_batch_hashes_are_the_single_ones(texts: list[bytes], seed: int) -> None:
    # A numpy 'S' item ends at its first trailing zero byte (plates and ids never hold one).
    width = max((len(t) for t in texts), default=1)
    column = np.array(texts, dtype=f"S{width}")
    assert _core.keyed_hashes(column, seed).tolist() == [
        keyed_hash(t.rstrip(b"\0"), seed) for t in texts]
