"""The code points property tests leave out when this Python's Unicode database is not the one the
core's fold table was generated with (cpp/src/fold_table.inc pins the core to that version; the
reference folds with whatever database runs it). Empty on the table's own version."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from feblam.reference.gen_fold_table import drifted

FOLD_TABLE = Path(__file__).resolve().parents[1] / "cpp" / "src" / "fold_table.inc"
DRIFT: frozenset[int] = drifted(FOLD_TABLE.read_text("utf-8"))
_LEFT_OUT = "".join(map(chr, sorted(DRIFT)))


def characters(**kwargs: object) -> st.SearchStrategy[str]:
    """st.characters without the drifted code points."""
    return st.characters(exclude_characters=_LEFT_OUT, **kwargs)  # type: ignore[arg-type]


def text(max_size: int) -> st.SearchStrategy[str]:
    """st.text without the drifted code points."""
    return st.text(alphabet=characters(codec="utf-8"), max_size=max_size)
