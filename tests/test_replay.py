"""`feblam bench scenario` and `feblam bench replay` against an engine running as its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import feblam
from tests.service_harness import free_port

ROOT = Path(feblam.__file__).resolve().parent.parent


def feblam_cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "feblam", *args], capture_output=True,
                          text=True, timeout=120, env=env, **kwargs)  # type: ignore[call-overload]


def test_a_scenario_served_by_an_engine_takes_its_replayed_traffic(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario"
    made = feblam_cli("bench", "scenario", "--out", str(scenario), "--seed", "5")
    assert made.returncode == 0, made.stderr
    assert "feblam serve" in made.stdout and (scenario / "scenario.json").exists()
    port, gateway_port = free_port(), free_port()
    config = tmp_path / "engine.toml"
    lists = {p.stem: p for p in scenario.glob("*.csv") if p.stem != "cameras"}
    ids = {"stolen": 1, "wanted": 2, "uninsured": 3, "witness-partials": 4, "covert-watch": 5}
    config.write_text(
        "[engine]\n"
        f'listen = "127.0.0.1:{port}"\nadmin_listen = ""\ngateway = "127.0.0.1:{gateway_port}"\n'
        f'data_dir = "{tmp_path / "data"}"\ndefinitions = "{scenario / "lists.toml"}"\n'
        f'cameras = "{scenario / "cameras.csv"}"\noutbox_sync = "normal"\n'
        '[engine.integrator_tokens]\n"replayer" = "replay-secret"\n'
        "[engine.lists]\n" + "".join(f'"{ids[name]}" = "{path}"\n' for name, path in lists.items()))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    gateway = subprocess.Popen(
        [sys.executable, "-m", "feblam", "gateway", "--listen", f"127.0.0.1:{gateway_port}",
         "--db", str(tmp_path / "gateway.db")], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    engine = subprocess.Popen([sys.executable, "-m", "feblam", "serve", "--config", str(config)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        target = ["--target", f"127.0.0.1:{port}", "--scenario", str(scenario)]
        # Until the engine serves, the client waits and tries again; then every read is taken.
        done = feblam_cli("bench", "replay", *target, "--reads", "20000", "--batch", "500",
                          "--token", "replay-secret", "--gateway", f"127.0.0.1:{gateway_port}",
                          "--json")
        assert done.returncode == 0, (done.stderr, engine.poll(), gateway.poll())
        report = json.loads(done.stdout)
        assert report["reads_sent"] == report["accepted"] == 20_000
        assert report["batches"] == 40 and report["rejected"] == {}
        assert report["hits"] > 0 and report["ack_ms"]["p99"] > 0
        # Every hit but the covert ones reaches the replay's console, with its read-to-hit time.
        at_gateway = report["gateway"]
        assert 0 < at_gateway["hits"] <= report["hits"]
        assert 0 < at_gateway["read_to_hit_ms"]["p50"] <= at_gateway["read_to_hit_ms"]["p99"]
        refused = feblam_cli("bench", "replay", *target, "--reads", "100", "--token", "guess")
        assert refused.returncode == 77 and "UNAUTHENTICATED" in refused.stderr
    finally:
        for process in (engine, gateway):
            process.terminate()
            process.wait(timeout=20)


def test_replay_needs_a_scenario_and_an_engine_that_answers(tmp_path: Path) -> None:
    done = feblam_cli("bench", "replay", "--target", "127.0.0.1:1", "--scenario", str(tmp_path))
    assert done.returncode == 66 and "scenario.json is missing" in done.stderr
    assert "Traceback" not in done.stderr
    assert feblam_cli("bench", "scenario", "--out", str(tmp_path)).returncode == 0
    nobody = feblam_cli("bench", "replay", "--target", f"127.0.0.1:{free_port()}", "--scenario",
                        str(tmp_path), "--reads", "10", "--give-up", "1")
    assert nobody.returncode == 69 and "took nothing for 1 s" in nobody.stderr
