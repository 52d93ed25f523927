"""The serving store: versions, refusals that keep the old version, deltas, rollback, validity."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from feblam.watchlists.audit import AuditLog
from feblam.watchlists.definitions import parse_definitions
from feblam.watchlists.files import entries_from_rows
from feblam.watchlists.store import WatchlistError, WatchlistStore

DEFINITIONS = """
[[list]]
id = 1
name = "stolen"
category = "stolen"
priority = 1
kinds = ["exact", "resolved", "ocr"]
max_bad_rows = 1

[[list]]
id = 2
name = "uninsured"
category = "uninsured"
"""


def us(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1e6)


NOW = us("2026-06-01T12:00:00")


@pytest.fixture()
def store(tmp_path: Path) -> WatchlistStore:
    return WatchlistStore(parse_definitions(DEFINITIONS), AuditLog(tmp_path / "audit.db"))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def hits(store: WatchlistStore, plates: list[str], countries: list[str] | None = None,
         when: int = NOW) -> set[tuple[int, int, str]]:
    """(read, list id, canonical entry plate) for every surviving match."""
    out = set()
    for lm in store.snapshot.match(plates, countries, None, when):
        for i in lm.keep:
            entry = int(lm.matches.entry[i])
            out.add((int(lm.matches.read[i]), lm.list.info.list_id,
                     str(lm.source.table.column("plate")[entry])))
    return out


def test_load_then_match(store: WatchlistStore, tmp_path: Path) -> None:
    info = store.load(1, write(tmp_path, "s.csv", "plate;country\n1-abc-123;BE\n2-XYZ-999;BE\n"),
                      actor="ops", why="daily")
    assert info.version == 1 and info.entries == 2
    assert hits(store, ["1abc123", "9ZZZ999", "2-xyz-999"]) == {(0, 1, "1ABC123"),
                                                               (2, 1, "2XYZ999")}
    records = store.audit.records(list_id=1)
    assert records[0].action == "load" and records[0].detail["entries"] == 2


@pytest.mark.parametrize("bad", ["columns", "garbage", "empty", "too_many_bad", "cut_parquet",
                                 "missing"])
def test_refused_files_keep_the_old_version_serving(store: WatchlistStore, tmp_path: Path,
                                                    bad: str) -> None:
    store.load(1, write(tmp_path, "s.csv", "plate\n1-abc-123\n"), actor="ops", why="first")
    path = tmp_path / f"bad-{bad}.csv"
    if bad == "columns":
        path.write_text("registration_no;country\nX;BE\n")
    elif bad == "garbage":
        path.write_bytes(b"plate\n\xff\xfe\x00\x81\x00\n")
    elif bad == "empty":
        path.write_text("plate\n")
    elif bad == "too_many_bad":
        path.write_text("plate;valid_from\n;\n\x01;\n1-XYZ-999;never\n2-ABC-123;\n")
    elif bad == "cut_parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = tmp_path / "cut.parquet"
        pq.write_table(pa.table({"plate": ["2ABC123"] * 500}), path)
        path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(WatchlistError) as err:
        store.load(1, path, actor="ops", why="second")
    if bad == "too_many_bad":
        assert err.value.report is not None and err.value.report.rejected_count == 3
    assert store.serving(1) is not None and store.serving(1).info.version == 1  # type: ignore[union-attr]
    assert hits(store, ["1ABC123", "2ABC123"]) == {(0, 1, "1ABC123")}
    assert store.audit.records(list_id=1)[0].action == "refusal"


def test_a_batch_in_flight_finishes_on_its_version(store: WatchlistStore, tmp_path: Path) -> None:
    store.load(1, write(tmp_path, "a.csv", "plate\n1-abc-123\n"), actor="ops", why="a")
    in_flight = store.snapshot
    store.load(1, write(tmp_path, "b.csv", "plate\n2-abc-123\n"), actor="ops", why="b")
    old = in_flight.match(["1ABC123", "2ABC123"], None, None, NOW)
    assert [int(m.matches.read[m.keep[0]]) for m in old] == [0]
    assert hits(store, ["1ABC123", "2ABC123"]) == {(1, 1, "2ABC123")}


def test_delta_is_visible_at_once_and_folds(store: WatchlistStore, tmp_path: Path) -> None:
    store.load(1, write(tmp_path, "a.csv", "plate;country\n1-abc-123;BE\n1-abc-124;BE\n"),
               actor="ops", why="a")
    added, _ = entries_from_rows([{"plate": "5-new-555", "country": "BE", "reason": "wanted"}])
    info = store.delta(1, add=added, remove=[("1ABC124", "")], actor="ops", why="new wanted")
    assert info.version == 2 and info.origin == "delta" and info.entries == 2
    expected = {(0, 1, "1ABC123"), (2, 1, "5NEW555")}
    assert hits(store, ["1ABC123", "1ABC124", "5NEW555"]) == expected
    assert store.fold(1)
    assert store.serving(1).overlay is None  # type: ignore[union-attr]
    assert hits(store, ["1ABC123", "1ABC124", "5NEW555"]) == expected
    # A change: remove and add the same plate with a new reason.
    changed, _ = entries_from_rows([{"plate": "5NEW555", "country": "BE", "reason": "stolen"}])
    store.delta(1, add=changed, remove=[("5NEW555", "BE")], actor="ops", why="change")
    matches = store.snapshot.match(["5NEW555"], None, None, NOW)
    reasons = [lm.metadata(k)["reason"] for lm in matches for k in range(len(lm.keep))]
    assert reasons == ["stolen"]


def test_rollback(store: WatchlistStore, tmp_path: Path) -> None:
    with pytest.raises(WatchlistError):
        store.rollback(1, actor="ops", why="nothing to roll back to")
    store.load(1, write(tmp_path, "a.csv", "plate\n1-abc-123\n"), actor="ops", why="a")
    store.load(1, write(tmp_path, "b.csv", "plate\n2-abc-123\n"), actor="ops", why="b")
    info = store.rollback(1, actor="ops", why="b was wrong")
    assert info.version == 3 and info.parent == 1 and info.origin == "rollback"
    assert hits(store, ["1ABC123", "2ABC123"]) == {(0, 1, "1ABC123")}
    store.rollback(1, 2, actor="ops", why="b was right after all")
    assert hits(store, ["1ABC123", "2ABC123"]) == {(1, 1, "2ABC123")}
    with pytest.raises(WatchlistError, match="not kept"):
        store.rollback(1, 99, actor="ops", why="?")
    assert [r.action for r in store.audit.records(list_id=1)][:3] == ["refusal", "rollback",
                                                                      "rollback"]


def test_entries_outside_their_validity_never_match(store: WatchlistStore, tmp_path: Path) -> None:
    store.load(2, write(tmp_path, "u.csv",
                        "plate;valid_from;valid_until\n"
                        "1-abc-123;2026-05-01;2026-05-31\n"
                        "2-abc-123;2026-07-01;\n"
                        "3-abc-123;;\n"), actor="ops", why="u")
    plates = ["1ABC123", "2ABC123", "3ABC123"]
    assert hits(store, plates, when=us("2026-05-31T12:00:00")) == {(0, 2, "1ABC123"),
                                                                   (2, 2, "3ABC123")}
    assert hits(store, plates, when=us("2026-06-15T00:00:00")) == {(2, 2, "3ABC123")}
    assert hits(store, plates, when=us("2026-07-01T00:00:00")) == {(1, 2, "2ABC123"),
                                                                   (2, 2, "3ABC123")}


def test_matching_never_fails_during_swaps(store: WatchlistStore, tmp_path: Path) -> None:
    rows = "plate\n" + "".join(f"{i % 10}-ABC-{i:03d}\n" for i in range(1000))
    path = write(tmp_path, "big.csv", rows)
    store.load(1, path, actor="ops", why="first")
    plates = np.array([f"{i % 10}ABC{i:03d}".encode() for i in range(0, 1000, 7)])
    failures: list[BaseException] = []
    counts: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                counts.append(sum(len(m.keep) for m in store.snapshot.match(plates, None, None,
                                                                            NOW)))
            except BaseException as exc:  # any failure is what this test is looking for
                failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    for n in range(5):
        store.load(1, path, actor="ops", why=f"swap {n}")
    stop.set()
    thread.join()
    assert not failures
    assert counts and set(counts) == {len(plates)}


def _kept(matches: list) -> list[tuple[int, int, int, int, float, str]]:  # type: ignore[type-arg]
    out = []
    for lm in matches:
        m = lm.matches
        for k in lm.keep:
            row = int(m.entry[k])
            out.append((int(m.read[k]), int(m.list_id[k]), int(m.entry_no[k]), int(m.kind[k]),
                        round(float(m.score[k]), 5), str(lm.source.table.column("plate")[row])))
    return sorted(out)


def test_small_lists_share_one_index_with_the_same_results(tmp_path: Path) -> None:
    from feblam.watchlists.store import Snapshot

    definitions = parse_definitions(DEFINITIONS + '\n[[list]]\nid = 5\nname = "wanted"\n'
                                    'category = "wanted"\nkinds = ["exact", "ocr", "pattern"]\n')
    store = WatchlistStore(definitions, AuditLog(tmp_path / "audit.db"))
    store.load(1, write(tmp_path, "a.csv", "plate;country\n1-abc-123;BE\n2-abc-123;\n"
                                          "1-ab8-123;BE\n"), actor="ops", why="a")
    store.load(2, write(tmp_path, "b.csv", "plate;valid_until\n1-abc-123;2026-05-01\n"
                                          "9-zzz-999;\n"), actor="ops", why="b")
    store.load(5, write(tmp_path, "c.csv", "plate\n1ABC12?\n2ABC123\nXY12ZZZ\n"), actor="ops",
               why="c")
    reads = ["1ABC123", "1A8C123", "2ABC123", "9ZZZ999", "XY12222", "1ABC12Z", "???"]
    countries = ["BE", "BE", "", "", "", "BE", ""]
    confidences = [1.0, 0.5, 1.0, 1.0, 0.4, 0.9, 1.0]

    def both() -> tuple[list, list]:  # type: ignore[type-arg]
        snapshot = store.snapshot
        assert snapshot.shared is not None and sorted(snapshot.shared.bases) == [1, 2, 5]
        alone = Snapshot(snapshot.lists, None)
        return (_kept(snapshot.match(reads, countries, confidences, NOW)),
                _kept(alone.match(reads, countries, confidences, NOW)))

    shared, alone = both()
    assert shared == alone and len(shared) >= 6
    # Deltas live in overlays: the shared index is kept, removals still apply.
    before = store.snapshot.shared
    added, _ = entries_from_rows([{"plate": "7NEW777", "country": "BE"}])
    store.delta(1, add=added, remove=[("2ABC123", "")], actor="ops", why="d")
    assert store.snapshot.shared is before
    reads.append("7NEW777")
    countries.append("BE")
    confidences.append(1.0)
    shared, alone = both()
    assert shared == alone
    assert not any(r[1] == 1 and r[5] == "2ABC123" for r in shared)
    assert any(r[5] == "7NEW777" for r in shared)
    # A fold changes a base index: the shared index is rebuilt, results unchanged.
    assert store.fold(1)
    assert store.snapshot.shared is not before
    assert both()[0] == shared


def test_a_shared_index_without_windows_keeps_only_the_reads_asked_for(
        store: WatchlistStore, tmp_path: Path) -> None:
    store.load(1, write(tmp_path, "a.csv", "plate\n1-abc-123\n2-abc-123\n"), actor="ops", why="a")
    store.load(2, write(tmp_path, "b.csv", "plate\n2-abc-123\n3-abc-123\n"), actor="ops", why="b")
    snapshot = store.snapshot
    # Neither list has validity windows: the shared index checks none.
    assert snapshot.shared is not None and snapshot.shared.valid_from is None
    assert snapshot.shared.valid_until is None
    reads = ["1ABC123", "2ABC123", "3ABC123", "4ABC123"]
    results = [source.matcher.match(reads) for _, source in snapshot.sources]
    observed = np.full(len(reads), NOW, dtype=np.int64)

    def kept(keep_reads: np.ndarray | None) -> set[tuple[int, int]]:
        return {(int(lm.matches.read[k]), lm.list.info.list_id)
                for lm in snapshot.accept(results, observed, keep_reads) for k in lm.keep}

    assert kept(None) == {(0, 1), (1, 1), (1, 2), (2, 2)}
    # A rejected read's matches are dropped, whichever lists they name.
    assert kept(np.array([True, False, True, True])) == {(0, 1), (2, 2)}


def test_removals_name_plates_as_people_write_them(store: WatchlistStore, tmp_path: Path) -> None:
    store.load(1, write(tmp_path, "a.csv", "plate;country\n1-abc-123;BE\n1-abc-123;NL\n"
                                          "2-abc-123;BE\n"), actor="ops", why="a")
    info = store.delta(1, remove=[("1-abc-123", "nl"), ("2 abc 123", "")], actor="ops", why="d")
    assert info.entries == 1
    assert hits(store, ["1ABC123", "2ABC123"], ["BE", "BE"]) == {(0, 1, "1ABC123")}
