"""`feblam bench ...`: argument definitions and dispatch (kept light: heavy imports happen in run)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _add_common(p: argparse.ArgumentParser, seed: int) -> None:
    p.add_argument("--seed", type=int, default=seed, help="seed of the synthetic traffic")
    p.add_argument("--threads", type=int, default=1, help="threads FEBLAM may use to build and match")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")


def add_parser(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="run benchmarks on synthetic national traffic",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    kinds = bench.add_subparsers(dest="bench_command", required=True)

    core = kinds.add_parser(
        "core",
        help="throughput, build time and memory of the matcher against peers",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    core.add_argument("--entries", type=int, default=1_000_000, help="watchlist entries")
    core.add_argument("--reads", type=int, default=1_000_000, help="camera reads per repetition")
    core.add_argument("--policy", choices=["exact", "fuzzy", "both"], default="both", help="FEBLAM policies to run")
    core.add_argument("--repeat", type=int, default=3, help="repetitions; medians are reported")
    core.add_argument("--hit-share", type=float, default=0.001, help="share of reads of listed vehicles")
    core.add_argument("--no-peers", action="store_true", help="skip python-set and symspellpy")
    core.add_argument(
        "--symspell-entries", type=int, default=100_000, help="cap on symspellpy's list (~1.4 KB per entry)"
    )
    core.add_argument("--symspell-reads", type=int, default=20_000, help="reads symspellpy is timed on")
    _add_common(core, 20240611)

    quality = kinds.add_parser(
        "quality",
        help="recall, precision and false alerts of the list policies on noisy reads",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    quality.add_argument("--reads", type=int, default=200_000, help="camera reads")
    quality.add_argument("--listed-share", type=float, default=0.05, help="share of reads of listed vehicles")
    quality.add_argument("--list-scale", type=float, default=1.0, help="multiplies every list size")
    quality.add_argument(
        "--near-max-confidence", type=float, default=0.7, help="near-match gate of every plate list"
    )
    quality.add_argument(
        "--fuzzy-max-confidence", type=float, default=0.2, help="FUZZY gate of the lists that allow it"
    )
    quality.add_argument("--no-baselines", action="store_true", help="skip the exact-only and edit-1 baselines")
    _add_common(quality, 20240612)

    watchlist = kinds.add_parser(
        "watchlist",
        help="a national-size Parquet list from file to serving, swapped under load",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    from feblam.bench.watchlist_bench import add_arguments as add_watchlist_arguments

    add_watchlist_arguments(watchlist)

    service = kinds.add_parser(
        "service",
        help="gRPC ingest throughput against a plain echo, read-to-hit latency",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    import importlib

    try:
        importlib.import_module("feblam.service.bench").add_arguments(service)
    except ModuleNotFoundError:  # a build without the service
        pass

    from feblam.service import replay

    replay.add_scenario_arguments(kinds.add_parser(
        "scenario",
        help="write a synthetic deployment's lists and cameras, to load into an engine under test",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    ))
    replay.add_replay_arguments(kinds.add_parser(
        "replay",
        help="stream a scenario's synthetic traffic to a running engine and report its answers",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    ))


def _summary_core(report: dict[str, Any]) -> str:
    lines = [f"{'name':<14}{'entries':>10}{'reads/s':>14}{'build s':>10}{'B/entry':>10}  speedups"]
    for row in report["results"]:
        speed = " ".join(
            f"{k.removeprefix('speedup_vs_')}={row[k]:.1f}x" for k in row if k.startswith("speedup_vs_")
        )
        lines.append(
            f"{row['name']:<14}{row['entries']:>10}{row['reads_per_s']:>14,.0f}"
            f"{row['build_s']:>10.2f}{row['bytes_per_entry']:>10.1f}  {speed}"
        )
    for name, t in report["targets"].items():
        lines.append(f"target {name}: {t['value']} (goal {t['target']} at {t['target_at']}) met={t['met']}")
    return "\n".join(lines)


def _summary_quality(report: dict[str, Any]) -> str:
    lines = [f"{'list':<16}{'recall':>9}{'precision':>11}{'false alerts':>14}"]
    for name, figures in [*report["lists"].items(), ("OVERALL", report["overall"])] + [
        (f"[{k}]", v["overall"]) for k, v in report.get("baselines", {}).items()
    ]:
        lines.append(
            f"{name:<16}{figures['recall']:>9.4f}{figures['precision']:>11.4f}{figures['false_alert_rate']:>14.2e}"
        )
    if "ceiling" in report:
        top = report["ceiling"]
        lines.append(
            f"ceiling (an oracle with these policies): recall {top['recall']:.4f}; "
            f"gap to 1: policy {top['policy_gap']:.4f}, matcher {top['matcher_gap']:.4f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.bench_command == "core":
        from feblam.bench.core_bench import CoreConfig, run_core

        report = run_core(
            CoreConfig(
                entries=args.entries,
                reads=args.reads,
                seed=args.seed,
                threads=args.threads,
                policy=args.policy,
                repeat=args.repeat,
                hit_share=args.hit_share,
                peers=not args.no_peers,
                symspell_entries=args.symspell_entries,
                symspell_reads=args.symspell_reads,
            )
        )
        text = _summary_core(report)
    elif args.bench_command == "quality":
        from feblam.bench.quality import QualityConfig, run_quality

        report = run_quality(
            QualityConfig(
                reads=args.reads,
                seed=args.seed,
                threads=args.threads,
                listed_share=args.listed_share,
                list_scale=args.list_scale,
                near_max_confidence=args.near_max_confidence,
                fuzzy_max_confidence=args.fuzzy_max_confidence,
                baselines=not args.no_baselines,
            )
        )
        text = _summary_quality(report)
    elif args.bench_command == "watchlist":
        from feblam.bench.watchlist_bench import run_bench

        report = run_bench(args)
        text = "\n".join(f"{k}: {v}" for k, v in report.items())
    elif args.bench_command == "service":
        import importlib

        return int(importlib.import_module("feblam.service.bench").run(args))
    elif args.bench_command in ("scenario", "replay"):
        from feblam.service import replay

        return replay.run_scenario(args) if args.bench_command == "scenario" else replay.run_replay(args)
    else:  # pragma: no cover - argparse rejects other names
        raise SystemExit(f"unknown bench {args.bench_command!r}")
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if args.json else text + "\n")
    return 0
