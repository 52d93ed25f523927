"""`feblam bench watchlist`: a national-size list from Parquet file to serving, swapped under load.

Measures what ops teams feel: how long a 10M-entry Parquet list takes from file to serving, the
memory peak while the new version is built beside the serving one, how fast a one-entry delta is
visible, and whether reads matched continuously during the swap fail or slow down.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PAGE = os.sysconf("SC_PAGE_SIZE")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entries", type=int, default=10_000_000, help="list size")
    parser.add_argument("--batch", type=int, default=1000, help="reads per batch while swapping")
    parser.add_argument("--deltas", type=int, default=7, help="one-entry deltas timed")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--json", action="store_true", help="print JSON")


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * PAGE


def high_water_bytes() -> int:
    """The most memory this process has held resident so far (0 where it is not known)."""
    try:
        import resource
    except ImportError:
        return 0
    # Linux reports kilobytes.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class PeakSampler:
    """Samples resident memory every few milliseconds; the swap's peak is what matters."""

    def __init__(self, period_s: float = 0.002) -> None:
        self.period_s = period_s
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.period_s)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        # A spike shorter than the period can fall between samples: the process's high-water
        # mark cannot miss it. (It also covers the first load, whose peak is lower by the whole
        # version that serves during a swap.)
        self.peak = max(self.peak, rss_bytes(), high_water_bytes())


def write_list_apart(path: Path, entries: int, seed: int) -> np.ndarray:
    """write_list in a process of its own, so that generating the list leaves nothing behind in
    the memory this bench measures; returns the plates written (read back from the file)."""
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(target=write_list,
                                                           args=(path, entries, seed))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"writing the synthetic list failed (exit {process.exitcode})")
    # A sample of listed plates for the reads: reading them all would leave freed memory behind
    # that the load then reuses, and the measured growth would look smaller than it is.
    first = pq.ParquetFile(path).read_row_group(0, columns=["plate"]).column("plate")
    plates: np.ndarray = np.array(first.slice(0, 10_000).to_pylist(), dtype="S10")
    return plates


def write_list(path: Path, entries: int, seed: int) -> np.ndarray:
    """A Parquet list in the industry's columns; returns the canonical plates written."""
    from feblam.bench.synth import FormatCatalogue, generate_vehicles

    rng = np.random.default_rng(seed)
    vehicles = generate_vehicles(rng, entries, FormatCatalogue.build())
    table = pa.table({
        "plate": pa.array(vehicles.plates).cast(pa.string()),
        "country": pa.array(vehicles.country_codes()).cast(pa.string()),
        "reason": pa.array(np.full(entries, b"uninsured")).cast(pa.string()),
        "valid_until": pa.array(np.full(entries, np.datetime64("2027-12-31T23:00:00", "us")),
                                pa.timestamp("us", tz="UTC")),
    })
    pq.write_table(table, path, row_group_size=1 << 20)
    plates: np.ndarray = vehicles.plates
    return plates


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    import gc

    from feblam.watchlists.audit import AuditLog
    from feblam.watchlists.definitions import parse_definitions
    from feblam.watchlists.files import entries_from_rows
    from feblam.watchlists.store import WatchlistStore

    definitions = parse_definitions(
        '[[list]]\nid = 20\nname = "uninsured"\ncategory = "uninsured"\n'
        'kinds = ["exact", "resolved"]\n')
    with tempfile.TemporaryDirectory(prefix="feblam-bench-") as tmp:
        path = Path(tmp) / "uninsured.parquet"
        plates = write_list_apart(path, args.entries, args.seed)
        rng = np.random.default_rng(args.seed + 1)
        # Reads: ~0.1% listed plates, the rest plates that are not on the list.
        reads = np.array([b"9ZZZ%03d" % (i % 1000) for i in range(args.batch)], dtype="S10")
        listed = rng.choice(len(plates), size=max(1, args.batch // 1000), replace=False)
        reads[: len(listed)] = plates[listed]
        gc.collect()

        store = WatchlistStore(definitions, AuditLog(Path(tmp) / "audit.db"), keep_versions=1)
        before = rss_bytes()
        start = time.perf_counter()
        store.load(20, path, actor="bench", why="first load")
        first_load_s = time.perf_counter() - start
        gc.collect()
        steady = rss_bytes() - before
        serving = store.serving(20)
        assert serving is not None
        index_bytes = serving.base.matcher.memory_bytes
        serving_bytes = index_bytes + serving.base.table.nbytes

        # Swap under continuous matching.
        latencies: list[float] = []
        failures = 0
        matched = 0
        stop = threading.Event()

        def match_continuously() -> None:
            nonlocal failures, matched
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    found = store.snapshot.match(reads, None, None, None)
                    matched += sum(len(m.keep) for m in found)
                except Exception:  # a failed batch is exactly what this bench counts
                    failures += len(reads)
                latencies.append(time.perf_counter() - t0)

        reader = threading.Thread(target=match_continuously)
        base_rss = rss_bytes()
        with PeakSampler() as sampler:
            reader.start()
            start = time.perf_counter()
            store.load(20, path, actor="bench", why="swap under load")
            load_s = time.perf_counter() - start
            time.sleep(0.05)
            stop.set()
            reader.join()
        peak_extra = sampler.peak - before
        swap_latencies = np.array(latencies) * 1000

        # One-entry deltas: visible when the call returns, so time the call and check.
        delta_ms: list[float] = []
        for n in range(args.deltas):
            plate = f"{n}DLT{n:03d}"
            added, _ = entries_from_rows([{"plate": plate, "country": "BE", "reason": "wanted"}])
            t0 = time.perf_counter()
            store.delta(20, add=added, actor="bench", why="delta")
            found = store.snapshot.match([plate], None, None, None)
            delta_ms.append((time.perf_counter() - t0) * 1000)
            if not any(len(m.keep) for m in found):
                raise RuntimeError("a delta was not visible after the call returned")

    return {
        "entries": args.entries,
        # File to serving with nothing else running; the swap below repeats it under load.
        "load_s": round(first_load_s, 3),
        "swap_load_s": round(load_s, 3),
        "steady_bytes": steady,
        "index_bytes": index_bytes,
        "index_bytes_per_entry": round(index_bytes / args.entries, 2),
        # What the serving version holds by count (index plus entry table), beside the RSS view.
        "serving_bytes": serving_bytes,
        "peak_bytes_during_swap": peak_extra,
        # The swap's peak against the serving version's size (index plus entry table, counted):
        # the "steady index size". The RSS view of the same is beside it.
        "peak_memory_ratio": round(peak_extra / serving_bytes, 3),
        "peak_over_steady_rss": round(peak_extra / steady, 3) if steady > 0 else None,
        "rss_before_swap_bytes": base_rss - before,
        "delta_visible_ms": round(float(np.median(delta_ms)), 3),
        "delta_visible_ms_max": round(float(np.max(delta_ms)), 3),
        "batches_during_swap": len(swap_latencies),
        "failed_reads_during_swap": failures,
        "matches_during_swap": matched,
        "p50_batch_ms_during_swap": round(float(np.percentile(swap_latencies, 50)), 3),
        "p99_batch_ms_during_swap": round(float(np.percentile(swap_latencies, 99)), 3),
        "max_batch_ms_during_swap": round(float(np.max(swap_latencies)), 3),
        "targets": {"load_s": 10.0, "peak_memory_ratio": 2.5, "delta_visible_ms": 50.0,
                    "failed_reads_during_swap": 0},
    }
