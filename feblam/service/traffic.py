"""Synthetic watchlists and camera reads for the demo and the service benchmark (seeded)."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from feblam.bench import synth
from feblam.v1 import reads_pb2

DEFINITIONS = """
[[list]]
id = 1
name = "stolen"
category = "stolen"
priority = 1
action = "intercept"
kinds = ["exact", "resolved", "ocr"]
suppression_s = 300

[[list]]
id = 2
name = "wanted"
category = "wanted"
priority = 2
action = "observe_discreetly"
kinds = ["exact", "resolved", "ocr", "fuzzy"]
near_max_confidence = 0.9
fuzzy_max_confidence = 0.3
suppression_s = 300

[[list]]
id = 3
name = "uninsured"
category = "uninsured"
priority = 5
action = "report_only"
kinds = ["exact", "resolved"]
suppression_s = 3600

[[list]]
id = 4
name = "witness-partials"
category = "partial"
priority = 4
action = "report_only"
kinds = ["pattern"]
suppression_s = 600

[[list]]
id = 5
name = "covert-watch"
category = "wanted"
priority = 3
action = "observe_discreetly"
covert = true
recipients = ["unit-ops"]
kinds = ["exact"]
"""
SPECS = (synth.ListSpec("stolen", 1, 400), synth.ListSpec("wanted", 2, 200),
         synth.ListSpec("uninsured", 3, 1500), synth.ListSpec("witness-partials", 4, 10, partial=True),
         synth.ListSpec("covert-watch", 5, 50))
REGIONS = ("BRU", "ANT", "GNT", "LIE", "NAM")
# A city whose every camera watches a deny-mode low-emission zone: listed non-compliant vehicles
# raise a zone hit wherever they are read.
LEZ_SPEC = synth.ListSpec("lez-noncompliant", 6, 1500)
LEZ_DEFINITION = """
[[list]]
id = 6
name = "lez-noncompliant"
category = "lez"
priority = 6
action = "report_only"
kinds = ["exact", "resolved"]
zone = "lez"
"""


def add_traffic_arguments(parser: argparse.ArgumentParser) -> None:
    """The scenario choices the service bench and the replay tools share."""
    parser.add_argument("--listed-share", type=float, default=0.01,
                        help="share of reads of listed vehicles")
    parser.add_argument("--low-emission-zone", action="store_true",
                        help="every camera also watches a deny-mode low-emission zone")


@dataclass
class Scenario:
    """Files of a synthetic deployment and the reads to replay."""

    definitions: Path
    lists: dict[str, str]
    cameras: Path
    camera_ids: list[str]
    traffic: synth.Traffic
    unlisted_plates: np.ndarray
    unlisted_countries: np.ndarray
    zones: Path | None = None


def build_scenario(directory: Path, *, reads: int, seed: int = 7, listed_share: float = 0.01,
                   vehicles: int = 50_000, cameras: int = 40, suppression: bool = True,
                   low_emission_zone: bool = False) -> Scenario:
    """Lists, cameras and reads; without suppression every listed read raises its own hit.
    With low_emission_zone every camera also watches a deny-mode zone with a list of its own."""
    rng = np.random.default_rng(seed)
    catalogue = synth.FormatCatalogue.build()
    population = synth.generate_vehicles(rng, vehicles, catalogue)
    listed = np.arange(3000, dtype=np.int64)
    unlisted = np.arange(3000, vehicles, dtype=np.int64)
    specs = SPECS + (LEZ_SPEC,) if low_emission_zone else SPECS
    lists = synth.generate_watchlists(rng, population, listed, specs)
    directory.mkdir(parents=True, exist_ok=True)
    definitions = directory / "lists.toml"
    text = DEFINITIONS + (LEZ_DEFINITION if low_emission_zone else "")
    if not suppression:
        text = re.sub(r"suppression_s = \d+", "suppression_s = 0", text)
    definitions.write_text(text, encoding="utf-8")
    files: dict[str, str] = {}
    for spec in specs:
        mine = lists.list_ids == spec.list_id
        path = directory / f"{spec.name}.csv"
        rows = ["plate;country;reason;reference"]
        for n, (plate, country) in enumerate(zip(lists.plates[mine], lists.countries[mine])):
            rows.append(f"{plate.decode()};{country.decode()};{spec.name};CASE-{spec.list_id}-{n:05d}")
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        files[str(spec.list_id)] = str(path)
    camera_ids = [f"cam-{n:03d}" for n in range(cameras)]
    registry = directory / "cameras.csv"
    registry.write_text("camera_id;region\n" + "".join(
        f"{c};{REGIONS[n % len(REGIONS)]}\n" for n, c in enumerate(camera_ids)), encoding="utf-8")
    zones = None
    if low_emission_zone:
        zones = directory / "zones.toml"
        watched = ", ".join(f'"{c}"' for c in camera_ids)
        zones.write_text(f'[[zone]]\nname = "lez"\nmode = "deny"\nlists = [6]\n'
                         f'cameras = [{watched}]\n'
                         f'suppression = "{"per_day" if suppression else "none"}"\n',
                         encoding="utf-8")
    traffic = synth.generate_traffic(rng, population, listed, unlisted, reads, listed_share,
                                     synth.NoiseRates())
    spare = population.take(unlisted[-100:])
    return Scenario(definitions, files, registry, camera_ids, traffic, spare.plates,
                    spare.country_codes(), zones)


def batches(scenario: Scenario, batch_size: int, *, prefix: str = "r",
            start: int = 0, count: int | None = None) -> list[reads_pb2.ReadBatch]:
    """Reads start.. of the scenario as ReadBatch messages, observed now."""
    return list(iter_batches(scenario, batch_size, prefix=prefix, start=start, count=count))


def iter_batches(scenario: Scenario, batch_size: int, *, prefix: str = "r",
                 start: int = 0, count: int | None = None) -> Iterator[reads_pb2.ReadBatch]:
    """batches(), made one at a time: a long replay never holds every message at once."""
    t = scenario.traffic
    n = len(t) - start if count is None else min(count, len(t) - start)
    cams = scenario.camera_ids
    now = int(time.time() * 1e6)
    for b, first in enumerate(range(0, n, batch_size)):
        last = min(n, first + batch_size)
        raw = [p.decode("ascii", "replace") for p in t.raw[start + first:start + last].tolist()]
        countries = [c.decode("ascii", "replace")
                     for c in t.country[start + first:start + last].tolist()]
        confidence = t.confidence[start + first:start + last].tolist()
        reads = [reads_pb2.Read(read_id=f"{prefix}b{b}-{start + i}", camera_id=cams[i % len(cams)],
                                observed_us=now, raw_plate=raw[i - first],
                                country=countries[i - first], confidence=confidence[i - first],
                                image_ref=f"img://{prefix}{start + i}")
                 for i in range(first, last)]
        yield reads_pb2.ReadBatch(batch_id=f"{prefix}b{b}", reads=reads)
