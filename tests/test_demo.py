"""README's main job, `feblam demo`, as its own process: it replays, shows hits and exits 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_replays_traffic_shows_hits_and_exits_cleanly() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "feblam", "demo", "--seconds", "2"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "  HIT " in out
    accepted = re.search(r"^accepted (\d+), rejected (\d+)", out, re.M)
    assert accepted and int(accepted.group(1)) == 20_000 and int(accepted.group(2)) == 3
    hits = re.search(r"^hits at the gateway: (\d+) \((\d+) distinct\)", out, re.M)
    assert hits and int(hits.group(1)) == int(hits.group(2)) > 0
    # Suppressed repeat reads of listed vehicles reach the consoles as their hits' trails grow.
    live = re.search(r"sent live to consoles: (\d+)$", out, re.M)
    assert live and int(live.group(1)) > 0
