"""`feblam bench core` and `feblam bench quality` through the real CLI: keys, ranges, consistency."""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
from typing import Any

import pytest

from feblam.cli import main

CORE_ARGS = ["--entries", "3000", "--reads", "4000", "--hit-share", "0.05", "--repeat", "3",
             "--symspell-entries", "1000", "--symspell-reads", "500", "--json"]
QUALITY_ARGS = ["--reads", "6000", "--list-scale", "0.004", "--listed-share", "0.2", "--json"]


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, Any]:
    assert main(argv) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def _run_quiet(argv: list[str]) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    report: dict[str, Any] = json.loads(out.getvalue())
    return report


@pytest.fixture(scope="module")
def core_report() -> dict[str, Any]:
    return _run_quiet(["bench", "core", *CORE_ARGS])


@pytest.fixture(scope="module")
def quality_report() -> dict[str, Any]:
    return _run_quiet(["bench", "quality", *QUALITY_ARGS])


def test_core_rows_and_fields(core_report: dict[str, Any]) -> None:
    rows = {r["name"]: r for r in core_report["results"]}
    assert set(rows) == {"feblam-exact", "feblam-fuzzy", "feblam-fuzzy-gated", "python-set", "symspellpy"}
    for row in rows.values():
        assert row["reads_per_s"] > 0
        assert row["build_s"] >= 0
        assert row["bytes_per_entry"] > 0
        assert len(row["match_s"]) == 3
        assert row["median"] == pytest.approx(statistics.median(row["match_s"]))
        assert row["reads_per_s"] == pytest.approx(row["reads_timed"] / row["median"])
        assert row["bytes_per_entry"] == pytest.approx(row["memory_bytes"] / row["entries"])
    assert rows["symspellpy"]["entries"] == 1000 and rows["symspellpy"]["reads_timed"] == 500
    assert "capped" in rows["symspellpy"]["note"] and "first 500" in rows["symspellpy"]["note"]
    for name in ("feblam-exact", "feblam-fuzzy", "feblam-fuzzy-gated"):
        row = rows[name]
        assert row["entries"] == 3000 and row["reads_timed"] == 4000
        assert row["speedup_vs_python_set"] == pytest.approx(row["reads_per_s"] / rows["python-set"]["reads_per_s"])
        assert row["speedup_vs_symspellpy"] == pytest.approx(row["reads_per_s"] / rows["symspellpy"]["reads_per_s"])


def test_core_hits_are_consistent(core_report: dict[str, Any]) -> None:
    rows = {r["name"]: r for r in core_report["results"]}
    listed = core_report["config"]["listed_reads"]
    assert 0 < listed < 4000
    # Near matching only adds to exact; the country-blind Python set finds every exact plate.
    assert 0 < rows["feblam-exact"]["hits"] <= rows["feblam-fuzzy"]["hits"]
    assert rows["feblam-exact"]["hits"] <= rows["python-set"]["hits"]
    # Gates only take matches away.
    assert rows["feblam-exact"]["hits"] <= rows["feblam-fuzzy-gated"]["hits"] <= rows["feblam-fuzzy"]["hits"]
    assert rows["feblam-exact"]["matches"] >= rows["feblam-exact"]["hits"]
    targets = core_report["targets"]
    assert set(targets) == {
        "exact_speedup_vs_python_set", "fuzzy_speedup_vs_symspellpy", "fuzzy_gated_speedup_vs_symspellpy",
        "exact_index_bytes_per_entry", "exact_build_s",
    }
    assert targets["exact_index_bytes_per_entry"]["value"] == rows["feblam-exact"]["exact_index_bytes_per_entry"]
    assert targets["exact_index_bytes_per_entry"]["met"] == (rows["feblam-exact"]["exact_index_bytes_per_entry"] <= 24.0)


def _check_figures(figures: dict[str, Any]) -> None:
    for key in ("recall", "precision", "false_alert_rate"):
        assert 0.0 <= figures[key] <= 1.0, key
    assert figures["found"] <= figures["expected"]
    assert figures["right_alerts"] <= figures["alerts"]
    if figures["expected"]:
        assert figures["recall"] == pytest.approx(figures["found"] / figures["expected"])
    if figures["alerts"]:
        assert figures["precision"] == pytest.approx(figures["right_alerts"] / figures["alerts"])
    assert figures["false_alert_rate"] == pytest.approx(
        figures["unlisted_alerting_reads"] / figures["unlisted_reads"]
    )


def _check_report(report: dict[str, Any]) -> None:
    _check_figures(report["overall"])
    plate_lists = [name for name in report["lists"] if name != "partial"]
    for name, figures in report["lists"].items():
        _check_figures(figures)
        by_noise = figures["recall_by_noise"]
        assert sum(v["expected"] for v in by_noise.values()) == figures["expected"]
        assert sum(v["found"] for v in by_noise.values()) == figures["found"], name
    overall = report["overall"]
    for key in ("expected", "found", "alerts", "right_alerts"):
        assert overall[key] == sum(report["lists"][n][key] for n in plate_lists), key
    by_noise = report["breakdown"]["recall_by_noise"]
    assert sum(v["expected"] for v in by_noise.values()) == overall["expected"]
    assert sum(v["found"] for v in by_noise.values()) == overall["found"]
    by_country = report["breakdown"]["recall_by_country_noise"]
    assert sum(v["found"] for v in by_country.values()) == overall["found"]
    wrong = overall["alerts"] - overall["right_alerts"]
    assert sum(report["breakdown"]["wrong_alerts_by_read_noise"].values()) == wrong


def test_quality_keys_ranges_and_recomputation(quality_report: dict[str, Any]) -> None:
    report = quality_report
    assert set(report["lists"]) == {"stolen", "wanted", "uninsured", "no_inspection", "lez", "partial"}
    assert set(report["baselines"]) == {"exact_only", "edit_distance_1"}
    config = report["config"]
    assert config["seed"] == 20240612 and config["reads"] == 6000
    assert {"class_sub", "dropped", "country_missing"} <= set(config["noise"])
    assert report["overall"]["expected"] > 100
    _check_report(report)
    for baseline in report["baselines"].values():
        _check_report(baseline)
    kinds = report["breakdown"]
    wrong = report["overall"]["alerts"] - report["overall"]["right_alerts"]
    assert sum(kinds["wrong_alerts_by_match_kind"].values()) == wrong
    assert sum(kinds["right_alerts_by_match_kind"].values()) == report["overall"]["right_alerts"]
    for name in ("uninsured", "no_inspection", "lez"):
        assert report["lists"][name]["policy"] == "EXACT|RESOLVED"
    false_near = sum(v for k, v in kinds["false_alerts_by_match_kind"].items() if k in ("OCR", "FUZZY"))
    assert sum(kinds["false_near_alerts_by_gate"].values()) == false_near


def test_quality_ceiling_accounts_for_every_listed_read(quality_report: dict[str, Any]) -> None:
    top, overall = quality_report["ceiling"], quality_report["overall"]
    assert (top["expected"], top["found"]) == (overall["expected"], overall["found"])
    assert top["found"] - top["found_beyond"] + top["recoverable_missed"] == top["recoverable"]
    assert top["recall"] + 1e-12 >= overall["recall"] - top["found_beyond"] / top["expected"]
    assert abs(top["policy_gap"] + top["recall"] - 1) < 1e-12
    for name, figures in top["lists"].items():
        assert figures["found"] == quality_report["lists"][name]["found"], name
    # Small lists allow FUZZY: every read within one edit of its plate is theirs to find.
    assert top["lists"]["stolen"]["recall"] > top["lists"]["lez"]["recall"]
    by_noise = top["recall_by_noise"]
    assert sum(v["expected"] for v in by_noise.values()) == top["expected"]
    assert sum(v["recoverable"] for v in by_noise.values()) == top["recoverable"]
    assert by_noise["CLEAN"]["recall"] == 1.0


def test_quality_policies_only_add_to_exact(quality_report: dict[str, Any]) -> None:
    # Every policy includes EXACT, so the exact-only baseline can never find more.
    exact = quality_report["baselines"]["exact_only"]
    assert quality_report["overall"]["found"] >= exact["overall"]["found"]
    clean = quality_report["breakdown"]["recall_by_noise"]["CLEAN"]
    assert clean["recall"] > 0.95
    for name in ("uninsured", "no_inspection", "lez"):
        # Firm lists (EXACT|RESOLVED) never accept a read with an error outside the classes.
        by_noise = quality_report["lists"][name]["recall_by_noise"]
        for kind in ("OTHER_SUB", "DROPPED", "ADDED"):
            assert by_noise.get(kind, {"found": 0})["found"] == 0, (name, kind)


def test_quality_is_deterministic_for_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "quality", "--reads", "2000", "--list-scale", "0.002", "--no-baselines", "--json"]
    a = _run(capsys, args)
    b = _run(capsys, args)
    for report in (a, b):
        del report["config"]["timing_s"]
    assert a == b
    assert "baselines" not in a


def test_summary_without_json_is_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "core", "--entries", "500", "--reads", "500", "--no-peers", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "feblam-exact" in out and "feblam-fuzzy" in out and "python-set" not in out


def test_service_bench_with_suppression_turns_repeat_reads_into_sightings() -> None:
    common = ["bench", "service", "--batches", "40", "--rounds", "2", "--rate", "5000",
              "--seconds", "0.3", "--json"]
    plain = _run_quiet(common)
    suppressed = _run_quiet([*common, "--suppression"])
    assert suppressed["suppression"] is True and plain["suppression"] is False
    # The rounds replay the same vehicles: with windows open, their repeat reads raise no new
    # hit; every hit raised still reaches the gateway once.
    assert 0 < suppressed["hits_raised"] < plain["hits_raised"]
    assert suppressed["hits_at_gateway"] == suppressed["hits_raised"]
    assert suppressed["hits_lost"] == 0 and suppressed["hits_duplicated"] == 0


def test_service_bench_reports_every_figure_and_loses_no_hit() -> None:
    # Engine, gateway and echo in processes of their own, a short run of each kind.
    report = _run_quiet(["bench", "service", "--batches", "60", "--rounds", "2", "--rate", "5000",
                         "--seconds", "0.5", "--json"])
    for key in ("reads_per_s", "echo_reads_per_s", "echo_ratio", "p99_read_to_hit_ms",
                "p99_p1_read_to_hit_ms", "p99_ack_ms", "hits_lost", "hits_duplicated"):
        assert key in report
    assert len(report["rounds"]) == 2
    ratios = [r["echo_ratio"] for r in report["rounds"]]
    assert report["echo_ratio"] == pytest.approx(statistics.median(ratios), abs=1e-3)
    assert report["hits_raised"] > 0 and report["hits_at_gateway"] == report["hits_raised"]
    assert report["hits_lost"] == 0 and report["hits_duplicated"] == 0
    assert report["p99_read_to_hit_ms"] > 0 and report["p99_ack_ms"] > 0
    cpu = report["cpu_ms_per_batch"]
    assert set(cpu) <= {"echo", "engine", "engine_loop", "gateway", "client_echo", "client_engine"}
    if "engine" in cpu and "engine_loop" in cpu:
        # The loop thread is one of the engine's threads. /proc counts CPU in clock ticks, and
        # process and thread are read one after the other: each figure of a 60-batch round may
        # be off by a tick either way.
        slack = 2 * (1000 / os.sysconf("SC_CLK_TCK")) / 60
        assert 0 < cpu["engine_loop"] <= cpu["engine"] + slack
