"""Suppression windows: repeat sightings of a listed vehicle join the open hit's trail.

A camera line reads the same stolen car many times in a few minutes; dispatch wants one hit and
its trail, not a flood. The key is list + entry + plate (a keyed hash of it), never the camera, so
a second, different listed plate passing the same camera still raises its own hit. Times are the
reads' own observation times, so replays and restarts decide the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

SuppressionKey = tuple[object, ...]


def key_text(key: SuppressionKey) -> str:
    """A key as stored in the outbox database (its parts are ids, numbers and keyed hashes)."""
    return "|".join(str(part) for part in key)


@dataclass
class OpenHit:
    hit_id: str
    priority: int
    opened_us: int
    until_us: int


class SuppressionWindows:
    """Open hits by key; bounded by purging windows that closed."""

    def __init__(self, max_open: int = 1_000_000) -> None:
        self._open: dict[str, OpenHit] = {}  # by key_text
        self._max_open = max_open
        self._latest_us = 0

    def __len__(self) -> int:
        return len(self._open)

    def restore(self, rows: list[tuple[str, str, int, int, int]]) -> None:
        """Windows still open when the engine last stopped: (key text, hit id, priority,
        opened_us, until_us)."""
        for text, hit_id, priority, opened_us, until_us in rows:
            self._open[text] = OpenHit(hit_id, priority, opened_us, until_us)
            self._latest_us = max(self._latest_us, opened_us)

    def open_hit(self, key: SuppressionKey, observed_us: int) -> OpenHit | None:
        """The hit a sighting at `observed_us` joins, if its window covers that time."""
        found = self._open.get(key_text(key))
        if found is None:
            return None
        if found.opened_us - (found.until_us - found.opened_us) <= observed_us < found.until_us:
            return found
        return None

    def open(self, key: SuppressionKey, hit_id: str, priority: int, observed_us: int,
             window_s: float) -> tuple[str, str, int, int, int]:
        """Opens a window; returns it as the outbox stores it (key text, hit id, priority,
        opened_us, until_us), so a restarted engine can restore it."""
        text = key_text(key)
        until_us = observed_us + int(window_s * 1e6)
        if window_s > 0:
            self._open[text] = OpenHit(hit_id, priority, observed_us, until_us)
            if observed_us > self._latest_us:
                self._latest_us = observed_us
            if len(self._open) > self._max_open:
                self.purge(self._latest_us)
        return text, hit_id, priority, observed_us, until_us

    def purge(self, now_us: int) -> int:
        """Forget windows closed before now_us; returns how many went."""
        closed = [k for k, v in self._open.items() if v.until_us <= now_us]
        for key in closed:
            del self._open[key]
        if len(self._open) > self._max_open:
            # Still over the bound: drop the oldest windows (they would close first anyway).
            ordered = sorted(self._open.items(), key=lambda kv: kv[1].until_us)
            for key, _ in ordered[: len(self._open) - self._max_open]:
                del self._open[key]
        return len(closed)
