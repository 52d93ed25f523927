"""`feblam demo`: engine and Hit Gateway on embedded defaults, synthetic traffic, live hits."""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from feblam.v1 import gateway_pb2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the replay")
    parser.add_argument("--rate", type=int, default=10_000, help="reads per second replayed")
    parser.add_argument("--batch", type=int, default=500, help="reads per batch")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic traffic")
    parser.add_argument("--show", type=int, default=25, help="hits printed in full at most")
    parser.add_argument("--data-dir", help="keep the databases here (default: a temporary dir)")


def _describe(delivered: gateway_pb2.DeliveredHit) -> str:
    """One line per hit as a dispatch console would show it (synthetic plates only)."""
    from feblam.v1 import hits_pb2

    hit = delivered.hit
    kind = hits_pb2.MatchKind.Name(hit.match_kind).removeprefix("MATCH_KIND_").lower()
    action = hits_pb2.Action.Name(hit.action).removeprefix("ACTION_").lower()
    subs = f" subs@{list(hit.substituted_positions)}" if hit.substituted_positions else ""
    retro = " RETROACTIVE" if hit.retroactive else ""
    latency = (delivered.received_us - hit.read.observed_us) / 1000
    return (f"P{hit.priority} {action:<18} {hit.list.name:<16} {kind:<8} score={hit.score:.2f}"
            f"{subs} read={hit.canonical_plate or '-':<10} entry={hit.entry.plate:<10}"
            f" camera={hit.read.camera_id} to={','.join(hit.recipients)}{retro}"
            f" ({latency:.1f} ms)")


async def _demo(args: argparse.Namespace, directory: Path) -> int:
    import grpc

    from feblam.client import IngestClient
    from feblam.v1 import gateway_pb2, gateway_pb2_grpc, reads_pb2
    from feblam.gateway.server import create_gateway_server
    from feblam.service.config import GatewayConfig, ServiceConfig
    from feblam.service.server import create_server
    from feblam.service.traffic import batches, build_scenario
    from feblam.watchlists.files import entries_from_rows

    reads_total = max(1, int(args.rate * args.seconds))
    print(f"feblam demo: building a synthetic deployment ({reads_total} reads, seed {args.seed})")
    scenario = build_scenario(directory / "scenario", reads=reads_total, seed=args.seed)
    gateway, gateway_port = create_gateway_server(GatewayConfig(
        listen="127.0.0.1:0", db=str(directory / "gateway.db"), synchronous="normal"))
    await gateway.start()
    config = ServiceConfig(
        listen="127.0.0.1:0", admin_listen="", gateway=f"127.0.0.1:{gateway_port}",
        data_dir=str(directory / "engine"), definitions=str(scenario.definitions),
        lists=scenario.lists, cameras=str(scenario.cameras), outbox_sync="normal")
    engine, port = create_server(config)
    await engine.start()
    print(f"engine on 127.0.0.1:{port}, hit gateway on 127.0.0.1:{gateway_port}; lists: "
          + ", ".join(f"{s.definition.name} v{s.info.version} ({s.active_entries})"
                      for s in engine.store.snapshot.lists.values()))

    received: list[gateway_pb2.DeliveredHit] = []
    shown = 0
    sightings = 0   # later reads of vehicles with an open hit, live to the main console

    async def console() -> None:
        nonlocal shown
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway_port}") as channel:
            stub = gateway_pb2_grpc.HitGatewayStub(channel)  # type: ignore[no-untyped-call]
            call = stub.Subscribe(gateway_pb2.SubscribeRequest(recipients=[], max_priority=0))
            covert = stub.Subscribe(gateway_pb2.SubscribeRequest(recipients=["unit-ops"]))

            async def drain(stream: grpc.aio.UnaryStreamCall, only_covert: bool) -> None:
                nonlocal shown, sightings
                async for group in stream:
                    if not only_covert:
                        sightings += len(group.sightings)
                    for item in group.hits:
                        if only_covert and not item.hit.list.covert:
                            continue
                        received.append(item)
                        if shown < args.show:
                            shown += 1
                            print("  HIT " + _describe(item))

            await asyncio.gather(drain(call, False), drain(covert, True))

    listener = asyncio.create_task(console())
    await asyncio.sleep(0.2)
    acks: list[reads_pb2.BatchAck] = []
    started = time.perf_counter()
    # The integrator's side as an integrator writing Python would run it: every batch kept until
    # its acknowledgement.
    client = IngestClient(f"127.0.0.1:{port}", window=4)
    pending = batches(scenario, args.batch)
    # A few reads as broken cameras send them: each is refused with its status, the rest of
    # its batch goes through.
    first = pending[0].reads
    first.add(read_id="demo-empty", camera_id="cam-000", raw_plate="  ")
    first.add(read_id="demo-long", camera_id="cam-000", raw_plate="ABCDEFGHIJKLMNOP")
    first.add(read_id=first[0].read_id, camera_id="cam-000", raw_plate=first[0].raw_plate)
    per_batch_s = args.batch / max(1, args.rate)

    async def paced() -> AsyncIterator[reads_pb2.ReadBatch]:
        for n, batch in enumerate(pending):
            due = started + n * per_batch_s
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = int(time.time() * 1e6)
            for read in batch.reads:
                read.observed_us = now
            yield batch

    async for delivered in client.send(paced()):
        acks.append(delivered.ack)
    replay_s = time.perf_counter() - started
    # An entry added now for a vehicle seen during the replay raises a retroactive hit.
    plate = scenario.traffic.emitted[len(scenario.traffic) // 2].decode()
    table, _ = entries_from_rows([{"plate": plate, "reason": "late report of theft"}])
    engine.store.delta(1, add=table, actor="demo", why="theft reported after the sighting")
    deadline = time.perf_counter() + 5
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
        if engine.outbox.depth == 0 and any(r.hit.retroactive for r in received):
            break
    await asyncio.sleep(0.3)
    listener.cancel()
    await engine.stop(1.0)
    await gateway.stop(0.5)
    accepted = sum(a.accepted for a in acks)
    rejected = Counter(reads_pb2.ReadStatus.Name(r.status).removeprefix("READ_STATUS_")
                       for a in acks for r in a.rejections)
    by_list = Counter(r.hit.list.name for r in received)
    by_priority = Counter(f"P{r.hit.priority}" for r in received)
    latencies = sorted((r.received_us - r.hit.read.observed_us) / 1000 for r in received
                       if not r.hit.retroactive)
    unique = len({r.hit.hit_id for r in received})
    print()
    print(f"replayed {sum(len(b.reads) for b in pending)} reads in {replay_s:.1f}s "
          f"({accepted / max(replay_s, 1e-9):,.0f} reads/s accepted)")
    print(f"accepted {accepted}, rejected {sum(rejected.values())} "
          + (f"({', '.join(f'{k} {v}' for k, v in rejected.most_common())})" if rejected else ""))
    print(f"hits at the gateway: {len(received)} ({unique} distinct); by list: "
          + ", ".join(f"{k} {v}" for k, v in by_list.most_common()))
    print("by priority: " + ", ".join(f"{k} {v}" for k, v in sorted(by_priority.items())))
    print(f"retroactive hits: {sum(r.hit.retroactive for r in received)}; sightings of vehicles"
          f" with an open hit, sent live to consoles: {sightings}")
    if latencies:
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"read-to-hit latency at the gateway: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    return 0 if accepted and unique == len(received) else 1


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.data_dir:
        return asyncio.run(_demo(args, Path(args.data_dir)))
    with tempfile.TemporaryDirectory(prefix="feblam-demo-") as tmp:
        return asyncio.run(_demo(args, Path(tmp)))
