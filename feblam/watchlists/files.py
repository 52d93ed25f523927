"""Watchlist entry files (delimited text, Parquet, Arrow IPC) to a validated columnar entry table.

No Python object is made per row: columns go through pyarrow compute and the core's column
normaliser, so a 10M-row file loads in seconds. Every rejected row is reported with its source line
and reason, never with its plate (plates are personal data).
"""

from __future__ import annotations

import ctypes
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as paipc
import pyarrow.parquet as pq

from feblam._native import core
from feblam.plates import STATUS_REASONS, PlateStatus

# Header names the industry uses for each column FEBLAM understands (compared case-insensitively).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "plate": ("plate", "plate_number", "registration", "vrm", "plaque", "kenteken", "kennzeichen",
              "nummerplaat"),
    "country": ("country", "state", "nationality", "land", "pays"),
    "reason": ("reason", "category", "motif"),
    "reference": ("reference", "ref", "case", "dossier"),
    "valid_from": ("valid_from", "effective", "start", "from"),
    "valid_until": ("valid_until", "expiry", "expires", "end", "until"),
}
# Times written without a zone are Belgian local time, as ops teams write them.
LOCAL_ZONE = "Europe/Brussels"
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_DELIMITERS = (";", ",", "\t", "|")
# Details kept per report; counts by reason are always complete.
MAX_REPORTED_ROWS = 1000

# Columns FEBLAM itself gives an entry table; every other column is a free field of the file.
ENTRY_COLUMNS = frozenset({"entry_no", "line", "plate", "pattern", "country", "reason",
                           "reference", "valid_from", "valid_until"})


class EntryFileError(ValueError):
    """A file that cannot be read as a watchlist at all (format, columns, encoding)."""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    field: str
    reason: str


@dataclass
class ValidationReport:
    """What a load made of a file: counts, the rejected rows and why."""

    source: str
    checksum: str = ""
    rows: int = 0
    valid: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    refused: str | None = None

    @property
    def rejected_count(self) -> int:
        return sum(self.rejected_by_reason.values())

    def reject(self, line: int, field_name: str, reason: str) -> None:
        self.rejected_by_reason[f"{field_name}: {reason}"] += 1
        if len(self.rejected) < MAX_REPORTED_ROWS:
            self.rejected.append(RejectedRow(line, field_name, reason))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "checksum": self.checksum, "rows": self.rows,
            "valid": self.valid, "rejected": self.rejected_count, "refused": self.refused,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "rejected_rows": [
                {"line": r.line, "field": r.field, "reason": r.reason} for r in self.rejected
            ],
        }


def release_memory_promptly() -> None:
    """Have Arrow give freed memory back at once (jemalloc with no decay, where built in).

    A new version is parsed and validated beside the one serving; memory Arrow kept after
    validation would otherwise sit unused while the core allocates the new index, and a swap's
    peak would carry both.
    """
    _fixed_mmap_threshold()
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return
    pa.set_memory_pool(pool)


# glibc's mallopt parameter for the size from which allocations are mapped on their own.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 1 << 20


def _fixed_mmap_threshold() -> None:
    """Buffers of a megabyte and more mapped on their own, so freeing one returns it at once.

    glibc raises this threshold after the first large buffer is freed, and later buffers up to
    32 MB then stay on its heap when freed: a swap's temporaries (numpy columns of a national
    list) would stay resident beside the version serving and the one being built. Fixing the
    threshold keeps them from doing so. Other C libraries: nothing to do.
    """
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sniff_delimiter(path: Path) -> str:
    """The delimiter a text file's header line uses most (';' when it uses none)."""
    with path.open("rb") as handle:
        head = handle.read(65536)
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    counts = {d: first.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        # A one-column file (plates only) is fine; ';' then splits nothing.
        return ";"
    return best


def _read_delimited(path: Path, report: ValidationReport) -> tuple[pa.Table, np.ndarray]:
    delimiter = sniff_delimiter(path)
    bad_lines: list[int] = []

    def on_invalid_row(row: Any) -> str:
        # With a single reading thread pyarrow numbers rows by file line, the header being line 1.
        line = int(row.number) if row.number is not None else 0
        bad_lines.append(line)
        report.reject(line, "row", f"expected {row.expected_columns} fields, found {row.actual_columns}")
        return "skip"

    try:
        with path.open("rb") as handle:
            header = handle.readline().decode("utf-8").rstrip("\r\n")
        names = [n.strip() for n in header.split(delimiter)]
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24,
                                           use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid_row,
                                            newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise EntryFileError(f"{path}: not a readable delimited text file: {_short(exc)}") from None
    # Data rows fill lines 2 onwards except the lines skipped as malformed: one pass, however
    # many were skipped.
    lines = np.arange(2, table.num_rows + len(bad_lines) + 2, dtype=np.int32)
    if bad_lines:
        lines = lines[~np.isin(lines, np.array(bad_lines, dtype=np.int32))]
    return table, lines


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def read_table(path: str | Path) -> tuple[pa.Table, np.ndarray, ValidationReport]:
    """The file's rows as an Arrow table, their source line numbers, and a fresh report."""
    path = Path(path)
    if not path.is_file():
        raise EntryFileError(f"{path}: no such file")
    report = ValidationReport(source=str(path), checksum=file_checksum(path))
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise EntryFileError(f"{path}: not a readable Parquet file: {_short(exc)}") from None
        lines = np.arange(1, table.num_rows + 1, dtype=np.int32)
    elif suffix in (".arrow", ".feather", ".ipc", ".arrows"):
        try:
            try:
                table = paipc.open_file(path).read_all()
            except pa.ArrowInvalid:
                table = paipc.open_stream(path).read_all()
        except (pa.ArrowInvalid, OSError) as exc:
            raise EntryFileError(f"{path}: not a readable Arrow IPC file: {_short(exc)}") from None
        lines = np.arange(1, table.num_rows + 1, dtype=np.int32)
    else:
        table, lines = _read_delimited(path, report)
    return table, lines, report


def map_columns(table: pa.Table, source: str) -> dict[str, str]:
    """FEBLAM column name -> the file's column name."""
    by_lower = {name.strip().lower(): name for name in table.column_names}
    found: dict[str, str] = {}
    for ours, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in by_lower:
                found[ours] = by_lower[alias]
                break
    if "plate" not in found:
        raise EntryFileError(
            f"{source}: no plate column (expected one of {', '.join(COLUMN_ALIASES['plate'])}; "
            f"found {', '.join(table.column_names) or 'no columns'})")
    return found


def _normalise_chunk(array: pa.Array, patterns: bool) -> tuple[np.ndarray, np.ndarray]:
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.string())
    buffers = array.buffers()
    n = len(array)
    offsets: npt.NDArray[np.int32] | npt.NDArray[np.int64]
    if pa.types.is_large_string(array.type):
        offsets = np.frombuffer(buffers[1], dtype=np.int64, count=n + 1, offset=8 * array.offset)
    else:
        offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=4 * array.offset)
    data = (np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None
            else np.zeros(1, dtype=np.uint8))
    canonical, status = core.normalise_column(offsets, data, patterns)
    if array.null_count:
        # Arrow does not promise empty offsets for null slots: a null plate is an empty one.
        nulls = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        canonical[nulls] = b""
        status[nulls] = int(PlateStatus.EMPTY)
    return canonical, status


def _normalise(column: pa.Array | pa.ChunkedArray, patterns: bool) -> tuple[np.ndarray, np.ndarray]:
    """Chunk by chunk, straight from Arrow's buffers: no combined or widened copy of the text."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if len(chunks) == 1:
        return _normalise_chunk(chunks[0], patterns)
    if not chunks:
        return np.zeros(0, dtype="S10"), np.zeros(0, dtype=np.uint8)
    parts = [_normalise_chunk(chunk, patterns) for chunk in chunks]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def canonical_plates(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An entry table's plate column as the core's fixed-width 'S10' array, without per-row
    Python objects (re-normalising canonical text is the identity; patterns keep '?' and '*')."""
    plates, _ = _normalise(column, patterns=True)
    return plates


def short_codes(column: pa.ChunkedArray | pa.Array, width: int = 3) -> np.ndarray:
    """A low-cardinality text column (countries) as a fixed-width bytes array."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(pc.fill_null(array, ""))
    dictionary = np.array([str(x).encode() for x in encoded.dictionary.to_pylist()],
                          dtype=f"S{width}")
    if len(dictionary) == 0:
        return np.zeros(len(array), dtype=f"S{width}")
    return _spread(dictionary, encoded.indices)


# Rows per step when a dictionary is spread back over a column: numpy indexes with 64-bit
# positions, and a national list's indices converted at once would be a temporary of 80 MB.
_SPREAD_ROWS = 1 << 20


def _spread(values: np.ndarray, indices: pa.Array) -> np.ndarray:
    """values[indices] for a dictionary's indices, a slice at a time."""
    positions = indices.to_numpy(zero_copy_only=False)
    out = np.empty(len(positions), dtype=values.dtype)
    for start in range(0, len(positions), _SPREAD_ROWS):
        part = slice(start, start + _SPREAD_ROWS)
        out[part] = values[positions[part]]
    return out


def _parse_times(column: pa.ChunkedArray, name: str, lines: np.ndarray,
                 report: ValidationReport, bad: np.ndarray) -> pa.Array:
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    utc = pa.timestamp("us", tz="UTC")
    if pa.types.is_timestamp(array.type):
        if array.type.tz is None:
            array = pc.assume_timezone(array, LOCAL_ZONE, ambiguous="earliest", nonexistent="latest")
        return array.cast(utc)
    if pa.types.is_date(array.type):
        array = pc.assume_timezone(array.cast(pa.timestamp("us")), LOCAL_ZONE,
                                   ambiguous="earliest", nonexistent="latest")
        return array.cast(utc)
    text = pc.utf8_trim_whitespace(array.cast(pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    # Zoned forms are absolute; the rest are Brussels local time.
    out = pa.nulls(len(text), utc)
    for fmt in _TIME_FORMATS + _DATE_FORMATS:
        parsed = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
        if fmt in _DATE_FORMATS and name == "valid_until":
            # "Valid until 31/12" means through that day: the end is the next local midnight.
            parsed = pc.add(parsed, pa.scalar(86_400_000_000, pa.duration("us")))
        if "%z" in fmt:
            parsed = parsed.cast(utc)
        else:
            parsed = pc.assume_timezone(parsed, LOCAL_ZONE, ambiguous="earliest",
                                        nonexistent="latest").cast(utc)
        out = pc.coalesce(out, parsed)
    unparsed = pc.and_(pc.is_valid(text), pc.is_null(out))
    unparsed_np = unparsed.to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(unparsed_np & ~bad):
        report.reject(int(lines[i]), name, "not a date or time (use YYYY-MM-DD or ISO 8601)")
    bad |= unparsed_np
    return out


def _country_column(column: pa.ChunkedArray | None, n: int, lines: np.ndarray,
                    report: ValidationReport, bad: np.ndarray) -> pa.Array:
    if column is None:
        return pc.fill_null(pa.nulls(n, pa.string()), "")
    # Few distinct countries: clean and check the dictionary, then spread it back by index.
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    encoded = pc.dictionary_encode(pc.fill_null(array, ""))
    clean = pc.utf8_upper(pc.utf8_trim_whitespace(encoded.dictionary))
    ok_values = pc.or_(pc.equal(clean, ""), pc.match_substring_regex(clean, r"^[A-Z]{1,3}$"))
    ok_np = np.asarray(ok_values.to_numpy(zero_copy_only=False), dtype=bool)
    wrong = (np.zeros(n, dtype=bool) if ok_np.all()   # the usual file: no bad country at all
             else ~_spread(ok_np, encoded.indices))
    text = clean.take(encoded.indices)
    for i in np.flatnonzero(wrong & ~bad):
        report.reject(int(lines[i]), "country", "not a country code of 1 to 3 letters")
    bad |= wrong
    return text.cast(pa.string())


def load_entries(path: str | Path) -> tuple[pa.Table, ValidationReport]:
    """Validated entries of a file (bad rows left out) and the report of what was left out.

    The table has one row per valid entry: entry_no, line, plate (canonical or pattern), pattern,
    country, reason, reference, valid_from, valid_until, then the file's other columns as free
    fields. The caller decides whether the report's rejections refuse the whole file.
    """
    table, lines, report = read_table(path)
    return validate_entries(table, lines, report)


def entries_from_rows(rows: list[dict[str, Any]], source: str = "delta") -> tuple[pa.Table, ValidationReport]:
    """Entries given inline (a delta) validated exactly as a file's rows; line = position from 1."""
    names: list[str] = []
    for row in rows:
        names.extend(k for k in row if k not in names)
    if "plate" not in names:
        names.insert(0, "plate")
    columns = {name: pa.array([None if row.get(name) is None else str(row.get(name))
                                for row in rows], pa.string()) for name in names}
    table = pa.table(columns) if rows else pa.table({"plate": pa.array([], pa.string())})
    report = ValidationReport(source=source)
    return validate_entries(table, np.arange(1, len(rows) + 1, dtype=np.int32), report)


def validate_entries(table: pa.Table, lines: np.ndarray,
                     report: ValidationReport) -> tuple[pa.Table, ValidationReport]:
    """Rows of `table` (from source `lines`) checked and normalised; see load_entries."""
    source = report.source
    n = table.num_rows
    report.rows = n + report.rejected_count
    if n == 0:
        report.valid = 0
        return table, report
    columns = map_columns(table, source)
    raw = table.column(columns["plate"])
    if not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)):
        raw = raw.cast(pa.string())
    is_pattern = np.asarray(pc.fill_null(pc.match_substring_regex(raw, r"[?*]"), False)
                            .to_numpy(zero_copy_only=False), dtype=bool)
    canonical, status = _normalise(raw, patterns=False)
    if is_pattern.any():
        pattern_text, pattern_status = _normalise(raw, patterns=True)
        canonical = np.where(is_pattern, pattern_text, canonical)
        status = np.where(is_pattern, pattern_status, status)
    bad = status != 0
    for i in np.flatnonzero(bad):
        report.reject(int(lines[i]), "plate", STATUS_REASONS[PlateStatus(int(status[i]))])

    country = _country_column(table.column(columns["country"]) if "country" in columns else None,
                              n, lines, report, bad)
    times: dict[str, pa.Array] = {}
    for name in ("valid_from", "valid_until"):
        if name in columns:
            times[name] = _parse_times(table.column(columns[name]), name, lines, report, bad)
        else:
            times[name] = pa.nulls(n, pa.timestamp("us", tz="UTC"))
    inverted = pc.fill_null(pc.greater(times["valid_from"], times["valid_until"]), False)
    inverted_np = inverted.to_numpy(zero_copy_only=False) & ~bad
    for i in np.flatnonzero(inverted_np):
        report.reject(int(lines[i]), "valid_until", "is before valid_from")
    bad |= inverted_np

    # A national list is millions of rows: when nothing was rejected, columns are passed on as
    # they are instead of copied through a filter.
    any_bad = bool(bad.any())
    keep = pa.array(~bad)

    def kept(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        return column.filter(keep) if any_bad else column

    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    valid = int(n - np.count_nonzero(bad))
    out["entry_no"] = pa.array(np.arange(valid, dtype=np.uint32))
    out["line"] = pa.array((lines[~bad] if any_bad else lines).astype(np.int32, copy=False))
    out["plate"] = pc.cast(pa.array(canonical[~bad] if any_bad else canonical), pa.string())
    out["pattern"] = pa.array(is_pattern[~bad] if any_bad else is_pattern)
    out["country"] = kept(country)
    for name in ("reason", "reference"):
        if name in columns:
            column = table.column(columns[name])
            if not pa.types.is_string(column.type):
                column = column.cast(pa.string())
            out[name] = kept(column)
        else:
            # Absent columns stay typeless nulls: no buffer of n empty values.
            out[name] = pa.nulls(valid)
    for name in ("valid_from", "valid_until"):
        column = times[name]
        out[name] = pa.nulls(valid) if column.null_count == len(column) else kept(column)
    used = set(columns.values())
    for name in table.column_names:
        if name not in used and name not in out:
            out[name] = kept(table.column(name))
    report.valid = valid
    return pa.table(out), report
