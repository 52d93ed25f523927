"""The quality bench's ceiling on a hand-made scene: what an oracle recovers under each list's kinds."""

from __future__ import annotations

import numpy as np

from feblam.bench import synth
from feblam.bench.quality import FIRM, NEAR, QualityList, Scene, ceiling

# Vehicles: 0 and 2 Belgian, 1 Dutch (sidecode 10, L999LL), 3 on no list.
PLATES = ["1ABC123", "Z725UC", "1AOC123", "2DEF456"]
COUNTRY = ["BE", "NL", "BE", "BE"]
FIRM_LIST, NEAR_LIST = 3, 1
# (vehicle, emitted plate, noise); on the firm list: 0, 1, 2; on the near list: 0, 2.
READS = [
    (0, "1ABC123", synth.Noise.CLEAN),  # both lists
    (0, "1A8C123", synth.Noise.CLASS_SUB),  # BE 9LLL999 determines B: both lists
    (2, "1ADC123", synth.Noise.CLASS_SUB),  # O read as D, both letters: only OCR, the near list
    (0, "1ABC12", synth.Noise.DROPPED),  # only FUZZY, the near list
    (1, "Z72SUC", synth.Noise.CLASS_SUB),  # sidecode 10 determines 5: the firm list
    (0, "1AXC123", synth.Noise.OTHER_SUB),  # only FUZZY, the near list
    (3, "2DEF456", synth.Noise.CLEAN),  # an unlisted vehicle counts nowhere
    (2, "1ADC1Z3", synth.Noise.CLASS_SUB2),  # Z is determined, D for O is not: the near list
]


def tiny_scene() -> Scene:
    population = synth.Vehicles(
        np.array(PLATES, dtype="S10"),
        np.array([synth.COUNTRIES.index(c) for c in COUNTRY], dtype=np.uint8),
        np.zeros(len(PLATES), dtype=np.uint16),
    )
    firm, near = synth.ListSpec("firm", FIRM_LIST, 3), synth.ListSpec("near", NEAR_LIST, 2)
    listed = [(0, FIRM_LIST), (1, FIRM_LIST), (2, FIRM_LIST), (0, NEAR_LIST), (2, NEAR_LIST)]
    lists = synth.Watchlists(
        plates=np.array([PLATES[v] for v, _ in listed], dtype="S10"),
        countries=np.array([COUNTRY[v] for v, _ in listed], dtype="S2"),
        list_ids=np.array([lid for _, lid in listed], dtype=np.uint16),
        entry_nos=np.arange(1, len(listed) + 1, dtype=np.uint32),
        vehicle=np.array([v for v, _ in listed], dtype=np.int64),
        specs=(firm, near),
    )
    n = len(READS)
    traffic = synth.Traffic(
        raw=np.array([s for _, s, _ in READS], dtype="S16"),
        country=np.array([COUNTRY[v] for v, _, _ in READS], dtype="S3"),
        confidence=np.full(n, 0.9, dtype=np.float32),
        vehicle=np.array([v for v, _, _ in READS], dtype=np.int64),
        emitted=np.array([s for _, s, _ in READS], dtype="S10"),
        noise=np.array([k for _, _, k in READS], dtype=np.uint8),
        country_noise=np.zeros(n, dtype=np.uint8),
        styled=np.zeros(n, dtype=bool),
    )
    return Scene(population, lists, (QualityList(firm, FIRM), QualityList(near, NEAR, near=True)), traffic, 3)


def test_ceiling_counts_what_each_lists_kinds_could_recover() -> None:
    scene = tiny_scene()
    none = np.zeros(0, dtype=np.int64)
    report = ceiling(scene, none, none)
    # Firm: reads 0, 1, 4 of 0-5 and 7. Near: all of 0, 1, 2, 3, 5, 7 (read 4 is of vehicle 1).
    assert report["lists"]["firm"]["expected"] == 7
    assert report["lists"]["firm"]["recoverable"] == 3
    assert report["lists"]["near"]["expected"] == 6
    assert report["lists"]["near"]["recoverable"] == 6
    assert (report["expected"], report["recoverable"]) == (13, 9)
    assert report["recall"] == 9 / 13
    assert report["policy_gap"] == 4 / 13
    by_noise = {name: (f["expected"], f["recoverable"]) for name, f in report["recall_by_noise"].items()}
    assert by_noise == {"CLEAN": (2, 2), "CLASS_SUB": (5, 4), "CLASS_SUB2": (2, 1), "OTHER_SUB": (2, 1),
                        "DROPPED": (2, 1)}
    # Nothing found: every recoverable pair is the matcher's to find.
    assert report["found"] == 0
    assert report["matcher_gap"] == 9 / 13


def test_ceiling_sets_found_pairs_against_recoverable_ones() -> None:
    scene = tiny_scene()
    entry_of = {(int(v), int(lid)): e for e, (v, lid) in enumerate(zip(scene.lists.vehicle, scene.lists.list_ids))}
    # Read 0 right on both lists, read 2 right on the firm list (beyond the oracle: O for D is
    # no format's to decide), read 6 wrongly on the near list (not a found pair).
    alerts = [(0, (0, FIRM_LIST)), (0, (0, NEAR_LIST)), (2, (2, FIRM_LIST)), (6, (0, NEAR_LIST))]
    read = np.array([r for r, _ in alerts], dtype=np.int64)
    entry = np.array([entry_of[k] for _, k in alerts], dtype=np.int64)
    report = ceiling(scene, read, entry)
    assert report["found"] == 3
    assert report["found_beyond"] == 1
    assert report["recoverable_missed"] == 7
    assert report["matcher_gap"] == 7 / 13
    firm = report["lists"]["firm"]
    assert (firm["found"], firm["found_beyond"], firm["recoverable_missed"]) == (2, 1, 2)
