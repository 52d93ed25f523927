"""The committed C++ fold table is what the reference fold table generates."""

from __future__ import annotations

import unicodedata

from feblam.reference.gen_fold_table import drifted, render, table_unicode_version
from tests.unicode_drift import FOLD_TABLE

# Where plates and their look-alikes are written: Latin, Greek, Cyrillic and the other scripts
# below U+0800, spaces and punctuation, letterlike and enclosed forms, full-width forms.
PLATE_REPERTOIRE = (range(0x0000, 0x0800), range(0x2000, 0x2500), range(0xFF00, 0xFFF0))


def test_committed_fold_table_matches_the_generator() -> None:
    committed = FOLD_TABLE.read_text("utf-8")
    if table_unicode_version(committed) == unicodedata.unidata_version:
        assert committed == render(), (
            "cpp/src/fold_table.inc is stale: run "
            "`python -m feblam.reference.gen_fold_table > cpp/src/fold_table.inc`")
        return
    # Another Python, another Unicode database: the core keeps the table's version. What a
    # later version assigned or amended must lie outside what plates are written in.
    drift = drifted(committed)
    assert drift, "the versions differ, so their tables should too"
    touched = [hex(cp) for cp in sorted(drift) if any(cp in r for r in PLATE_REPERTOIRE)]
    assert not touched, f"Unicode {unicodedata.unidata_version} folds plate characters otherwise"
