"""The synthetic traffic generator: seeded, true to the national formats, noisy at its stated rates."""

from __future__ import annotations

import re

import numpy as np
import pytest

from feblam.bench import synth
from feblam.reference.confusion import ConfusionClasses
from feblam.reference.formats import ReferenceFormats, default_format_spec
from feblam.reference.normalise import normalise_plate

FORMATS = ReferenceFormats(default_format_spec(), ConfusionClasses())
CLASSES = ConfusionClasses(synth.CONFUSION_CLASSES)
CATALOGUE = synth.FormatCatalogue.build()


def _text(b: bytes) -> str:
    return b.decode("ascii")


def _traffic(seed: int, n: int = 4000) -> tuple[synth.Vehicles, synth.Traffic]:
    rng = np.random.default_rng(seed)
    population = synth.generate_vehicles(rng, 2000, CATALOGUE)
    listed = np.arange(100, dtype=np.int64)
    unlisted = np.arange(100, 2000, dtype=np.int64)
    return population, synth.generate_traffic(rng, population, listed, unlisted, n, 0.2, synth.NoiseRates())


def test_same_seed_same_traffic_other_seed_other_traffic() -> None:
    _, a = _traffic(7)
    _, b = _traffic(7)
    _, c = _traffic(8)
    for name in ("raw", "country", "confidence", "vehicle", "emitted", "noise", "country_noise", "styled"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.raw, c.raw)


def test_plates_fit_their_country_formats_exactly() -> None:
    vehicles = synth.generate_plates(np.random.default_rng(1), 20000, CATALOGUE)
    seen_countries = set()
    for plate, country, fmt in zip(vehicles.plates.tolist(), vehicles.country, vehicles.fmt):
        code = synth.COUNTRIES[country]
        seen_countries.add(code)
        assert FORMATS.fits_exactly(_text(plate), code), (plate, code)
        assert CATALOGUE.formats[fmt].country == code
        assert len(plate) == len(CATALOGUE.formats[fmt].pattern)
    assert seen_countries == set(synth.COUNTRIES)


def test_excluded_letters_never_appear_in_letter_positions() -> None:
    vehicles = synth.generate_plates(np.random.default_rng(2), 20000, CATALOGUE)
    fr = vehicles.plates[vehicles.country == synth.COUNTRIES.index("FR")]
    uk = vehicles.plates[vehicles.country == synth.COUNTRIES.index("UK")]
    assert len(fr) > 100 and len(uk) > 50
    assert not any(set(_text(p)) & set("IOU") for p in fr.tolist())
    assert not any(set(_text(p)) & set("IQ") for p in uk.tolist())


def test_country_shares_follow_the_traffic_mix() -> None:
    vehicles = synth.generate_plates(np.random.default_rng(3), 200_000, CATALOGUE)
    share = np.bincount(vehicles.country, minlength=len(synth.COUNTRIES)) / len(vehicles)
    mix = synth.TrafficMix().countries
    for i, code in enumerate(synth.COUNTRIES):
        assert share[i] == pytest.approx(mix[code] / sum(mix.values()), abs=0.005), code


def test_vehicles_are_distinct_by_plate_and_country() -> None:
    rng = np.random.default_rng(4)
    # Small formats saturate quickly: the generator must still deliver distinct vehicles.
    vehicles = synth.generate_vehicles(rng, 50_000, CATALOGUE)
    assert len(vehicles) == 50_000
    keys = {(p, c) for p, c in zip(vehicles.plates.tolist(), vehicles.country.tolist())}
    assert len(keys) == 50_000


def test_pack_keys_is_lossless() -> None:
    vehicles = synth.generate_plates(np.random.default_rng(5), 5000, CATALOGUE)
    keys = synth.pack_keys(vehicles.plates, vehicles.country)
    pairs = set(zip(vehicles.plates.tolist(), vehicles.country.tolist()))
    assert len(np.unique(keys)) == len(pairs)


def test_noise_rates_within_tolerance() -> None:
    rates = synth.NoiseRates()
    _, traffic = _traffic(11, n=200_000)
    n = len(traffic)

    def share(mask: np.ndarray) -> float:
        return float(np.count_nonzero(mask)) / n

    def close(observed: float, expected: float) -> bool:
        # Five standard deviations of a binomial share.
        return abs(observed - expected) <= 5 * np.sqrt(expected * (1 - expected) / n) + 1e-4

    for kind, rate in (
        (synth.Noise.OTHER_SUB, rates.other_sub),
        (synth.Noise.DROPPED, rates.dropped),
        (synth.Noise.ADDED, rates.added),
    ):
        assert close(share(traffic.noise == kind), rate), kind
    # Plates without confusable characters cannot carry class errors; a few fall back to clean.
    assert rates.class_sub * 0.9 <= share(traffic.noise == synth.Noise.CLASS_SUB) <= rates.class_sub * 1.05
    assert rates.class_sub2 * 0.8 <= share(traffic.noise == synth.Noise.CLASS_SUB2) <= rates.class_sub2 * 1.1
    assert close(share(traffic.country_noise == synth.CountryNoise.MISSING), rates.country_missing)
    assert close(share(traffic.country_noise == synth.CountryNoise.WRONG), rates.country_wrong)
    lower = np.array([any(ch.islower() for ch in _text(r)) for r in traffic.raw.tolist()])
    assert share(lower) == pytest.approx(rates.lower_case, rel=0.1)
    dashed = np.array([b"-" in r or b" " in r or b"." in r for r in traffic.raw.tolist()])
    assert share(dashed) == pytest.approx(rates.human_style + rates.stray_separator, abs=0.03)


def test_confidence_lower_on_errors_but_overlapping() -> None:
    _, traffic = _traffic(12, n=100_000)
    clean = traffic.confidence[traffic.noise == synth.Noise.CLEAN]
    bad = traffic.confidence[traffic.noise != synth.Noise.CLEAN]
    assert 0.0 <= traffic.confidence.min() and traffic.confidence.max() <= 1.0
    assert clean.mean() > bad.mean() + 0.1
    assert np.mean(clean < 0.8) > 0.01  # clean reads are sometimes unsure
    assert np.mean(bad > 0.9) > 0.01  # bad reads are sometimes confident


def test_ground_truth_explains_every_read() -> None:
    population, traffic = _traffic(13, n=20_000)
    codes = {synth.REGISTRATION_CODES[c] for c in synth.COUNTRIES} | set(synth.COUNTRIES)
    for i in range(len(traffic)):
        true = _text(population.plates[traffic.vehicle[i]])
        true_country = synth.COUNTRIES[population.country[traffic.vehicle[i]]]
        emitted = _text(traffic.emitted[i])
        canonical, status = normalise_plate(_text(traffic.raw[i]))
        assert status == 0 and canonical == emitted
        kind = synth.Noise(traffic.noise[i])
        if kind == synth.Noise.CLEAN:
            assert emitted == true
        elif kind in (synth.Noise.CLASS_SUB, synth.Noise.CLASS_SUB2):
            diff = sum(a != b for a, b in zip(emitted, true))
            assert len(emitted) == len(true) and CLASSES.ocr_key(emitted) == CLASSES.ocr_key(true)
            assert diff == (1 if kind == synth.Noise.CLASS_SUB else 2)
        elif kind == synth.Noise.OTHER_SUB:
            assert len(emitted) == len(true) and sum(a != b for a, b in zip(emitted, true)) == 1
            assert CLASSES.ocr_key(emitted) != CLASSES.ocr_key(true)
        elif kind == synth.Noise.DROPPED:
            assert any(true[:p] + true[p + 1 :] == emitted for p in range(len(true)))
        else:
            assert any(emitted[:p] + emitted[p + 1 :] == true for p in range(len(emitted)))
        shown = _text(traffic.country[i])
        cn = synth.CountryNoise(traffic.country_noise[i])
        if cn == synth.CountryNoise.MISSING:
            assert shown == ""
        else:
            assert shown in codes
            assert (FORMATS.canonical_country(shown) == true_country) == (cn == synth.CountryNoise.CORRECT)


def test_watchlists_name_their_vehicles() -> None:
    rng = np.random.default_rng(21)
    population = synth.generate_vehicles(rng, 5000, CATALOGUE)
    specs = [
        synth.ListSpec("stolen", 1, 300, country_share=0.5),
        synth.ListSpec("lez", 2, 2000, country_share=1.0),
        synth.ListSpec("partial", 3, 40, partial=True),
    ]
    lists = synth.generate_watchlists(rng, population, np.arange(3000, dtype=np.int64), specs)
    assert len(lists) == 2340
    assert len(set(lists.entry_nos.tolist())) == len(lists)
    for lid, size in ((1, 300), (2, 2000), (3, 40)):
        assert np.count_nonzero(lists.list_ids == lid) == size
        assert len(set(lists.vehicle[lists.list_ids == lid].tolist())) == size
    assert lists.vehicle.max() < 3000
    for plate, country, lid, v in zip(lists.plates.tolist(), lists.countries.tolist(), lists.list_ids, lists.vehicle):
        true = _text(population.plates[v])
        assert country in (b"", synth.COUNTRIES[population.country[v]].encode())
        if lid == 2:
            assert country != b""
        if lid == 3:
            pattern = _text(plate)
            assert "?" in pattern or "*" in pattern
            regex = pattern.replace("?", ".").replace("*", ".*")
            assert re.fullmatch(regex, true), (pattern, true)
        else:
            assert _text(plate) == true
