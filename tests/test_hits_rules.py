"""Hit rules without servers: priority, ids, suppression windows, keyed plate hashes, retro buffer."""

from __future__ import annotations

import numpy as np
import xxhash

from feblam.hits.identity import hit_id, sighting_id
from feblam.hits.priority import EXACT, FUZZY, OCR, PATTERN, prioritise
from feblam.hits.suppression import SuppressionWindows
from feblam.service.retro import PackedTexts, PlateKeys, RetroBuffer, RetroChunk


def test_priority_follows_list_then_kind_then_confidence() -> None:
    assert prioritise(1, EXACT, 0.95, 0.9) == (1, 0.95)
    assert prioritise(1, OCR, 0.7, 0.9)[0] == 2
    assert prioritise(1, FUZZY, 0.5, 0.3)[0] == 3
    assert prioritise(2, PATTERN, 0.4, 0.9)[0] == 4
    assert prioritise(9, PATTERN, 0.4, 0.1)[0] == 9
    # Within one priority a better score ranks first.
    assert prioritise(3, EXACT, 0.99, 1.0)[1] > prioritise(3, EXACT, 0.6, 1.0)[1]


def test_hit_ids_are_stable_and_distinguish_list_entry_and_zone() -> None:
    a = hit_id("read-1", 1, 7)
    assert a == hit_id("read-1", 1, 7)
    assert len({a, hit_id("read-1", 2, 7), hit_id("read-1", 1, 8), hit_id("read-2", 1, 7),
                hit_id("read-1", 1, 7, "centre")}) == 5
    assert sighting_id(a, "read-9") != sighting_id(a, "read-8")


def test_read_ids_are_scoped_by_integrator_and_unnamed_ones_keep_their_ids() -> None:
    # An engine that does not tell integrators apart derives ids as it always did.
    assert hit_id("read-1", 1, 7) == xxhash.xxh3_128_hexdigest(b"read-1\x1f1\x1f7\x1f")
    assert hit_id("read-1", 1, 7, "", "") == hit_id("read-1", 1, 7)
    ids = {hit_id("read-1", 1, 7), hit_id("read-1", 1, 7, "", "vendor-a"),
           hit_id("read-1", 1, 7, "", "vendor-b")}
    assert len(ids) == 3
    a = hit_id("read-1", 1, 7)
    assert len({sighting_id(a, "read-9"), sighting_id(a, "read-9", "vendor-a"),
                sighting_id(a, "read-9", "vendor-b")}) == 3


def test_suppression_window_is_per_key_and_bounded_in_time() -> None:
    windows = SuppressionWindows()
    key, other = (1, 7, 111), (1, 8, 222)
    windows.open(key, "h1", 1, 1_000_000, 300)
    assert windows.open_hit(key, 1_000_000 + 299_000_000) is not None
    assert windows.open_hit(key, 1_000_000 + 300_000_000) is None
    assert windows.open_hit(other, 2_000_000) is None
    windows.open(other, "h2", 1, 2_000_000, 0)   # a zero window suppresses nothing
    assert windows.open_hit(other, 2_000_001) is None
    assert windows.purge(10_000_000_000) == 1 and len(windows) == 0


def test_plate_keys_are_keyed_per_process_and_ocr_keys_fold_confusables() -> None:
    plates = np.array([b"1ABC123", b"1A8C123", b"XYW7"], dtype="S10")
    one, two = PlateKeys(), PlateKeys()
    assert not np.array_equal(one.hashes(plates), two.hashes(plates))
    keys = one.ocr_keys(plates)
    assert keys[0] == keys[1] and keys[0] != plates[0]
    ocr = one.ocr_hashes(plates)
    assert ocr[0] == ocr[1] and ocr[2] == one.hashes(plates)[2]


def test_retro_buffer_finds_exact_and_ocr_reads_and_forgets_old_ones() -> None:
    keys = PlateKeys(seed=5)
    hour = 3600 * 10**6
    now = 100 * hour
    buffer = RetroBuffer(keys, hours=24, max_reads=10)

    def chunk(plates: list[bytes], ids: list[str], when: int) -> RetroChunk:
        arr = np.array(plates, dtype="S10")
        h = keys.hashes(arr)
        n = len(plates)
        return RetroChunk(h, keys.ocr_hashes(arr), np.full(n, when, np.int64),
                          np.full(n, 0.9, np.float32), PackedTexts(["BE"] * n), PackedTexts(ids),
                          PackedTexts(["cam"] * n), when)

    buffer.add(chunk([b"1ABC123", b"7QQQ777"], ["old-1", "old-2"], now - 30 * hour), now - 30 * hour)
    buffer.add(chunk([b"1ABC123", b"1A8C123", b"5OTHER"], ["r1", "r2", "r3"], now - hour), now)
    assert len(buffer) == 3   # the 30-hour-old chunk was purged
    found = buffer.search([b"1ABC123"], exact=True, ocr=True, now_us=now)
    assert sorted((c.read_id, c.exact) for c in found) == [("r1", True), ("r2", False)]
    assert buffer.search([b"1ABC123"], exact=True, ocr=False, now_us=now)[0].read_id == "r1"
    assert buffer.search([b"7QQQ777"], exact=True, ocr=True, now_us=now) == []
