"""`feblam bench scenario` and `feblam bench replay`: synthetic national traffic against a running
deployment, as performance engineers and integrators measure one.

`scenario --out DIR` writes a synthetic deployment's lists, camera registry (and zones) with the
parameters it was made from; ops load them into the engine under test. `replay --scenario DIR
--target HOST:PORT` makes the same deployment's traffic from those parameters (the seed decides
everything) and streams it through IngestClient, paced or as fast as the engine takes it, then
reports what the acknowledgements said and how long they took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

SCENARIO_FILE = "scenario.json"


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    from feblam.service.traffic import add_traffic_arguments

    parser.add_argument("--out", required=True, help="directory to write the deployment's files to")
    parser.add_argument("--seed", type=int, default=7, help="seed of lists, cameras and traffic")
    parser.add_argument("--vehicles", type=int, default=50_000, help="vehicles on the road")
    parser.add_argument("--cameras", type=int, default=40, help="cameras in the registry")
    add_traffic_arguments(parser)
    parser.add_argument("--no-suppression", action="store_true",
                        help="every listed read raises its own hit")


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", required=True, help="the engine's Ingest address, host:port")
    parser.add_argument("--scenario", required=True, help="a directory `feblam bench scenario` wrote")
    parser.add_argument("--reads", type=int, default=100_000, help="reads to send")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="reads per second to pace at (0: as fast as the engine takes them)")
    parser.add_argument("--batch", type=int, default=1000, help="reads per batch")
    parser.add_argument("--window", type=int, default=8, help="batches in flight")
    parser.add_argument("--prefix", default="",
                        help="read id prefix (default: one per run, so runs never collide)")
    parser.add_argument("--token", default=os.environ.get("FEBLAM_INTEGRATOR_TOKEN", ""),
                        help="integrator token (default: $FEBLAM_INTEGRATOR_TOKEN)")
    parser.add_argument("--ca", default="", help="CA of the engine's certificate (TLS)")
    parser.add_argument("--cert", default="", help="client certificate (mutual TLS)")
    parser.add_argument("--key", default="", help="client key (mutual TLS)")
    parser.add_argument("--gateway", default="",
                        help="the Hit Gateway's address: subscribe as a console and measure "
                             "read-to-hit (its clock against this host's)")
    parser.add_argument("--console-token", default=os.environ.get("FEBLAM_CONSOLE_TOKEN", ""),
                        help="console token at the gateway (default: $FEBLAM_CONSOLE_TOKEN)")
    parser.add_argument("--gateway-ca", default="", help="CA of the gateway's certificate (TLS)")
    parser.add_argument("--hit-wait", type=float, default=10.0,
                        help="seconds to wait for the last hits at the gateway")
    parser.add_argument("--give-up", type=float, default=60.0,
                        help="seconds without an acknowledgement before the replay gives up")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _scenario(directory: Path, params: dict[str, Any], reads: int) -> Any:
    from feblam.service.traffic import build_scenario

    return build_scenario(directory, reads=max(1, reads), seed=int(params["seed"]),
                          listed_share=float(params["listed_share"]),
                          vehicles=int(params["vehicles"]), cameras=int(params["cameras"]),
                          suppression=bool(params["suppression"]),
                          low_emission_zone=bool(params["low_emission_zone"]))


def run_scenario(args: argparse.Namespace) -> int:
    out = Path(args.out)
    params = {"seed": args.seed, "vehicles": args.vehicles, "cameras": args.cameras,
              "listed_share": args.listed_share, "low_emission_zone": args.low_emission_zone,
              "suppression": not args.no_suppression}
    # The lists come from the seed before any read is drawn: replay makes the same ones.
    scenario = _scenario(out, params, 1)
    (out / SCENARIO_FILE).write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
    command = ["feblam serve", f"--definitions {scenario.definitions}",
               *(f"--list {k}={v}" for k, v in scenario.lists.items()),
               f"--cameras {scenario.cameras}"]
    if scenario.zones is not None:
        command.append(f"--zones {scenario.zones}")
    print(f"wrote the deployment to {out}; serve it with:\n  " + " \\\n    ".join(command))
    return 0


def run_replay(args: argparse.Namespace) -> int:
    import grpc

    from feblam.client import IngestRefused, IngestUnavailable

    described = Path(args.scenario) / SCENARIO_FILE
    if not described.is_file():
        print(f"feblam bench replay: {described} is missing; write the scenario with "
              f"`feblam bench scenario --out {args.scenario}`", file=sys.stderr)
        return 66
    params = json.loads(described.read_text(encoding="utf-8"))
    try:
        report = asyncio.run(_replay(args, params))
    except IngestRefused as exc:
        print(f"feblam bench replay: the engine refused the reads: {exc}", file=sys.stderr)
        return 77 if exc.code.name in ("UNAUTHENTICATED", "PERMISSION_DENIED") else 65
    except grpc.aio.AioRpcError as exc:   # the gateway refused or lost the console
        print(f"feblam bench replay: the gateway's console: {exc.code().name}: {exc.details()}",
              file=sys.stderr)
        return 77 if exc.code() in (grpc.StatusCode.UNAUTHENTICATED,
                                    grpc.StatusCode.PERMISSION_DENIED) else 69
    except (OSError, IngestUnavailable) as exc:
        print(f"feblam bench replay: {exc}", file=sys.stderr)
        return 69
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        ack = report["ack_ms"]
        print(f"{report['reads_sent']:,} reads to {args.target} in {report['elapsed_s']:.1f} s "
              f"({report['reads_per_s']:,.0f} reads/s): {report['accepted']:,} accepted, "
              f"{report['hits']:,} hits; acknowledgement p50 {ack['p50']:.1f} ms, "
              f"p99 {ack['p99']:.1f} ms; refused {report['rejected'] or 'none'}; "
              f"{report['retry_later']} waits, {report['reconnects']} reconnects")
    return 0


async def _replay(args: argparse.Namespace, params: dict[str, Any]) -> dict[str, Any]:
    from feblam.client import IngestClient
    from feblam.service.tls import channel_credentials
    from feblam.service.traffic import iter_batches
    from feblam.v1 import reads_pb2

    with tempfile.TemporaryDirectory() as scratch:
        scenario = _scenario(Path(scratch), params, args.reads)
    prefix = args.prefix or f"replay-{time.time_ns():x}-"
    client = IngestClient(args.target, token=args.token, window=args.window,
                          credentials=channel_credentials(args.ca, args.cert, args.key),
                          give_up_after_s=args.give_up)
    per_batch_s = args.batch / args.rate if args.rate > 0 else 0.0
    observed: dict[str, int] = {}   # batch id -> the time its reads were seen
    console = _Console(args, prefix) if args.gateway else None
    if console is not None:
        await console.start()
    started = time.perf_counter()

    async def paced() -> AsyncIterator[reads_pb2.ReadBatch]:
        for n, batch in enumerate(iter_batches(scenario, args.batch, prefix=prefix,
                                               count=args.reads)):
            delay = started + n * per_batch_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = int(time.time() * 1e6)   # seen now, as a live camera's reads are
            observed[batch.batch_id] = now
            for read in batch.reads:
                read.observed_us = now
            yield batch

    latencies: list[float] = []
    rejected: Counter[str] = Counter()
    accepted = hits = sent = resent_duplicates = batches = 0
    async for delivered in client.send(paced()):
        ack = delivered.ack
        batches += 1
        sent += len(delivered.batch.reads)
        accepted += ack.accepted
        hits += ack.hits
        latencies.append((delivered.acked_at - delivered.sent_at) * 1e3)
        for rejection in ack.rejections:
            name = reads_pb2.ReadStatus.Name(rejection.status).removeprefix("READ_STATUS_")
            if delivered.attempts > 1 and name == "DUPLICATE":
                resent_duplicates += 1   # taken on an earlier attempt whose answer was lost
            else:
                rejected[name] += 1
    elapsed = time.perf_counter() - started
    q = np.percentile(np.array(latencies or [0.0]), [50, 99, 99.9])
    at_gateway = await console.finish(hits, observed) if console is not None else None
    return {
        **({"gateway": at_gateway} if at_gateway is not None else {}),
        "bench": "replay", "target": args.target, "reads_sent": sent, "batches": batches,
        "accepted": accepted, "taken_before_a_resend": resent_duplicates,
        "rejected": dict(rejected), "hits": hits, "elapsed_s": round(elapsed, 3),
        "reads_per_s": round(sent / elapsed) if elapsed > 0 else 0,
        "ack_ms": {"p50": round(float(q[0]), 3), "p99": round(float(q[1]), 3),
                   "p999": round(float(q[2]), 3)},
        "retry_later": client.stats.retry_later, "reconnects": client.stats.reconnects,
        "config": {"scenario": params, "reads": args.reads, "rate": args.rate,
                   "batch": args.batch, "window": args.window, "prefix": prefix},
    }


class _Console:
    """A dispatch console at the gateway for the replay's own hits (its read ids' prefix): when
    each arrived, by the gateway's time of receipt, against the time its read was seen."""

    def __init__(self, args: argparse.Namespace, prefix: str) -> None:
        self.args = args
        self.prefix = prefix
        self.arrived: list[tuple[str, int, int]] = []   # (read id, priority, received_us)
        self.task: asyncio.Task[None] | None = None
        self.channel: Any = None

    async def start(self) -> None:
        import grpc

        from feblam.service.tls import channel_credentials

        credentials = channel_credentials(self.args.gateway_ca)
        self.channel = (grpc.aio.secure_channel(self.args.gateway, credentials) if credentials
                        else grpc.aio.insecure_channel(self.args.gateway))
        # The gateway may still be starting, as the engine may: wait for it to take calls.
        try:
            await asyncio.wait_for(self.channel.channel_ready(), timeout=30)
        except asyncio.TimeoutError:
            await self.channel.close()
            raise OSError(f"the gateway at {self.args.gateway} did not answer for 30 s") from None
        self.task = asyncio.create_task(self._listen())
        # A subscription says nothing until its first hits: give it a moment to be in place,
        # and fail now if the gateway refused it.
        await asyncio.sleep(0.3)
        if self.task.done():
            self.task.result()

    async def _listen(self) -> None:
        from feblam.tokens import bearer
        from feblam.v1 import gateway_pb2, gateway_pb2_grpc

        metadata = bearer(self.args.console_token)
        stub = gateway_pb2_grpc.HitGatewayStub(self.channel)  # type: ignore[no-untyped-call]
        call = stub.Subscribe(gateway_pb2.SubscribeRequest(), metadata=metadata)
        async for group in call:
            for item in group.hits:
                hit = item.hit
                if hit.read.read_id.startswith(self.prefix):
                    self.arrived.append((hit.read.read_id, hit.priority, item.received_us))

    async def finish(self, raised: int, observed: dict[str, int]) -> dict[str, Any]:
        """Waits for the hits the acknowledgements announced (covert ones never come to this
        console), or until none has come for a second, then the read-to-hit figures."""
        deadline = time.monotonic() + self.args.hit_wait
        quiet_since, seen = time.monotonic(), -1
        while len(self.arrived) < raised and time.monotonic() < deadline:
            if len(self.arrived) != seen:
                quiet_since, seen = time.monotonic(), len(self.arrived)
            elif time.monotonic() - quiet_since > 1.0:
                break
            await asyncio.sleep(0.05)
        if self.task is not None:
            self.task.cancel()
        await self.channel.close()
        timed = [((received - observed[read_id.rpartition("-")[0]]) / 1e3, priority)
                 for read_id, priority, received in self.arrived
                 if read_id.rpartition("-")[0] in observed]
        delays = [d for d, _ in timed]
        urgent = [d for d, priority in timed if priority == 1]

        def quantiles(values: list[float]) -> dict[str, float] | None:
            if not values:
                return None
            p50, p99 = np.percentile(np.array(values), [50, 99])
            return {"p50": round(float(p50), 3), "p99": round(float(p99), 3)}

        return {"hits": len(self.arrived), "read_to_hit_ms": quantiles(delays),
                "p1_read_to_hit_ms": quantiles(urgent),
                "clock": "the gateway's time of receipt against this host's time of sending"}
