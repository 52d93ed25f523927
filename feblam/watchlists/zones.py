"""Zones and cameras: where and when zone lists (low-emission, restricted access) apply.

A zone is a set of cameras with active windows in Belgian local time. Deny mode: a listed plate
that is not exempted hits. Allow mode: a plate NOT on the permit list hits. Windows are evaluated
with the tz database, so they stay right across daylight-saving changes.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from feblam.watchlists.files import sniff_delimiter

LOCAL = ZoneInfo("Europe/Brussels")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(
    r"^\s*(?P<d1>[a-z]{3})(?:-(?P<d2>[a-z]{3}))?\s+(?P<h1>\d{2}):(?P<m1>\d{2})-(?P<h2>\d{2}):(?P<m2>\d{2})\s*$")


class ZoneError(ValueError):
    """A zone or camera file that cannot be used; the message names file, item and field."""


@dataclass(frozen=True)
class Camera:
    id: str
    region: str
    latitude: float | None = None
    longitude: float | None = None
    zones: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Window:
    """Days of week (0 = Monday) and a local time range; end 24:00 means through midnight."""

    days: frozenset[int]
    start_min: int
    end_min: int

    def contains(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return local.weekday() in self.days and self.start_min <= minute < self.end_min


def parse_window(text: str) -> Window:
    m = _WINDOW.match(text.lower())
    if not m:
        raise ValueError(f"window {text!r} is not like 'mon-fri 07:00-19:00'")
    d1, d2 = m["d1"], m["d2"] or m["d1"]
    if d1 not in _DAYS or d2 not in _DAYS:
        raise ValueError(f"window {text!r}: days are {', '.join(_DAYS)}")
    i, j = _DAYS.index(d1), _DAYS.index(d2)
    days = frozenset(range(i, j + 1)) if i <= j else frozenset([*range(i, 7), *range(0, j + 1)])
    start = int(m["h1"]) * 60 + int(m["m1"])
    end = int(m["h2"]) * 60 + int(m["m2"])
    if int(m["m1"]) > 59 or int(m["m2"]) > 59 or start >= 24 * 60 or end > 24 * 60 or start >= end:
        raise ValueError(f"window {text!r}: times must run forward within one day (00:00-24:00)")
    return Window(days, start, end)


@dataclass(frozen=True)
class Zone:
    name: str
    mode: str                       # "deny" or "allow"
    lists: frozenset[int]           # deny: non-compliant plates; allow: permitted plates
    exemptions: frozenset[int] = frozenset()
    windows: tuple[Window, ...] = ()
    cameras: frozenset[str] = frozenset()
    # A zone offence counts once per vehicle per local day at most.
    once_per_day: bool = True

    def active_at(self, when_utc: datetime) -> bool:
        local = when_utc.astimezone(LOCAL)
        return any(w.contains(local) for w in self.windows)


@dataclass(frozen=True)
class ZoneHit:
    """A read that breaks a zone's rule; list_id is the deny list matched (None in allow mode)."""

    zone: str
    read: int
    list_id: int | None
    day: str                         # local date, the suppression key with zone and plate


@dataclass
class ZoneRules:
    zones: dict[str, Zone] = field(default_factory=dict)
    cameras: dict[str, Camera] = field(default_factory=dict)

    def zones_of(self, camera_id: str) -> list[Zone]:
        camera = self.cameras.get(camera_id)
        named = camera.zones if camera is not None else frozenset()
        return [z for z in self.zones.values() if camera_id in z.cameras or z.name in named]

    def evaluate(self, camera_ids: list[str], observed_utc: list[datetime],
                 matched: Mapping[int, set[int]], plate_ok: list[bool]) -> list[ZoneHit]:
        """Zone hits of a batch. matched[i] = list ids read i matched (after validity)."""
        hits: list[ZoneHit] = []
        for i, camera_id in enumerate(camera_ids):
            if not plate_ok[i]:
                continue
            for zone in self.zones_of(camera_id):
                when = observed_utc[i]
                if not zone.active_at(when):
                    continue
                lists = matched.get(i, set())
                day = when.astimezone(LOCAL).date().isoformat()
                if zone.mode == "deny":
                    if lists & zone.exemptions:
                        continue
                    for list_id in sorted(lists & zone.lists):
                        hits.append(ZoneHit(zone.name, i, list_id, day))
                elif not lists & (zone.lists | zone.exemptions):
                    hits.append(ZoneHit(zone.name, i, None, day))
        return hits


def parse_zones(text: str, source: str = "<zones>") -> dict[str, Zone]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ZoneError(f"{source}: not valid TOML: {exc}") from None
    zones: dict[str, Zone] = {}
    for n, raw in enumerate(doc.get("zone", []), 1):
        where = f"{source}: zone #{n}"

        def fail(key: str, why: str, where: str = where) -> ZoneError:
            return ZoneError(f"{where}: field '{key}': {why}")

        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise fail("name", "missing")
        where = f"{source}: zone {name}"
        if name in zones:
            raise fail("name", "used twice", where)
        mode = raw.get("mode", "deny")
        if mode not in ("deny", "allow"):
            raise fail("mode", "must be 'deny' or 'allow'", where)
        lists = raw.get("lists")
        if not isinstance(lists, list) or not lists or not all(isinstance(x, int) for x in lists):
            raise fail("lists", "must be a non-empty list of list ids", where)
        exemptions = raw.get("exemptions", [])
        if not isinstance(exemptions, list) or not all(isinstance(x, int) for x in exemptions):
            raise fail("exemptions", "must be a list of list ids", where)
        windows_raw = raw.get("windows", ["mon-sun 00:00-24:00"])
        try:
            windows = tuple(parse_window(w) for w in windows_raw)
        except (ValueError, TypeError, AttributeError) as exc:
            raise fail("windows", str(exc), where) from None
        cameras = raw.get("cameras", [])
        if not isinstance(cameras, list) or not all(isinstance(x, str) for x in cameras):
            raise fail("cameras", "must be a list of camera ids", where)
        suppression = raw.get("suppression", "per_day")
        if suppression not in ("per_day", "none"):
            raise fail("suppression", "must be 'per_day' or 'none'", where)
        zones[name] = Zone(name, mode, frozenset(lists), frozenset(exemptions), windows,
                           frozenset(cameras), suppression == "per_day")
    return zones


def load_zones(path: str | Path) -> dict[str, Zone]:
    path = Path(path)
    return parse_zones(path.read_text(encoding="utf-8"), str(path))


def load_cameras(path: str | Path) -> dict[str, Camera]:
    """Camera registry from CSV: camera_id, region, latitude, longitude, zones ('|' separated)."""
    path = Path(path)
    cameras: dict[str, Camera] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=sniff_delimiter(path))
        missing = {"camera_id", "region"} - set(reader.fieldnames or [])
        if missing:
            raise ZoneError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, 2):
            camera_id = (row.get("camera_id") or "").strip()
            if not camera_id:
                raise ZoneError(f"{path}:{line}: field 'camera_id': empty")
            if camera_id in cameras:
                raise ZoneError(f"{path}:{line}: field 'camera_id': {camera_id!r} used twice")
            lat = _coordinate(row.get("latitude"), -90, 90, path, line, "latitude")
            lon = _coordinate(row.get("longitude"), -180, 180, path, line, "longitude")
            zones = frozenset(z.strip() for z in (row.get("zones") or "").split("|") if z.strip())
            cameras[camera_id] = Camera(camera_id, (row.get("region") or "").strip(), lat, lon, zones)
    return cameras


def _coordinate(text: str | None, low: float, high: float, path: Path, line: int,
                name: str) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise ZoneError(f"{path}:{line}: field '{name}': not a number") from None
    if not low <= value <= high:
        raise ZoneError(f"{path}:{line}: field '{name}': outside {low}..{high}")
    return value


def local_day_bounds(day: str) -> tuple[datetime, datetime]:
    """UTC start and end of a Belgian local day (23 or 25 hours long on DST changes)."""
    start = datetime.combine(datetime.fromisoformat(day).date(), time(0), LOCAL)
    end = datetime.combine(start.date() + timedelta(days=1), time(0), LOCAL)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)

