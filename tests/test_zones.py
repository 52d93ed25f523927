"""Zones: windows in Brussels local time across DST changes, deny and allow modes, registries."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from feblam.watchlists.zones import (
    ZoneError, ZoneRules, load_cameras, load_zones, local_day_bounds, parse_window, parse_zones,
)

UTC = timezone.utc
ZONES = """
[[zone]]
name = "brussels-lez"
mode = "deny"
lists = [40]
exemptions = [41]
windows = ["mon-sun 00:00-24:00"]

[[zone]]
name = "school-street"
mode = "allow"
lists = [50]
windows = ["mon-fri 07:00-09:00", "mon-fri 15:00-16:30"]
cameras = ["SCH-1"]
suppression = "none"
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_windows_follow_local_time_across_dst() -> None:
    school = parse_zones(ZONES)["school-street"]
    # Winter (UTC+1): 06:30 UTC is 07:30 local; summer (UTC+2): 05:30 UTC is 07:30 local.
    assert school.active_at(at("2026-03-23T06:30"))
    assert not school.active_at(at("2026-03-23T05:30"))
    assert school.active_at(at("2026-03-30T05:30"))
    assert not school.active_at(at("2026-03-30T07:30"))
    # Back to winter time on 25 October 2026.
    assert school.active_at(at("2026-10-26T06:30"))
    assert not school.active_at(at("2026-10-26T05:30"))
    # Weekend: never.
    assert not school.active_at(at("2026-03-28T07:00"))
    # Second window, the end is exclusive: 16:30 local is 14:30 UTC in summer.
    assert school.active_at(at("2026-06-01T14:29"))
    assert not school.active_at(at("2026-06-01T14:30"))


def test_local_days_are_23_or_25_hours_on_dst_changes() -> None:
    for day, hours in (("2026-03-29", 23), ("2026-10-25", 25), ("2026-06-01", 24)):
        start, end = local_day_bounds(day)
        assert (end - start).total_seconds() == hours * 3600


def test_window_parsing() -> None:
    assert parse_window("fri-mon 22:00-24:00").days == frozenset({4, 5, 6, 0})
    for bad in ("mon 25:00-26:00", "mon 10:00-09:00", "someday 10:00-11:00", "mon 10-11"):
        with pytest.raises(ValueError):
            parse_window(bad)


def test_deny_and_allow_rules(tmp_path: Path) -> None:
    registry = tmp_path / "cameras.csv"
    registry.write_text(
        "camera_id;region;latitude;longitude;zones\n"
        "BXL-1;brussels;50.85;4.35;brussels-lez\n"
        "SCH-1;brussels;50.84;4.36;\n"
        "ANT-1;antwerp;51.2;4.4;\n", encoding="utf-8")
    rules = ZoneRules(parse_zones(ZONES), load_cameras(registry))
    monday_8 = at("2026-06-01T06:00")  # 08:00 local
    cameras = ["BXL-1", "BXL-1", "BXL-1", "ANT-1", "SCH-1", "SCH-1", "BXL-1"]
    matched = {0: {40}, 1: {40, 41}, 3: {40}, 5: {50}, 6: {40}}
    plate_ok = [True, True, True, True, True, True, False]
    hits = rules.evaluate(cameras, [monday_8] * 7, matched, plate_ok)
    # read 0: listed, not exempted; read 1 exempted; read 2 not listed; read 3 outside the zone;
    # read 4 at the school street without a permit; read 5 has one; read 6 had no valid plate.
    assert [(h.zone, h.read, h.list_id) for h in hits] == [
        ("brussels-lez", 0, 40), ("school-street", 4, None)]
    assert hits[0].day == "2026-06-01"


def test_registry_and_zone_errors_name_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "cameras.csv"
    bad.write_text("camera_id,region,latitude\nA,x,91\n", encoding="utf-8")
    with pytest.raises(ZoneError, match="cameras.csv:2: field 'latitude': outside"):
        load_cameras(bad)
    bad.write_text("camera,region\nA,x\n", encoding="utf-8")
    with pytest.raises(ZoneError, match="missing column"):
        load_cameras(bad)
    with pytest.raises(ZoneError, match="zone school: field 'mode'"):
        parse_zones('[[zone]]\nname = "school"\nmode = "maybe"\nlists = [1]\n')
    with pytest.raises(ZoneError, match="field 'windows'"):
        parse_zones('[[zone]]\nname = "z"\nlists = [1]\nwindows = ["mon 9-10"]\n')


def test_the_low_emission_zone_bench_city_watches_every_camera(tmp_path: Path) -> None:
    from feblam.service.traffic import build_scenario
    from feblam.watchlists.definitions import load_definitions

    city = build_scenario(tmp_path, reads=2_000, seed=3, suppression=False, low_emission_zone=True)
    assert city.zones is not None
    zones = load_zones(city.zones)
    assert set(zones) == {"lez"} and zones["lez"].mode == "deny"
    assert zones["lez"].cameras == frozenset(city.camera_ids)
    assert not zones["lez"].once_per_day   # every listed read raises its hit, as the lists do
    lez = load_definitions(city.definitions)[6]
    assert lez.zone == "lez" and lez.id in zones["lez"].lists
    assert "6" in city.lists and Path(city.lists["6"]).read_text().count("\n") > 1000
    plain = build_scenario(tmp_path / "plain", reads=2_000, seed=3)
    assert plain.zones is None and "6" not in plain.lists
