"""`feblam bench service`: engine throughput against a plain gRPC echo, read-to-hit latency.

Engine, Hit Gateway, echo server and client run in separate processes on loopback. Every load
loop is bounded in batch count and in time. Latency of a hit is measured from the moment the
client sent its batch to the moment the gateway stored the hit (same machine, same clock).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc

STREAM_METHOD = "/feblam.v1.Ingest/StreamReads"
SUBSCRIBE_METHOD = "/feblam.v1.HitGateway/Subscribe"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from feblam.service.config import ServiceConfig
    from feblam.service.traffic import add_traffic_arguments

    parser.add_argument("--batch", type=int, default=1000, help="reads per batch")
    parser.add_argument("--batches", type=int, default=1000,
                        help="batches per throughput run (bounded)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="echo and engine throughput runs, alternating; medians are reported")
    parser.add_argument("--rate", type=int, default=100_000, help="reads/s of the latency run")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the latency run")
    parser.add_argument("--window", type=int, default=8, help="batches in flight per stream")
    add_traffic_arguments(parser)
    parser.add_argument("--suppression", action="store_true",
                        help="lists keep their suppression windows: repeat reads of a listed "
                             "vehicle join its open hit's trail as sightings")
    parser.add_argument("--outbox-sync", default="full", choices=("full", "normal"),
                        help="SQLite synchronous mode of the engine's outbox")
    parser.add_argument("--sender-linger-ms", type=float, default=ServiceConfig.sender_linger_s * 1000,
                        help="the engine's pause after a delivery that was not full")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _identity(data: bytes) -> bytes:
    return data


# -- child processes -------------------------------------------------------------------------


def _serve_child(kind: str, settings: dict[str, Any], ports: Any) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        server: Any
        if kind == "engine":
            from feblam.service.config import ServiceConfig
            from feblam.service.server import create_server

            server, port = create_server(ServiceConfig(**settings))
        elif kind == "gateway":
            from feblam.gateway.server import create_gateway_server
            from feblam.service.config import GatewayConfig

            server, port = create_gateway_server(GatewayConfig(**settings))
        else:
            server, port = _echo_server()
        await server.start()
        ports.put((kind, port))
        await stop.wait()
        await server.stop(1.0)

    asyncio.run(main())


class _EchoServer:
    def __init__(self) -> None:
        from feblam.v1 import reads_pb2

        self.server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20)])

        async def echo(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
            async for batch in requests:
                yield batch

        handler = grpc.stream_stream_rpc_method_handler(
            echo, request_deserializer=reads_pb2.ReadBatch.FromString,
            response_serializer=reads_pb2.ReadBatch.SerializeToString)
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("feblam.v1.Ingest", {"StreamReads": handler}),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    async def start(self) -> None:
        await self.server.start()

    async def stop(self, grace: float) -> None:
        await self.server.stop(grace)


def _echo_server() -> tuple[_EchoServer, int]:
    server = _EchoServer()
    return server, server.port


class _ConsoleLog:
    """What the bench's dispatch consoles received: (hit id, batch id, priority, received_us).

    A console keeps each message as it came and decodes it only when the hits are counted. Real
    consoles run at dispatch centres; decoding here, during the load, would take the CPU of the
    2-core machine that the engine's throughput is measured on. Latency is unaffected: it runs to
    the gateway's own time of receipt, carried in each hit.
    """

    def __init__(self) -> None:
        self._messages: list[tuple[bytes, bool]] = []   # a message, whether only covert hits count
        self._hits: list[tuple[str, str, int, int]] = []

    def keep(self, message: bytes, only_covert: bool) -> None:
        self._messages.append((message, only_covert))

    def hits(self) -> list[tuple[str, str, int, int]]:
        from feblam.v1 import gateway_pb2

        for message, only_covert in self._messages:
            for item in gateway_pb2.DeliveredHits.FromString(message).hits:
                if only_covert and not item.hit.list.covert:
                    continue
                self._hits.append((item.hit.hit_id, item.hit.read.read_id.split("-")[0],
                                   item.hit.priority, item.received_us))
        self._messages.clear()
        return self._hits


# -- the client ------------------------------------------------------------------------------


async def _drive(port: int, payloads: list[tuple[str, bytes, int]], *, window: int,
                 rate: float | None, deadline_s: float, parse_ack: bool,
                 sent_at: dict[str, float]) -> dict[str, Any]:
    """Streams pre-serialised batches; returns reads/s, ack latencies and the acks' hit count."""
    from feblam.v1 import reads_pb2

    deserializer = reads_pb2.BatchAck.FromString if parse_ack else _identity
    ack_ms: list[float] = []
    hits = 0
    reads_done = 0
    retries = 0
    slots = asyncio.Semaphore(window)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[
            ("grpc.max_receive_message_length", 64 << 20)]) as channel:
        call = channel.stream_stream(STREAM_METHOD, request_serializer=_identity,
                                     response_deserializer=deserializer)()
        started = time.perf_counter()
        stop_at = started + deadline_s
        order: list[tuple[str, int]] = []

        async def writer() -> None:
            for n, (batch_id, data, count) in enumerate(payloads):
                if rate:
                    delay = started + n * count / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                if time.perf_counter() > stop_at:
                    break
                await slots.acquire()
                sent_at[batch_id] = time.time()
                order.append((batch_id, count))
                await call.write(data)
            await call.done_writing()

        task = asyncio.create_task(writer())
        n = 0
        async for ack in call:
            batch_id, count = order[n]
            n += 1
            ack_ms.append((time.time() - sent_at[batch_id]) * 1000)
            slots.release()
            if parse_ack:
                if ack.status == reads_pb2.BATCH_STATUS_RETRY_LATER:
                    retries += 1
                    continue
                hits += ack.hits
            reads_done += count
        await task
        elapsed = time.perf_counter() - started
    return {"reads": reads_done, "seconds": elapsed, "reads_per_s": reads_done / elapsed,
            "ack_ms": ack_ms, "hits": hits, "retries": retries}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _payloads(scenario: Any, batch: int, prefix: str, start: int,
              count: int) -> list[tuple[str, bytes, int]]:
    from feblam.service.traffic import batches

    out: list[tuple[str, bytes, int]] = []
    for b in batches(scenario, batch, prefix=prefix, start=start, count=count):
        b.batch_id = f"{prefix}b{len(out)}"
        out.append((b.batch_id, b.SerializeToString(), len(b.reads)))
    return out


def _cpu_seconds(pid: int, main_thread: bool = False) -> float | None:
    """User and system CPU time a process (or its main thread) has used so far (Linux /proc),
    or None."""
    path = f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat"
    try:
        with open(path, encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _cpu_per_batch(before: float | None, after: float | None, batches: int) -> float | None:
    if before is None or after is None or not batches:
        return None
    return (after - before) / batches * 1000


async def _measure(args: argparse.Namespace, ports: dict[str, int], scenario: Any,
                   pids: dict[str, int]) -> dict[str, Any]:
    from feblam.v1 import gateway_pb2

    batch = args.batch
    # The runs replay different reads: repeats of the same vehicles would only join trails, and
    # each round has read ids of its own, so none is taken for a re-sent read.
    rounds = [_payloads(scenario, batch, f"t{k}", 0, args.batches * batch)
              for k in range(max(1, args.rounds))]
    latency_batches = max(1, int(args.rate * args.seconds / batch))
    paced = _payloads(scenario, batch, "l", args.batches * batch, latency_batches * batch)
    sent_at: dict[str, float] = {}
    consoles = _ConsoleLog()

    async def console(recipients: list[str], only_covert: bool) -> None:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{ports['gateway']}") as channel:
            subscribe = channel.unary_stream(
                SUBSCRIBE_METHOD, request_serializer=gateway_pb2.SubscribeRequest.SerializeToString,
                response_deserializer=_identity)
            async for message in subscribe(gateway_pb2.SubscribeRequest(recipients=recipients)):
                consoles.keep(message, only_covert)

    # Covert hits reach only their named recipients: a second console speaks for them.
    listeners = [asyncio.create_task(console([], False)),
                 asyncio.create_task(console(["unit-ops"], True))]
    await asyncio.sleep(0.3)
    # Echo and engine alternate, so a neighbour's load on this shared machine weighs on both.
    echoes: list[dict[str, Any]] = []
    engines: list[dict[str, Any]] = []
    # CPU per batch of each process, alongside throughput: the machine's other load moves
    # throughput a lot and CPU cost much less.
    # The engine's event-loop thread apart: it is the part of the batch path that cannot spread
    # over cores. The client is this process.
    cpu: dict[str, list[float]] = {"echo": [], "engine": [], "engine_loop": [], "gateway": [],
                                   "client_echo": [], "client_engine": []}

    def sample() -> dict[str, float | None]:
        out = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        out["engine_loop"] = _cpu_seconds(pids["engine"], main_thread=True)
        out["client"] = _cpu_seconds(os.getpid())
        return out

    for through in rounds:
        before = sample()
        echoes.append(await _drive(ports["echo"], through, window=args.window, rate=None,
                                   deadline_s=60, parse_ack=False, sent_at={}))
        middle = sample()
        engines.append(await _drive(ports["engine"], through, window=args.window, rate=None,
                                    deadline_s=60, parse_ack=True, sent_at=sent_at))
        after = sample()
        for name, first, second, done in (("echo", before, middle, echoes[-1]),
                                          ("engine", middle, after, engines[-1]),
                                          ("engine_loop", middle, after, engines[-1]),
                                          ("gateway", middle, after, engines[-1])):
            value = _cpu_per_batch(first.get(name), second.get(name), done["reads"] // batch)
            if value is not None:
                cpu[name].append(value)
        for name, first, second, done in (("client_echo", before, middle, echoes[-1]),
                                          ("client_engine", middle, after, engines[-1])):
            value = _cpu_per_batch(first.get("client"), second.get("client"),
                                   done["reads"] // batch)
            if value is not None:
                cpu[name].append(value)
    engine = {"hits": sum(e["hits"] for e in engines), "ack_ms": [a for e in engines for a in e["ack_ms"]]}
    ratios = [e["reads_per_s"] / x["reads_per_s"] for e, x in zip(engines, echoes)]
    # The latency run starts on an empty outbox: the throughput run's hits are delivered first.
    drain_until = time.perf_counter() + 30
    while len({r[0] for r in consoles.hits()}) < engine["hits"] and time.perf_counter() < drain_until:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    mark = len(consoles.hits())
    steady = await _drive(ports["engine"], paced, window=args.window, rate=float(args.rate),
                          deadline_s=args.seconds * 3 + 5, parse_ack=True, sent_at=sent_at)
    expected = engine["hits"] + steady["hits"]
    deadline = time.perf_counter() + 20
    while len({r[0] for r in consoles.hits()}) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    for listener in listeners:
        listener.cancel()
    received = consoles.hits()
    lat = [(r[3] / 1e6 - sent_at[r[1]]) * 1000 for r in received[mark:] if r[1] in sent_at]
    lat_p1 = [(r[3] / 1e6 - sent_at[r[1]]) * 1000 for r in received[mark:]
              if r[1] in sent_at and r[2] == 1]
    distinct = len({r[0] for r in received})
    return {
        "batch_size": batch,
        "reads_per_s": round(statistics.median(e["reads_per_s"] for e in engines)),
        "echo_reads_per_s": round(statistics.median(x["reads_per_s"] for x in echoes)),
        "echo_ratio": round(statistics.median(ratios), 3),
        "cpu_ms_per_batch": {name: round(statistics.median(values), 3)
                             for name, values in cpu.items() if values},
        "rounds": [{"reads_per_s": round(e["reads_per_s"]), "echo_reads_per_s": round(x["reads_per_s"]),
                    "echo_ratio": round(r, 3)} for e, x, r in zip(engines, echoes, ratios)],
        "latency_run_rate": args.rate,
        "latency_run_achieved_reads_per_s": round(steady["reads_per_s"]),
        "latency_run_retries": steady["retries"],
        "p50_read_to_hit_ms": _pct(lat, 0.5),
        "p99_read_to_hit_ms": _pct(lat, 0.99),
        "p99_p1_read_to_hit_ms": _pct(lat_p1, 0.99),
        "p1_hits_measured": len(lat_p1),
        "p50_ack_ms": _pct(steady["ack_ms"], 0.5),
        "p99_ack_ms": _pct(steady["ack_ms"], 0.99),
        "p999_ack_ms": _pct(steady["ack_ms"], 0.999),
        "throughput_run_p99_ack_ms": _pct(engine["ack_ms"], 0.99),
        "hits_raised": expected,
        "hits_at_gateway": distinct,
        "hits_lost": max(0, expected - distinct),
        "hits_duplicated": len(received) - distinct,
        "outbox_sync": args.outbox_sync,
        "low_emission_zone": args.low_emission_zone,
        "suppression": args.suppression,
        "sender_linger_ms": args.sender_linger_ms,
        "echo": "the same ReadBatch messages, parsed by the server and sent back",
    }


def run(args: argparse.Namespace) -> int:
    from feblam.service.traffic import build_scenario

    ctx = mp.get_context("spawn")
    ports_queue = ctx.Queue()
    with tempfile.TemporaryDirectory(prefix="feblam-bench-") as tmp:
        directory = Path(tmp)
        reads = args.batches * args.batch + int(args.rate * args.seconds)
        scenario = build_scenario(directory / "scenario", reads=reads, seed=args.seed,
                                  listed_share=args.listed_share, suppression=args.suppression,
                                  low_emission_zone=args.low_emission_zone)
        gateway_settings = {"listen": "127.0.0.1:0", "db": str(directory / "gateway.db")}
        children = [ctx.Process(target=_serve_child, args=("gateway", gateway_settings, ports_queue)),
                    ctx.Process(target=_serve_child, args=("echo", {}, ports_queue))]
        for child in children:
            child.start()
        ports: dict[str, int] = {}
        try:
            while len(ports) < 2:
                kind, port = ports_queue.get(timeout=60)
                ports[kind] = port
            engine_settings = {
                "listen": "127.0.0.1:0", "admin_listen": "", "gateway": f"127.0.0.1:{ports['gateway']}",
                "data_dir": str(directory / "engine"), "definitions": str(scenario.definitions),
                "lists": scenario.lists, "cameras": str(scenario.cameras),
                "zones": str(scenario.zones) if scenario.zones else "",
                "outbox_sync": args.outbox_sync, "max_inflight_reads": 64 * args.batch,
                "max_batch_reads": max(10_000, args.batch), "stream_window": args.window,
                "sender_linger_s": args.sender_linger_ms / 1000}
            engine = ctx.Process(target=_serve_child, args=("engine", engine_settings, ports_queue))
            engine.start()
            children.append(engine)
            kind, port = ports_queue.get(timeout=120)
            ports[kind] = port
            pids = {"engine": engine.pid, "gateway": children[0].pid, "echo": children[1].pid}
            result = asyncio.run(_measure(args, ports, scenario,
                                          {k: v for k, v in pids.items() if v is not None}))
        finally:
            for child in children:
                if child.is_alive():
                    child.terminate()
            for child in children:
                child.join(timeout=10)
                if child.is_alive():
                    child.kill()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:32} {value}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m feblam.service.bench",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
