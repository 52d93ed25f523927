"""FEBLAM's bench peers: the Python normalisation and the plain edit-distance-1 join are right."""

from __future__ import annotations

import numpy as np

from feblam.bench import peers, synth
from feblam.reference.normalise import normalise_plate


def _lev1(a: bytes, b: bytes) -> bool:
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def test_edit1_join_equals_brute_force() -> None:
    rng = np.random.default_rng(3)
    vehicles = synth.generate_vehicles(rng, 1500, synth.FormatCatalogue.build())
    rates = synth.NoiseRates(class_sub=0.2, class_sub2=0.05, other_sub=0.2, dropped=0.1, added=0.1)
    reads = synth.apply_noise(rng, vehicles.plates, vehicles.country, rates).emitted
    # Near neighbours on purpose: short plates and repeated characters.
    entries = np.concatenate([vehicles.plates[:500], np.array([b"AAB", b"AB", b"A", b"ABB"], dtype="S10")])
    reads = np.concatenate([reads, np.array([b"AB", b"ABA", b"B", b"BA", b"AAAB"], dtype="S10")])
    read, entry = peers.edit1_pairs(entries, reads)
    got = set(zip(read.tolist(), entry.tolist()))
    want = {
        (i, j)
        for i, r in enumerate(reads.tolist())
        for j, e in enumerate(entries.tolist())
        if _lev1(r, e)
    }
    assert got == want
    assert len(want) > 400


def test_python_canonical_agrees_with_the_reference_on_synthetic_reads() -> None:
    rng = np.random.default_rng(4)
    vehicles = synth.generate_vehicles(rng, 3000, synth.FormatCatalogue.build())
    reads = synth.apply_noise(rng, vehicles.plates, vehicles.country, synth.NoiseRates(lower_case=0.3))
    for raw in reads.raw.tolist():
        text = raw.decode("ascii")
        assert peers.python_canonical(text) == normalise_plate(text)[0]


def test_peers_find_what_they_index() -> None:
    plates = ["1ABC123", "GN767VX", "AB12CDE"]
    reads = ["1-abc-123", "gn 767 vx", "AB12 CDF", "XYZ"]
    exact = peers.PythonSetWatchlist(plates)
    assert exact.count_hits(reads) == 2
    assert exact.memory_bytes() > sum(len(p) for p in plates)
    near = peers.SymSpellWatchlist(plates)
    assert near.count_hits(reads) == 3
    assert near.memory_bytes() > exact.memory_bytes()
