"""The committed C++ fold table is exactly what the reference fold table generates today."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from feblam.reference.gen_fold_table import render

FOLD_TABLE = Path(__file__).resolve().parents[1] / "cpp" / "src" / "fold_table.inc"


def test_committed_fold_table_matches_the_generator() -> None:
    committed = FOLD_TABLE.read_text("utf-8")
    assert committed == render(), (
        "cpp/src/fold_table.inc is stale (this Python has Unicode "
        f"{unicodedata.unidata_version}): run "
        "`python -m feblam.reference.gen_fold_table > cpp/src/fold_table.inc`"
    )
