"""Watchlist entry files: every format loads the same entries; every kind of bad file is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as paipc
import pyarrow.parquet as pq
import pytest

from feblam.watchlists.files import EntryFileError, entries_from_rows, load_entries

HEADER = "plate;category;state;effective;expiry;note\n"
GOOD_ROWS = [
    "1-abc-123;stolen;BE;2026-01-01;2026-12-31;first\n",
    "AB-123-CD;stolen;FR;;;second\n",
    "xy12 zzz;wanted;gb;2026-01-01T10:00:00+02:00;;third\n",
    "1ab?12*;partial;;;;fourth\n",
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_delimited_file_in_human_styles(tmp_path: Path) -> None:
    table, report = load_entries(write(tmp_path, "list.csv", HEADER + "".join(GOOD_ROWS)))
    assert report.rows == 4 and report.valid == 4 and report.rejected_count == 0
    assert table.column("plate").to_pylist() == ["1ABC123", "AB123CD", "XY12ZZZ", "1AB?12*"]
    assert table.column("pattern").to_pylist() == [False, False, False, True]
    assert table.column("country").to_pylist() == ["BE", "FR", "GB", ""]
    assert table.column("reason").to_pylist() == ["stolen", "stolen", "wanted", "partial"]
    assert table.column("entry_no").to_pylist() == [0, 1, 2, 3]
    assert table.column("line").to_pylist() == [2, 3, 4, 5]
    assert table.column("note").to_pylist() == ["first", "second", "third", "fourth"]
    # Date-only validity is Brussels local time; "until 2026-12-31" runs through that day.
    start, end = table.column("valid_from")[0].as_py(), table.column("valid_until")[0].as_py()
    assert start.isoformat() == "2025-12-31T23:00:00+00:00"
    assert end.isoformat() == "2026-12-31T23:00:00+00:00"
    assert table.column("valid_from")[2].as_py().isoformat() == "2026-01-01T08:00:00+00:00"


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_delimiters_are_detected(tmp_path: Path, delimiter: str) -> None:
    text = f"plate{delimiter}country\n1-abc-123{delimiter}BE\nAB-123-CD{delimiter}FR\n"
    table, report = load_entries(write(tmp_path, "list.txt", text))
    assert report.valid == 2
    assert table.column("country").to_pylist() == ["BE", "FR"]


def test_bad_rows_are_reported_by_line_and_field_without_plates(tmp_path: Path) -> None:
    text = HEADER + "".join([
        "1-abc-123;stolen;BE;;;ok\n",                 # line 2
        ";stolen;BE;;;empty plate\n",                 # line 3
        "AB-123-CD;stolen;FR;2026-13-01;;bad date\n",  # line 4
        "bad;row\n",                                  # line 5
        "ZZ-999-ZZ;x;B3;;;bad country\n",              # line 6
        "ABC\u0007123;x;BE;;;control\n",              # line 7
        "1-XYZ-999;x;BE;2026-05-01;2026-01-01;inverted\n",  # line 8
        "ABCDEFGHIJKLMN;x;BE;;;too long\n",            # line 9
        "2-abc-123;stolen;BE;;;ok\n",                 # line 10
    ])
    table, report = load_entries(write(tmp_path, "list.csv", text))
    assert table.column("line").to_pylist() == [2, 10]
    got = sorted((r.line, r.field) for r in report.rejected)
    assert got == [(3, "plate"), (4, "valid_from"), (5, "row"), (6, "country"), (7, "plate"),
                   (8, "valid_until"), (9, "plate")]
    assert report.rows == 9 and report.valid == 2 and report.rejected_count == 7
    reasons = {r.line: r.reason for r in report.rejected}
    assert reasons[3] == "plate is empty"
    assert reasons[7] == "plate holds a control character"
    assert reasons[9] == "plate is longer than any plate"
    assert "expected 6 fields, found 2" in reasons[5]
    dumped = str(report.to_dict())
    for plate in ("ABC", "ZZ-999", "XYZ", "ABCDEFGH"):
        assert plate not in dumped


def test_parquet_and_arrow_load_like_text(tmp_path: Path) -> None:
    text_table, _ = load_entries(write(tmp_path, "list.csv", HEADER + "".join(GOOD_ROWS)))
    source = pa.table({
        "Plate": ["1-abc-123", "AB-123-CD", "xy12 zzz", "1ab?12*"],
        "Country": ["BE", "FR", "gb", None],
        "reason": ["stolen", "stolen", "wanted", "partial"],
    })
    pq.write_table(source, tmp_path / "list.parquet")
    with paipc.new_file(str(tmp_path / "list.arrow"), source.schema) as writer:
        writer.write_table(source)
    for name in ("list.parquet", "list.arrow"):
        table, report = load_entries(tmp_path / name)
        assert report.valid == 4
        assert table.column("plate").to_pylist() == text_table.column("plate").to_pylist()
        assert table.column("country").to_pylist() == text_table.column("country").to_pylist()


def test_typed_parquet_times_are_used_as_they_are(tmp_path: Path) -> None:
    import datetime as dt

    utc = dt.timezone.utc
    source = pa.table({
        "plate": ["1ABC123"],
        "valid_from": pa.array([dt.datetime(2026, 1, 1, tzinfo=utc)], pa.timestamp("us", tz="UTC")),
        "valid_until": pa.array([dt.date(2026, 6, 30)], pa.date32()),
    })
    pq.write_table(source, tmp_path / "t.parquet")
    table, _ = load_entries(tmp_path / "t.parquet")
    assert table.column("valid_from")[0].as_py() == dt.datetime(2026, 1, 1, tzinfo=utc)
    assert table.column("valid_until")[0].as_py() == dt.datetime(2026, 6, 29, 22, tzinfo=utc)


def test_files_that_are_not_watchlists_are_named(tmp_path: Path) -> None:
    with pytest.raises(EntryFileError, match="no plate column"):
        load_entries(write(tmp_path, "cols.csv", "registration_no;country\nABC;BE\n"))
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"plate;country\n\xff\xfe\x00\x81garbage\x00;\xc3\n")
    with pytest.raises(EntryFileError, match="not a readable delimited text file"):
        load_entries(garbage)
    pq.write_table(pa.table({"plate": ["1ABC123"] * 1000}), tmp_path / "whole.parquet")
    data = (tmp_path / "whole.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(EntryFileError, match="not a readable Parquet file"):
        load_entries(tmp_path / "cut.parquet")
    with pytest.raises(EntryFileError, match="no such file"):
        load_entries(tmp_path / "missing.csv")


def test_a_file_with_no_rows_loads_nothing(tmp_path: Path) -> None:
    table, report = load_entries(write(tmp_path, "empty.csv", "plate;country\n"))
    assert report.rows == 0 and report.valid == 0 and table.num_rows == 0


def test_inline_rows_are_validated_like_file_rows() -> None:
    table, report = entries_from_rows([
        {"plate": "1-abc-123", "country": "be", "reason": "wanted"},
        {"plate": "", "country": "BE"},
        {"plate": "AB-123-CD", "valid_until": "yesterday"},
    ])
    assert table.column("plate").to_pylist() == ["1ABC123"]
    assert table.column("country").to_pylist() == ["BE"]
    assert sorted((r.line, r.field) for r in report.rejected) == [(2, "plate"), (3, "valid_until")]


def test_plate_columns_normalise_in_place_whatever_their_layout() -> None:
    from feblam.reference.normalise import normalise_pattern
    from feblam.watchlists.files import canonical_plates

    texts = ["1-abc-123", None, "ab?12*", "", "xy12 zzz", "\u0410123\u0412\u0421"]
    expected = [normalise_pattern(t or "")[0].encode() for t in texts]
    small = pa.array(texts, pa.string())
    large = pa.array(texts, pa.large_string())
    chunked = pa.chunked_array([small.slice(0, 2), small.slice(2, 3), small.slice(5)])
    for column in (small, large, chunked, pa.chunked_array([large.slice(1), large.slice(0, 0)])):
        got = canonical_plates(column).tolist()
        want = expected if len(column) == len(texts) else expected[1:]
        assert got == want


def test_dictionary_columns_spread_back_a_slice_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # National lists spread their country dictionary in slices; a slice boundary inside the
    # column must change nothing.
    import feblam.watchlists.files as files

    monkeypatch.setattr(files, "_SPREAD_ROWS", 3)
    countries = ["be", "NL", None, "BE", " de ", "1X", "NL", "be", "", "TOOLONG", "FR"]
    column = pa.chunked_array([pa.array(countries[:4]), pa.array(countries[4:])])
    assert files.short_codes(column).tolist() == [
        (c or "").encode()[:3] for c in countries]
    table = pa.table({"plate": [f"{i}ABC12{i % 10}" for i in range(len(countries))],
                      "country": countries})
    out, report = files.validate_entries(table, np.arange(1, len(countries) + 1, dtype=np.int32),
                                         files.ValidationReport(source="t"))
    assert sorted(r.line for r in report.rejected) == [6, 10]
    assert out.column("country").to_pylist() == ["BE", "NL", "", "BE", "DE", "NL", "BE", "", "FR"]
