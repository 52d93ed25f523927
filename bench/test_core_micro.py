"""Micro benchmarks of the batch matcher, each group with a Python baseline measured alongside."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from feblam.matching import ListPolicy, Matcher, MatchKind

ENTRIES = 1_000_000
READS = 200_000
ALPHABET = np.frombuffer(b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789", dtype="S1")


def plates(rng: np.random.Generator, n: int) -> npt.NDArray[np.bytes_]:
    return rng.choice(ALPHABET, size=(n, 7)).view("S7").ravel().copy()


@pytest.fixture(scope="module")
def traffic() -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.bytes_]]:
    rng = np.random.default_rng(11)
    entries = plates(rng, ENTRIES)
    reads = plates(rng, READS)
    reads[::1000] = entries[: len(reads[::1000])]  # about 0.1% hits, as on the road
    return entries, reads


@pytest.mark.benchmark(group="exact")
def test_exact_core(benchmark: BenchmarkFixture, traffic: tuple[np.ndarray, np.ndarray]) -> None:
    entries, reads = traffic
    matcher = Matcher.build(entries, list_ids=1, policies={1: ListPolicy(MatchKind.EXACT)})
    found = benchmark(matcher.match, reads)
    assert len(found) >= READS // 1000


@pytest.mark.benchmark(group="exact")
def test_exact_python_set(benchmark: BenchmarkFixture, traffic: tuple[np.ndarray, np.ndarray]) -> None:
    entries, reads = traffic
    listed = set(entries.tolist())
    texts = reads.tolist()
    hits = benchmark(lambda: [i for i, r in enumerate(texts) if r in listed])
    assert len(hits) >= READS // 1000


@pytest.mark.benchmark(group="near")
def test_exact_ocr_fuzzy_core(benchmark: BenchmarkFixture, traffic: tuple[np.ndarray, np.ndarray]) -> None:
    entries, reads = traffic
    kinds = MatchKind.EXACT | MatchKind.OCR | MatchKind.FUZZY
    matcher = Matcher.build(entries, list_ids=1, policies={1: ListPolicy(kinds)})
    found = benchmark(matcher.match, reads)
    assert len(found) >= READS // 1000


@pytest.mark.benchmark(group="near")
def test_near_python_set_of_keys(benchmark: BenchmarkFixture, traffic: tuple[np.ndarray, np.ndarray]) -> None:
    # The cheapest Python near matcher: a set of one-deletion keys, no verification.
    entries, reads = traffic
    keys: set[bytes] = set()
    for e in entries[:100_000].tolist():
        keys.add(e)
        keys.update(e[:i] + e[i + 1 :] for i in range(len(e)))
    texts = reads.tolist()

    def near() -> int:
        return sum(
            1 for r in texts if r in keys or any(r[:i] + r[i + 1 :] in keys for i in range(len(r)))
        )

    assert benchmark(near) >= READS // 1000
