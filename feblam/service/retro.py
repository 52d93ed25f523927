"""The retroactive buffer: recent reads kept as keyed hashes, searched when entries are added.

An entry added now should also catch the vehicle that passed an hour ago. Reads that hit nothing
must not be kept in clear, so the buffer keeps, per read, only keyed hashes (the core's keyed hash,
with a secret drawn per process) of its canonical plate and of its OCR key, next to the read's
metadata. Without the key the hashes cannot be turned back into plates by hashing every possible
plate; the key dies with the process, and so does the buffer. Reads older than the window are
purged.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feblam._native import core

U64 = npt.NDArray[np.uint64]


def _ocr_table(spec: str) -> npt.NDArray[np.uint8]:
    """Each byte's confusion-class representative, as the core's classes define it."""
    classes = core.ConfusionClasses(spec)
    table = np.arange(256, dtype=np.uint8)
    for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
        table[ord(ch)] = ord(classes.representative(ch))
    return table


class PlateKeys:
    """Keyed hashes of canonical plates and of their OCR keys, with this process's secret."""

    def __init__(self, seed: int | None = None, classes: str | None = None) -> None:
        self._seed = secrets.randbits(64) if seed is None else seed
        self._ocr = _ocr_table(classes or core.DEFAULT_CONFUSION_CLASSES)

    @property
    def seed(self) -> int:
        """The secret, for the core's batch reader; it must never leave the process."""
        return self._seed

    @property
    def ocr_table(self) -> bytes:
        """Each byte's OCR class representative, for the core's batch reader."""
        return self._ocr.tobytes()

    def hashes(self, canonical: npt.NDArray[np.bytes_]) -> U64:
        if canonical.dtype.kind != "S":
            canonical = np.asarray(canonical, dtype=np.bytes_)
        return core.keyed_hashes(canonical, self._seed)

    def ocr_hashes(self, canonical: npt.NDArray[np.bytes_]) -> U64:
        """Hashes of the plates' OCR keys, as the core's batch reader computes them."""
        return self.hashes(self.ocr_keys(canonical))

    def ocr_keys(self, canonical: npt.NDArray[np.bytes_]) -> npt.NDArray[np.bytes_]:
        if len(canonical) == 0:
            return canonical
        width = canonical.dtype.itemsize
        matrix = np.ascontiguousarray(canonical).view(np.uint8).reshape(len(canonical), width)
        return self._ocr[matrix].view(f"S{width}").ravel()


class PackedTexts:
    """A column of short texts in one string: a million buffered read ids stay one object, which
    the cyclic garbage collector never has to walk (a list of them would stall it)."""

    __slots__ = ("_blob", "_starts", "_ends")

    def __init__(self, texts: Sequence[str]) -> None:
        ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        self._set("".join(texts), ends)

    @classmethod
    def packed(cls, blob: str, ends: npt.NDArray[np.int64],
               starts: npt.NDArray[np.int64] | None = None) -> PackedTexts:
        """A column already packed: the texts joined, and each one's end (and start, when the
        packer knows it) in code points."""
        out = cls.__new__(cls)
        out._set(blob, ends)
        out._starts = starts
        return out

    def _set(self, blob: str, ends: npt.NDArray[np.int64]) -> None:
        self._blob = blob
        self._ends = ends
        self._starts: npt.NDArray[np.int64] | None = None  # worked out when first asked for

    def _begins(self) -> npt.NDArray[np.int64]:
        # Most batches' ids are never looked at one by one (no hit, all accepted).
        if self._starts is None:
            self._starts = np.concatenate(([0], self._ends[:-1])).astype(np.int64)
        return self._starts

    def take(self, index: npt.NDArray[np.intp]) -> PackedTexts:
        """The texts at index, sharing this column's string: no Python work per text."""
        if len(index) == len(self):
            return self
        out = PackedTexts.__new__(PackedTexts)
        out._blob = self._blob
        out._starts = self._begins()[index]
        out._ends = self._ends[index]
        return out

    def __len__(self) -> int:
        return len(self._ends)

    def columns(self) -> tuple[str, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The shared string and each text's start and end in it, in code points."""
        return self._blob, self._begins(), self._ends

    def __getitem__(self, i: int) -> str:
        return self._blob[int(self._begins()[i]):int(self._ends[i])]


@dataclass(frozen=True)
class RetroChunk:
    """The accepted reads of one batch, without their plates."""

    plate_hash: U64
    ocr_hash: U64
    observed_us: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float32]
    countries: PackedTexts
    read_ids: PackedTexts
    camera_ids: PackedTexts
    newest_us: int
    integrator: str = ""  # who sent the batch: read ids are unique per integrator

    def __len__(self) -> int:
        return len(self.read_ids)


@dataclass(frozen=True)
class RetroCandidate:
    """A buffered read whose hash equals an added entry's; `entry` indexes the added entries."""

    entry: int
    exact: bool
    read_id: str
    camera_id: str
    observed_us: int
    confidence: float
    country: str
    integrator: str = ""


class RetroBuffer:
    def __init__(self, keys: PlateKeys, hours: float = 24.0, max_reads: int = 2_000_000) -> None:
        self.keys = keys
        self.window_us = int(hours * 3600e6)
        self.max_reads = max_reads
        self._chunks: deque[RetroChunk] = deque()
        self._reads = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._reads

    def add(self, chunk: RetroChunk, now_us: int) -> None:
        if self.window_us <= 0 or self.max_reads <= 0 or len(chunk) == 0:
            return
        with self._lock:
            self._chunks.append(chunk)
            self._reads += len(chunk)
            self._purge(now_us)

    def purge(self, now_us: int) -> None:
        with self._lock:
            self._purge(now_us)

    def _purge(self, now_us: int) -> None:
        horizon = now_us - self.window_us
        while self._chunks and (self._reads > self.max_reads
                                or self._chunks[0].newest_us < horizon):
            self._reads -= len(self._chunks.popleft())

    def search(self, entry_plates: Sequence[bytes], *, exact: bool, ocr: bool,
               now_us: int) -> list[RetroCandidate]:
        """Buffered reads within the window whose plate (or OCR key) equals an entry's."""
        if not entry_plates or not (exact or ocr):
            return []
        plates = np.array(list(entry_plates), dtype="S10")
        plate_hash = self.keys.hashes(plates)
        ocr_hash = self.keys.ocr_hashes(plates)
        by_plate: dict[int, list[int]] = {}
        by_ocr: dict[int, list[int]] = {}
        for i in range(len(plates)):
            by_plate.setdefault(int(plate_hash[i]), []).append(i)
            by_ocr.setdefault(int(ocr_hash[i]), []).append(i)
        with self._lock:
            chunks = list(self._chunks)
        horizon = now_us - self.window_us
        out: list[RetroCandidate] = []
        for chunk in chunks:
            if chunk.newest_us < horizon:
                continue
            recent = chunk.observed_us >= horizon
            hit_plate = np.isin(chunk.plate_hash, plate_hash) & recent
            hit_ocr = np.isin(chunk.ocr_hash, ocr_hash) & recent & ~hit_plate if ocr else None
            rows = np.flatnonzero(hit_plate | hit_ocr) if hit_ocr is not None else np.flatnonzero(hit_plate)
            for row in rows.tolist():
                if hit_plate[row]:
                    if not exact:
                        continue
                    entries = by_plate[int(chunk.plate_hash[row])]
                else:
                    # Same OCR key, different plate: an OCR match, never the entry itself.
                    entries = [e for e in by_ocr[int(chunk.ocr_hash[row])]
                               if int(plate_hash[e]) != int(chunk.plate_hash[row])]
                for entry in entries:
                    out.append(RetroCandidate(entry, bool(hit_plate[row]), chunk.read_ids[row],
                                              chunk.camera_ids[row], int(chunk.observed_us[row]),
                                              float(chunk.confidence[row]), chunk.countries[row],
                                              chunk.integrator))
        return out
