"""What FEBLAM is measured against: a Python set, symspellpy, and a plain edit-distance-1 join."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from feblam.bench.synth import PLATE_WIDTH, as_matrix, pack_keys, plate_lengths

# Separators a Python service would strip from raw reads before a set lookup.
_DROP_SEPARATORS = str.maketrans("", "", " -._/'\t")


def python_canonical(raw: str) -> str:
    """Case fold and drop separators: the normalisation a plain Python service does per read."""
    return raw.upper().translate(_DROP_SEPARATORS)


class PythonSetWatchlist:
    """A Python set of canonical plate strings: the baseline every Python service starts from."""

    def __init__(self, plates: Sequence[str]) -> None:
        self.plates = set(plates)

    def memory_bytes(self) -> int:
        """The set and the strings it holds, object by object."""
        return sys.getsizeof(self.plates) + sum(sys.getsizeof(p) for p in self.plates)

    def count_hits(self, raw_reads: Sequence[str]) -> int:
        plates = self.plates
        return sum(1 for raw in raw_reads if raw.upper().translate(_DROP_SEPARATORS) in plates)


class SymSpellWatchlist:
    """symspellpy at edit distance 1 over the canonical plates, asked for every candidate."""

    def __init__(self, plates: Sequence[str]) -> None:
        from symspellpy import SymSpell

        self._index: Any = SymSpell(max_dictionary_edit_distance=1)
        for plate in plates:
            self._index.create_dictionary_entry(plate, 1)

    def memory_bytes(self) -> int:
        """Its word and delete dictionaries with every key, list and string, each object once."""
        seen: set[int] = set()
        total = 0

        def add(obj: object) -> None:
            nonlocal total
            if id(obj) not in seen:
                seen.add(id(obj))
                total += sys.getsizeof(obj)

        words, deletes = self._index.words, self._index.deletes
        add(words)
        add(deletes)
        for word in words:
            add(word)
        for key, candidates in deletes.items():
            add(key)
            add(candidates)
            for word in candidates:
                add(word)
        return total

    def count_hits(self, raw_reads: Sequence[str]) -> int:
        from symspellpy import Verbosity

        lookup = self._index.lookup
        hits = 0
        for raw in raw_reads:
            if lookup(python_canonical(raw), Verbosity.ALL, max_edit_distance=1, transfer_casing=False):
                hits += 1
        return hits


# --- plain edit distance 1 (quality baseline) ------------------------------------------------

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def _deletion_keys(plates: npt.NDArray[np.bytes_]) -> list[tuple[I64, U64]]:
    """Per position i: (rows long enough, key of the plate without character i)."""
    m = as_matrix(plates)
    lengths = plate_lengths(m)
    out: list[tuple[I64, U64]] = []
    for i in range(PLATE_WIDTH):
        rows = np.flatnonzero(lengths > i)
        if len(rows) == 0:
            break
        shorter = np.zeros((len(rows), PLATE_WIDTH), dtype=np.uint8)
        shorter[:, : PLATE_WIDTH - 1] = np.delete(m[rows], i, axis=1)
        out.append((rows.astype(np.int64), pack_keys(shorter.view(f"S{PLATE_WIDTH}").reshape(len(rows)))))
    return out


def _join(query_rows: I64, query_keys: U64, table_keys: U64, table_rows: I64) -> tuple[I64, I64]:
    """Every (query row, table row) pair with equal keys; the table is sorted by key."""
    lo = np.searchsorted(table_keys, query_keys, side="left")
    hi = np.searchsorted(table_keys, query_keys, side="right")
    counts = hi - lo
    total = int(counts.sum())
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    positions = np.arange(total, dtype=np.int64) + starts
    return np.repeat(query_rows, counts), table_rows[positions]


def _sorted_table(rows: I64, keys: U64) -> tuple[U64, I64]:
    order = np.argsort(keys, kind="stable")
    return keys[order], rows[order]


def edit1_pairs(
    entry_plates: npt.NDArray[np.bytes_], read_plates: npt.NDArray[np.bytes_]
) -> tuple[I64, I64]:
    """(read, entry) pairs whose canonical plates are within Levenshtein distance 1.

    A deletion-neighbourhood join on packed keys: equal plates; the read missing a character of
    the entry; the read holding one character too many; or one substitution (both without the
    same position).
    """
    position_tag = np.uint64(60)
    e_full_rows = np.arange(len(entry_plates), dtype=np.int64)
    e_full = _sorted_table(e_full_rows, pack_keys(entry_plates))
    e_del = _deletion_keys(entry_plates)
    e_any = _sorted_table(np.concatenate([r for r, _ in e_del]), np.concatenate([k for _, k in e_del]))
    e_tagged = _sorted_table(
        np.concatenate([r for r, _ in e_del]),
        np.concatenate([k | (np.uint64(i + 1) << position_tag) for i, (_, k) in enumerate(e_del)]),
    )
    r_rows = np.arange(len(read_plates), dtype=np.int64)
    r_full = pack_keys(read_plates)
    pairs = [_join(r_rows, r_full, *e_full), _join(r_rows, r_full, *e_any)]
    for i, (rows, keys) in enumerate(_deletion_keys(read_plates)):
        pairs.append(_join(rows, keys, *e_full))
        pairs.append(_join(rows, keys | (np.uint64(i + 1) << position_tag), *e_tagged))
    reads = np.concatenate([p[0] for p in pairs])
    entries = np.concatenate([p[1] for p in pairs])
    both = np.unique((reads << 32) | entries)
    return both >> 32, both & 0xFFFFFFFF
