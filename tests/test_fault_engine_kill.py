"""Fault: the engine is killed (SIGKILL, a real process) mid-traffic and restarted; every hit of an
acknowledged read still reaches the gateway, once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import feblam
from feblam.v1 import ingest_pb2_grpc
from feblam.gateway.server import create_gateway_server
from feblam.service.config import GatewayConfig
from tests.service_harness import batch, free_port, read

ROOT = Path(feblam.__file__).resolve().parent.parent
PLATES = [f"K{n:05d}" for n in range(400)]


def plate_of(read_id: str) -> str:
    """Each read id always carries the same plate, as a retrying camera would send it."""
    n, i = read_id[1:].split("-")
    return PLATES[(int(n) * 20 + int(i)) % len(PLATES)]


def write_config(directory: Path, port: int, gateway_port: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "lists.toml").write_text(
        '[[list]]\nid = 1\nname = "stolen"\ncategory = "stolen"\npriority = 1\n'
        'kinds = ["exact"]\nsuppression_s = 0\n')
    (directory / "stolen.csv").write_text("plate\n" + "\n".join(PLATES) + "\n")
    config = directory / "engine.toml"
    config.write_text(
        "[engine]\n"
        f'listen = "127.0.0.1:{port}"\nadmin_listen = ""\ngateway = "127.0.0.1:{gateway_port}"\n'
        f'data_dir = "{directory / "data"}"\ndefinitions = "{directory / "lists.toml"}"\n'
        f'outbox_sync = "normal"\nlog_level = "warning"\n'
        f'[engine.lists]\n"1" = "{directory / "stolen.csv"}"\n')
    return config


def start_engine(config: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "feblam", "serve", "--config", str(config)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def serving(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else b""
            try:
                answer = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the engine did not become SERVING")


def test_killed_engine_loses_no_acknowledged_hit(tmp_path: Path) -> None:
    port, gateway_port = free_port(), free_port()
    config = write_config(tmp_path / "deploy", port, gateway_port)

    async def scenario() -> None:
        acknowledged: set[str] = set()
        unacknowledged: list[list[str]] = []
        engine = start_engine(config)
        try:
            await serving(port, engine)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = ingest_pb2_grpc.IngestStub(channel)

                async def send(n: int) -> None:
                    ids = [f"r{n}-{i}" for i in range(20)]
                    reads = [read(rid, plate_of(rid)) for rid in ids]
                    try:
                        ack = await stub.SubmitReads(batch(*reads, batch_id=f"b{n}"), timeout=5)
                        assert ack.hits == 20
                        acknowledged.update(ids)
                    except grpc.aio.AioRpcError:
                        unacknowledged.append(ids)

                for n in range(5):
                    await send(n)
                # Batches in flight while the engine dies; the gateway is down all along, so
                # every hit is still in the outbox when the process is killed.
                tasks = [asyncio.create_task(send(n)) for n in range(5, 15)]
                await asyncio.sleep(0.02)
                engine.send_signal(signal.SIGKILL)
                engine.wait(timeout=10)
                await asyncio.gather(*tasks)
            assert len(acknowledged) >= 100
            engine = start_engine(config)
            await serving(port, engine)
            gateway, _ = create_gateway_server(GatewayConfig(
                listen=f"127.0.0.1:{gateway_port}", db=str(tmp_path / "gateway.db")))
            await gateway.start()
            try:
                # The client sends its unacknowledged batches again, as a camera would; it also
                # repeats a batch that was acknowledged, which must not raise second hits.
                async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                    stub = ingest_pb2_grpc.IngestStub(channel)
                    for ids in unacknowledged + [sorted(acknowledged)[:20]]:
                        await stub.SubmitReads(batch(*[read(r, plate_of(r)) for r in ids]))
                expected = acknowledged | {r for ids in unacknowledged for r in ids}
                deadline = time.monotonic() + 20
                while gateway.store.count() < len(expected) and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.3)
                stored = gateway.store.all_hits()
                read_ids = [h.hit.read.read_id for h in stored]
                assert acknowledged <= set(read_ids)
                assert sorted(read_ids) == sorted(expected)
            finally:
                await gateway.stop(0.5)
        finally:
            if engine.poll() is None:
                engine.send_signal(signal.SIGTERM)
                engine.wait(timeout=20)

    asyncio.run(scenario())
