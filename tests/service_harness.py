"""Real engine and gateway servers on loopback for the service tests, with a small deployment."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from prometheus_client import CollectorRegistry

from feblam.gateway.server import GatewayServer, create_gateway_server
from feblam.service.config import GatewayConfig, ServiceConfig
from feblam.service.server import EngineServer, create_server
from feblam.v1 import gateway_pb2, gateway_pb2_grpc, ingest_pb2_grpc, reads_pb2

DEFINITIONS = """
[[list]]
id = 1
name = "stolen"
category = "stolen"
priority = 1
action = "intercept"
kinds = ["exact", "ocr"]
suppression_s = 300

[[list]]
id = 2
name = "uninsured"
category = "uninsured"
priority = 5
kinds = ["exact"]
suppression_s = 300

[[list]]
id = 3
name = "lez-noncompliant"
category = "lez"
priority = 6
kinds = ["exact"]
zone = "centre"

[[list]]
id = 4
name = "covert"
category = "wanted"
priority = 2
covert = true
recipients = ["unit-ops"]
kinds = ["exact"]
"""
ENTRIES = {
    "1": "plate;country;reason;reference\n1ABC123;BE;stolen;PV-1\n2XYZ987;;stolen;PV-2\n",
    "2": "plate;country\n1ABC123;BE\n5UNI555;\n6UNI666;\n",
    "3": "plate;country\n7LEZ777;\n",
    "4": "plate;country\n9COV999;\n",
}
ZONES = """
[[zone]]
name = "centre"
mode = "deny"
lists = [3]
cameras = ["cam-zone"]
windows = ["mon-sun 00:00-24:00"]
"""
CAMERAS = "camera_id;region\ncam-1;BRU\ncam-2;ANT\ncam-zone;BRU\n"


def certificates(directory: Path, clients: tuple[str, ...] = ("client",)) -> dict[str, str]:
    """A test CA, a server certificate for loopback and one client certificate per name
    (subject CN feblam-NAME); paths by file name."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=FEBLAM test CA")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    names = ("server", *clients)
    for name in names:
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN=feblam-{name}")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext")
    return {f: str(directory / f) for name in names for f in (f"{name}.pem", f"{name}.key")} | {
        "ca.pem": str(directory / "ca.pem")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def deployment(directory: Path) -> dict[str, Any]:
    """Files of the small deployment; returns the engine settings that name them."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "lists.toml").write_text(DEFINITIONS)
    (directory / "zones.toml").write_text(ZONES)
    (directory / "cameras.csv").write_text(CAMERAS)
    lists = {}
    for list_id, text in ENTRIES.items():
        path = directory / f"list{list_id}.csv"
        path.write_text(text)
        lists[list_id] = str(path)
    return {"definitions": str(directory / "lists.toml"), "lists": lists,
            "zones": str(directory / "zones.toml"), "cameras": str(directory / "cameras.csv"),
            "data_dir": str(directory / "engine"), "admin_listen": "", "outbox_sync": "normal"}


def read(read_id: str, plate: str, camera: str = "cam-1", country: str = "BE",
         confidence: float | None = 0.95, observed_us: int | None = None) -> reads_pb2.Read:
    r = reads_pb2.Read(read_id=read_id, camera_id=camera, raw_plate=plate, country=country,
                       observed_us=observed_us or int(time.time() * 1e6))
    if confidence is not None:
        r.confidence = confidence
    return r


def batch(*reads: reads_pb2.Read, batch_id: str = "b") -> reads_pb2.ReadBatch:
    return reads_pb2.ReadBatch(batch_id=batch_id, reads=list(reads))


@dataclass
class Deployment:
    engine: EngineServer
    port: int
    gateway: GatewayServer | None
    gateway_port: int
    registry: CollectorRegistry
    directory: Path
    channels: list[grpc.aio.Channel] = field(default_factory=list)
    gateway_settings: dict[str, Any] = field(default_factory=dict)

    def ingest(self) -> ingest_pb2_grpc.IngestStub:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        self.channels.append(channel)
        return ingest_pb2_grpc.IngestStub(channel)

    def consoles(self) -> gateway_pb2_grpc.HitGatewayStub:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.gateway_port}")
        self.channels.append(channel)
        return gateway_pb2_grpc.HitGatewayStub(channel)

    async def start_gateway(self) -> None:
        self.gateway, _ = create_gateway_server(GatewayConfig(
            listen=f"127.0.0.1:{self.gateway_port}", db=str(self.directory / "gateway.db"),
            synchronous="normal", **self.gateway_settings))
        await self.gateway.start()

    async def stop_gateway(self) -> None:
        if self.gateway is not None:
            await self.gateway.stop(0.2)
            self.gateway = None

    async def stored_hits(self, n: int, timeout: float = 10.0) -> list[gateway_pb2.DeliveredHit]:
        """Waits until the gateway holds at least n hits; returns all, in arrival order."""
        assert self.gateway is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gateway.store.count() >= n and self.engine.outbox.depth == 0:
                break
            await asyncio.sleep(0.05)
        items = await asyncio.to_thread(self.gateway.store.all_hits)
        return [gateway_pb2.DeliveredHit(hit=i.hit, received_us=i.received_us) for i in items]


@asynccontextmanager
async def running(directory: Path, *, gateway: bool = True,
                  gateway_settings: dict[str, Any] | None = None,
                  **overrides: Any) -> AsyncIterator[Deployment]:
    settings = deployment(directory)
    gateway_port = free_port()
    settings.update(listen="127.0.0.1:0", gateway=f"127.0.0.1:{gateway_port}")
    settings.update(overrides)
    registry = CollectorRegistry()
    engine, port = create_server(ServiceConfig(**settings), registry=registry)
    d = Deployment(engine, port, None, gateway_port, registry, directory,
                   gateway_settings=dict(gateway_settings or {}))
    if gateway:
        await d.start_gateway()
    await engine.start()
    if engine.sender is not None:
        # Tests want retries to come quickly after an outage ends.
        engine.sender.backoff_max_s = 0.2
    try:
        yield d
    finally:
        for channel in d.channels:
            await channel.close()
        await engine.stop(1.0)
        await d.stop_gateway()
