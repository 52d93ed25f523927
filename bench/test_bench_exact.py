"""Micro benchmarks: FEBLAM's batch match against a Python set on the same synthetic reads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from feblam.bench import synth
from feblam.bench.peers import PythonSetWatchlist, SymSpellWatchlist
from feblam.matching import ListPolicy, Matcher, MatchKind

ENTRIES = 20_000
READS = 20_000


@pytest.fixture(scope="module")
def scene() -> dict[str, Any]:
    rng = np.random.default_rng(5)
    population = synth.generate_vehicles(rng, ENTRIES + READS, synth.FormatCatalogue.build())
    traffic = synth.generate_traffic(
        rng,
        population,
        np.arange(ENTRIES, dtype=np.int64),
        np.arange(ENTRIES, ENTRIES + READS, dtype=np.int64),
        READS,
        0.01,
        synth.NoiseRates(),
    )
    plates = population.plates[:ENTRIES]
    return {
        "plates": plates,
        "traffic": traffic,
        "strings": [p.decode("ascii") for p in plates.tolist()],
        "raw": [r.decode("ascii") for r in traffic.raw.tolist()],
    }


def _feblam(scene: dict[str, Any], kinds: MatchKind) -> Matcher:
    return Matcher.build(scene["plates"], list_ids=1, policies={1: ListPolicy(kinds)})


@pytest.mark.benchmark(group="exact-20k")
def test_feblam_exact(benchmark: Any, scene: dict[str, Any]) -> None:
    matcher = _feblam(scene, MatchKind.EXACT)
    t = scene["traffic"]
    batch = benchmark(matcher.match, t.raw)
    reference = PythonSetWatchlist(scene["strings"]).count_hits(scene["raw"])
    # Without countries on either side, both find exactly the reads of listed plates.
    assert len(np.unique(batch.read)) == reference
    assert reference == np.count_nonzero(np.isin(t.emitted, scene["plates"]))


@pytest.mark.benchmark(group="exact-20k")
def test_python_set_exact(benchmark: Any, scene: dict[str, Any]) -> None:
    watchlist = PythonSetWatchlist(scene["strings"])
    hits = benchmark(watchlist.count_hits, scene["raw"])
    assert hits == np.count_nonzero(np.isin(scene["traffic"].emitted, scene["plates"]))


@pytest.mark.benchmark(group="near-20k")
def test_feblam_fuzzy(benchmark: Any, scene: dict[str, Any]) -> None:
    matcher = _feblam(scene, MatchKind.EXACT | MatchKind.OCR | MatchKind.FUZZY)
    batch = benchmark(matcher.match, scene["traffic"].raw)
    exact = _feblam(scene, MatchKind.EXACT).match(scene["traffic"].raw)
    assert set(np.unique(exact.read).tolist()) <= set(np.unique(batch.read).tolist())


@pytest.mark.benchmark(group="near-20k")
def test_symspellpy_fuzzy(benchmark: Any, scene: dict[str, Any]) -> None:
    watchlist = SymSpellWatchlist(scene["strings"])
    reads = scene["raw"][:2000]
    hits = benchmark(watchlist.count_hits, reads)
    assert hits >= PythonSetWatchlist(scene["strings"]).count_hits(reads)
