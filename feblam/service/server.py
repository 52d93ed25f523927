"""The engine process: ingest server, admin server, health, metrics, outbox sender, shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry

from feblam.hits.outbox import Outbox, OutboxItem
from feblam.hits.sender import GatewaySender
from feblam.service.config import ServiceConfig
from feblam.service.engine import Engine, EngineLimits
from feblam.service.integrators import IntegratorAccess
from feblam.service.interceptors import DomainErrorInterceptor
from feblam.service.metrics import EngineMetrics, serve_metrics
from feblam.service.retro import PlateKeys
from feblam.service.servicer import INGEST_SERVICE, IngestServicer, ingest_handler
from feblam.service.tls import bind, channel_credentials, server_credentials
from feblam.watchlists.zones import ZoneRules, load_cameras, load_zones

log = logging.getLogger("feblam.service")

_OPTIONS = [("grpc.max_receive_message_length", 64 << 20),
            ("grpc.max_send_message_length", 64 << 20), ("grpc.so_reuseport", 0)]


def _store(config: ServiceConfig) -> Any:
    from feblam.watchlists.audit import AuditLog
    from feblam.watchlists.definitions import load_definitions
    from feblam.watchlists.store import WatchlistStore

    definitions = load_definitions(config.definitions) if config.definitions else {}
    audit = AuditLog(Path(config.data_dir) / "audit.db")
    return WatchlistStore(definitions, audit)


class EngineServer:
    """Everything `feblam serve` runs; `start()`, then `stop(grace)` or `wait_for_termination()`."""

    def __init__(self, config: ServiceConfig, *, registry: CollectorRegistry | None = None,
                 store: Any = None, zone_rules: ZoneRules | None = None,
                 keys: PlateKeys | None = None) -> None:
        self.config = config
        Path(config.data_dir).mkdir(parents=True, exist_ok=True)
        self.registry = registry or CollectorRegistry()
        self.metrics = EngineMetrics(self.registry)
        self.store = store if store is not None else _store(config)
        if zone_rules is None:
            zone_rules = ZoneRules(load_zones(config.zones) if config.zones else {},
                                   load_cameras(config.cameras) if config.cameras else {})
        self.outbox = Outbox(Path(config.data_dir) / "outbox.db", synchronous=config.outbox_sync)
        if keys is None:
            keys = PlateKeys(seed=engine_secret(Path(config.data_dir)))
        limits = EngineLimits(config.max_inflight_reads, config.max_batch_reads,
                              config.max_read_age_s, config.max_future_s,
                              config.require_known_camera, config.match_threads,
                              config.max_inflight_reads_per_integrator)
        self.engine = Engine(self.store, self.outbox, self.metrics, zone_rules=zone_rules,
                             limits=limits, retro_hours=config.retro_hours,
                             retro_max_reads=config.retro_max_reads,
                             dedupe_reads=config.dedupe_reads, keys=keys)
        self.sender: GatewaySender | None = None
        if config.gateway:
            self.sender = GatewaySender(
                self.outbox, config.gateway,
                credentials=channel_credentials(config.gateway_ca, config.gateway_cert,
                                                config.gateway_key),
                batch_size=config.sender_batch, linger_s=config.sender_linger_s,
                token=config.gateway_token, on_delivered=self._delivered)
            self.engine.on_commit.append(self.sender.notify)
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server(interceptors=[DomainErrorInterceptor()], options=_OPTIONS)
        self.server.add_generic_rpc_handlers(
            (ingest_handler(IngestServicer(
                self.engine, config.stream_window,
                IntegratorAccess(config.integrator_tokens, certificates=bool(config.tls_client_ca)))),))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        if config.reflection:
            self._add_reflection()
        self.port = bind(self.server, config.listen,
                         server_credentials(config.tls_cert, config.tls_key, config.tls_client_ca))
        self.admin_server: grpc.aio.Server | None = None
        self.admin_port = 0
        if config.admin_listen and config.admin_tokens:
            self._add_admin(zone_rules)
        self.metrics_port = 0
        self._tasks: list[asyncio.Task[Any]] = []

    def _add_reflection(self) -> None:
        try:
            from grpc_reflection.v1alpha import reflection
        except ImportError:
            raise RuntimeError("reflection needs the grpcio-reflection package "
                               "(pip install grpcio-reflection)") from None
        names = (INGEST_SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                 reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, self.server)

    def _add_admin(self, zone_rules: ZoneRules) -> None:
        from feblam.watchlists.admin import WatchlistAdminServicer, admin_server

        # Tokens are configured as name = token; the interceptor looks names up by token.
        tokens = {token: name for name, token in self.config.admin_tokens.items()}
        admin = WatchlistAdminServicer(self.store, zone_rules, on_zones=self.engine.set_zone_rules)
        self.admin_server, self.admin_port = admin_server(
            admin, tokens=tokens, address=self.config.admin_listen,
            credentials=server_credentials(self.config.tls_cert, self.config.tls_key,
                                           self.config.tls_client_ca))

    def _delivered(self, items: Sequence[OutboxItem], now: float) -> None:
        for item in items:
            self.metrics.delivery_seconds.observe(max(0.0, now - item.created_us / 1e6))

    async def start(self) -> None:
        await self.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.health.set(INGEST_SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        if self.admin_server is not None:
            await self.admin_server.start()
        if self.config.metrics_listen:
            self.metrics_port = serve_metrics(self.config.metrics_listen, self.registry)
        if self.sender is not None:
            self.sender.start()
        await self.load_lists()
        # Everything alive now (modules, the loaded lists) lives as long as the process; frozen,
        # the garbage collector stops walking it on every full collection, which otherwise
        # stalls batches for tens of milliseconds.
        gc.freeze()
        self._tasks.append(asyncio.create_task(self._housekeeping()))
        self._tasks.append(asyncio.create_task(self._fold_deltas()))
        log.info("engine listening on port %d (admin %s, metrics %s, gateway %s)", self.port,
                 self.admin_port or "off", self.metrics_port or "off", self.config.gateway or "off")

    async def load_lists(self) -> None:
        """Loads the configured lists, then reports SERVING."""
        for list_id, path in sorted(self.config.lists.items(), key=lambda kv: int(kv[0])):
            started = time.perf_counter()
            info = await asyncio.to_thread(self.store.load, int(list_id), path, actor="startup",
                                           why="configured at start")
            log.info("list %s version %d: %d entries loaded in %.2fs", list_id, info.version,
                     info.entries, time.perf_counter() - started)
        await self.mark_ready()

    async def mark_ready(self) -> None:
        self.engine.note_snapshot()
        self.engine.ready = True
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self.health.set(INGEST_SERVICE, health_pb2.HealthCheckResponse.SERVING)

    async def _housekeeping(self) -> None:
        # Deltas raise retroactive hits even when no batch arrives to notice them.
        rounds = 0
        while True:
            await asyncio.sleep(0.2)
            rounds += 1
            try:
                if rounds % 300 == 0:  # once a minute: stored suppression windows that closed
                    await self.outbox.forget_windows(int(time.time() * 1e6))
                await self.engine.check_deltas()
                now_us = int(time.time() * 1e6)
                self.engine.retro.purge(now_us)
                self.metrics.retro_reads.set(len(self.engine.retro))
            except Exception:  # noqa: BLE001 - housekeeping must outlive one bad round
                log.exception("housekeeping round failed")

    async def _fold_deltas(self) -> None:
        # Deltas serve from a small overlay index at once; every so often they are folded into
        # the base index in a worker thread, after the engine has searched the retroactive buffer
        # for them (a fold must never swallow a delta the engine has not seen).
        while True:
            await asyncio.sleep(self.config.fold_interval_s)
            try:
                await self.engine.check_deltas()
                for serving in self.store.pending_folds():
                    if self.engine.has_seen(serving):
                        await asyncio.to_thread(self.store.fold, serving.info.list_id, serving)
            except Exception:  # noqa: BLE001 - folding is retried next round
                log.exception("folding deltas failed")

    async def stop(self, grace: float | None = None) -> None:
        """Stops taking batches, lets in-flight ones finish and commit, then stops delivery."""
        grace = self.config.grace_s if grace is None else grace
        await self.health.enter_graceful_shutdown()
        for task in self._tasks:
            task.cancel()
        # New calls are refused from here; calls in progress (streams included) go on for up
        # to `grace` seconds, so a batch already sent is matched, committed and acknowledged.
        await self.server.stop(grace)
        self.engine.ready = False
        self.engine.close()
        if self.admin_server is not None:
            await self.admin_server.stop(1.0)
        if self.sender is not None:
            await self.sender.stop(flush_s=min(grace, 2.0))
        self.outbox.close()

    async def wait_for_termination(self) -> None:
        await self.server.wait_for_termination()


def engine_secret(data_dir: Path) -> int:
    """The key of this deployment's plate hashes, kept in the data directory (owner-only), so
    suppression windows still recognise a vehicle after a restart."""
    path = data_dir / "engine.secret"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raw = secrets.token_bytes(8)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
    if len(raw) != 8:
        raise ValueError(f"{path}: not an engine secret (8 bytes expected)")
    return int.from_bytes(raw, "little")


def create_server(config: ServiceConfig, **kwargs: Any) -> tuple[EngineServer, int]:
    """An engine bound to config.listen (port 0 picks one); call `await server.start()`."""
    server = EngineServer(config, **kwargs)
    return server, server.port
