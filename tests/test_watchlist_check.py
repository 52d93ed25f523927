"""`feblam watchlist check`: offline validation with the list's own limit and sysexits codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feblam.cli import main

DEFINITIONS = '[[list]]\nid = 3\nname = "uninsured"\ncategory = "uninsured"\nmax_bad_rows = 2\n'


def test_check_reports_and_applies_the_lists_limit(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    definitions = tmp_path / "lists.toml"
    definitions.write_text(DEFINITIONS)
    path = tmp_path / "u.csv"
    path.write_text("plate;country\n1-abc-123;BE\n;BE\n2-abc-123;B3\n3-abc-123;BE\n")
    # The default limit (0.1% of rows) refuses two bad rows; list 3 tolerates two.
    assert main(["watchlist", "check", str(path)]) == 65
    assert "REFUSED" in capsys.readouterr().out
    assert main(["watchlist", "check", str(path), "--definitions", str(definitions),
                 "--list", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows"], report["valid"], report["rejected"]) == (4, 2, 2)
    assert [(r["line"], r["field"]) for r in report["rejected_rows"]] == [(3, "plate"),
                                                                         (4, "country")]
    assert report["refused"] is None


def test_check_exit_codes_for_missing_and_unreadable_files(tmp_path: Path) -> None:
    assert main(["watchlist", "check", str(tmp_path / "none.csv")]) == 66
    garbage = tmp_path / "g.parquet"
    garbage.write_bytes(b"PAR1\x00\x01garbage")
    assert main(["watchlist", "check", str(garbage)]) == 65
