"""`feblam bench core`: throughput, build time and memory of FEBLAM and its peers on one watchlist."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from feblam.bench import peers, synth
from feblam.matching import ListPolicy, Matcher, MatchKind

LIST_ID = 1
POLICIES: dict[str, MatchKind] = {
    "exact": MatchKind.EXACT,
    "fuzzy": MatchKind.EXACT | MatchKind.OCR | MatchKind.FUZZY,
    "fuzzy-gated": MatchKind.EXACT | MatchKind.OCR | MatchKind.FUZZY,
}
# The gates the quality bench deploys (near matches at confidence <= 0.7 or format doubt, FUZZY
# at <= 0.2): the same policy as "fuzzy", as a deployment would run it. Ungated "fuzzy" does
# every near probe for every read, the work symspellpy does.
GATES: dict[str, tuple[float, float]] = {"fuzzy-gated": (0.7, 0.2)}


@dataclass(frozen=True)
class CoreConfig:
    """One run of the core bench."""

    entries: int = 1_000_000
    reads: int = 1_000_000
    seed: int = 20240611
    threads: int = 1
    policy: str = "both"  # exact | fuzzy | both
    repeat: int = 3
    hit_share: float = 0.001
    entry_country_share: float = 0.6
    peers: bool = True
    symspell_entries: int = 100_000
    symspell_reads: int = 20_000


@dataclass
class Workload:
    """The list and the reads every contestant gets."""

    plates: np.ndarray[Any, Any]
    countries: np.ndarray[Any, Any]
    traffic: synth.Traffic
    generate_s: float


def make_workload(config: CoreConfig) -> Workload:
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    catalogue = synth.FormatCatalogue.build()
    population = synth.generate_vehicles(rng, config.entries + config.reads, catalogue)
    listed = population.take(np.arange(config.entries))
    countries = listed.country_codes()
    countries[rng.random(config.entries) >= config.entry_country_share] = b""
    traffic = synth.generate_traffic(
        rng,
        population,
        np.arange(config.entries, dtype=np.int64),
        np.arange(config.entries, len(population), dtype=np.int64),
        config.reads,
        config.hit_share,
        synth.NoiseRates(),
    )
    return Workload(listed.plates, countries, traffic, time.perf_counter() - start)


def _timed(run: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return times, result


def _row(name: str, entries: int, reads: int, build: list[float], match: list[float], nbytes: int) -> dict[str, Any]:
    median = statistics.median(match)
    return {
        "name": name,
        "entries": entries,
        "reads_timed": reads,
        "reads_per_s": reads / median if median > 0 else float("inf"),
        "median": median,
        "match_s": match,
        "build_s": statistics.median(build),
        "build_runs": len(build),
        "memory_bytes": nbytes,
        "bytes_per_entry": nbytes / entries if entries else 0.0,
    }


def bench_feblam(config: CoreConfig, work: Workload, policy: str) -> dict[str, Any]:
    near, fuzzy = GATES.get(policy, (1.0, 1.0))
    policies = {LIST_ID: ListPolicy(POLICIES[policy], near_max_confidence=near, fuzzy_max_confidence=fuzzy)}

    def build() -> Matcher:
        return Matcher.build(
            work.plates, list_ids=LIST_ID, policies=policies, countries=work.countries
        )

    build_times, matcher = _timed(build, config.repeat)
    t = work.traffic
    match_times, batch = _timed(
        lambda: matcher.match(t.raw, t.country, t.confidence, threads=config.threads), config.repeat
    )
    row = _row(f"feblam-{policy}", config.entries, len(t), build_times, match_times, int(matcher.memory_bytes))
    row["core_build_s"] = float(matcher.report.build_s)
    # The exact index alone (filter + hash index); bytes_per_entry above is the whole matcher,
    # including per-entry list, country and entry-number columns.
    row["exact_index_bytes_per_entry"] = int(matcher.exact_index_bytes) / config.entries
    row["hits"] = int(len(np.unique(batch.read)))
    row["matches"] = int(len(batch))
    row["policy"] = "|".join(str(k.name) for k in MatchKind if k & POLICIES[policy])
    row["threads"] = config.threads
    return row


def bench_python_set(config: CoreConfig, work: Workload) -> dict[str, Any]:
    start = time.perf_counter()
    watchlist = peers.PythonSetWatchlist([p.decode("ascii") for p in work.plates.tolist()])
    build_s = time.perf_counter() - start
    nbytes = watchlist.memory_bytes()
    reads = [r.decode("ascii") for r in work.traffic.raw.tolist()]
    match_times, hits = _timed(lambda: watchlist.count_hits(reads), config.repeat)
    row = _row("python-set", config.entries, len(reads), [build_s], match_times, nbytes)
    row["hits"] = int(hits)
    row["note"] = "exact only; Python case fold and separator removal per read; memory is the set plus its strings (sys.getsizeof)"
    del watchlist
    return row


def bench_symspellpy(config: CoreConfig, work: Workload) -> dict[str, Any]:
    entries = min(config.entries, config.symspell_entries)
    n_reads = min(len(work.traffic), config.symspell_reads)
    plates = [p.decode("ascii") for p in work.plates[:entries].tolist()]
    start = time.perf_counter()
    watchlist = peers.SymSpellWatchlist(plates)
    build_s = time.perf_counter() - start
    nbytes = watchlist.memory_bytes()
    reads = [r.decode("ascii") for r in work.traffic.raw[:n_reads].tolist()]
    match_times, hits = _timed(lambda: watchlist.count_hits(reads), config.repeat)
    row = _row("symspellpy", entries, n_reads, [build_s], match_times, nbytes)
    row["hits"] = int(hits)
    notes = ["max edit distance 1, Verbosity.ALL; memory is its dictionaries, keys, lists and strings (sys.getsizeof)"]
    if entries < config.entries:
        notes.append(f"list capped at {entries} of {config.entries} entries (--symspell-entries)")
    if n_reads < len(work.traffic):
        notes.append(f"timed on the first {n_reads} of {len(work.traffic)} reads (--symspell-reads)")
    row["note"] = "; ".join(notes)
    del watchlist
    return row


def _target(value: float | None, goal: float, at_least: bool, measured_at: str, target_at: str) -> dict[str, Any]:
    met = None if value is None else (value >= goal if at_least else value <= goal)
    return {"value": value, "target": goal, "at_least": at_least, "met": met, "measured_at": measured_at, "target_at": target_at}


def run_core(config: CoreConfig) -> dict[str, Any]:
    """The whole core bench as a JSON-ready dict (targets are reported, never asserted)."""
    work = make_workload(config)
    results: list[dict[str, Any]] = []
    policies = {"both": ["exact", "fuzzy", "fuzzy-gated"], "fuzzy": ["fuzzy", "fuzzy-gated"]}.get(
        config.policy, [config.policy]
    )
    for policy in policies:
        results.append(bench_feblam(config, work, policy))
    if config.peers:
        results.append(bench_python_set(config, work))
        results.append(bench_symspellpy(config, work))
    by_name = {r["name"]: r for r in results}
    for row in results:
        if not row["name"].startswith("feblam-"):
            continue
        for peer, key in (("python-set", "speedup_vs_python_set"), ("symspellpy", "speedup_vs_symspellpy")):
            if peer in by_name:
                row[key] = row["reads_per_s"] / by_name[peer]["reads_per_s"]
    sizes = f"{config.entries} entries, {config.reads} reads"
    exact = by_name.get("feblam-exact")
    fuzzy = by_name.get("feblam-fuzzy")
    gated = by_name.get("feblam-fuzzy-gated")
    symspell_at = f"{config.entries} entries (symspellpy {min(config.entries, config.symspell_entries)})"
    targets = {
        "exact_speedup_vs_python_set": _target(
            exact.get("speedup_vs_python_set") if exact else None, 10.0, True, sizes, "10M entries, 1M reads"
        ),
        "fuzzy_speedup_vs_symspellpy": _target(
            fuzzy.get("speedup_vs_symspellpy") if fuzzy else None, 20.0, True, symspell_at, "1M entries"
        ),
        "fuzzy_gated_speedup_vs_symspellpy": _target(
            gated.get("speedup_vs_symspellpy") if gated else None, 20.0, True, symspell_at, "1M entries"
        ),
        "exact_index_bytes_per_entry": _target(
            exact["exact_index_bytes_per_entry"] if exact else None, 24.0, False, sizes, "10M entries"
        ),
        "exact_build_s": _target(exact["build_s"] if exact else None, 5.0, False, sizes, "10M entries"),
    }
    t = work.traffic
    return {
        "bench": "core",
        "config": {
            **asdict(config),
            "generate_s": work.generate_s,
            "listed_reads": int(np.count_nonzero(t.vehicle < config.entries)),
            "noise": synth.NoiseRates().as_dict(),
        },
        "results": results,
        "targets": targets,
    }
