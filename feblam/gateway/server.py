"""The reference Hit Gateway server: Publish from engines, Subscribe for consoles, Acknowledge."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import grpc
from prometheus_client import CollectorRegistry, Counter

from feblam.gateway.store import GatewayStore, StoredHit, StoredSighting, delivered_hits
from feblam.service.config import GatewayConfig
from feblam.service.tls import bind, server_credentials
from feblam.tokens import match_bearer
from feblam.v1 import gateway_pb2 as pb
from feblam.v1 import gateway_pb2_grpc as pb_grpc

log = logging.getLogger("feblam.gateway")


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.items = Counter("feblam_gateway_items_total",
                             "Hits and sightings received, by outcome (stored or duplicate)",
                             ["outcome"], registry=registry)
        self.decisions = Counter("feblam_gateway_decisions_total", "Operator decisions by kind",
                                 ["decision"], registry=registry)
        self.misreads = Counter("feblam_gateway_misreads_total",
                                "Hits operators judged misreads, by camera", ["camera"],
                                registry=registry)
        self.dropped_consoles = Counter("feblam_gateway_console_overflows_total",
                                        "Consoles cut off because they fell too far behind",
                                        registry=registry)


# What consoles are sent: hits, and sightings that grow their trails.
Delivered = StoredHit | StoredSighting


def _priority(item: Delivered) -> int:
    return item.route[1]


# Hits per message to a console: a backlog goes out in pages of this size, and groups queued
# behind a slow console are sent together up to it.
CONSOLE_MESSAGE_HITS = 500


@dataclass(eq=False)
class Console:
    """One Subscribe call: its filter and its queue of hit groups, bounded in hits."""

    recipients: frozenset[str]
    list_ids: frozenset[int]
    max_priority: int
    limit: int = 10_000
    queue: asyncio.Queue[list[Delivered] | None] = field(default_factory=asyncio.Queue)
    pending: int = 0
    overflowed: bool = False

    def offer(self, group: list[Delivered]) -> bool:
        """Queues a group of hits; False, queueing nothing, when the console is too far behind."""
        if self.pending + len(group) > self.limit:
            return False
        self.pending += len(group)
        self.queue.put_nowait(group)
        return True

    async def next_group(self) -> list[Delivered] | None:
        """The next group, with the groups queued behind it up to a message's worth; None at the end."""
        got = await self.queue.get()
        if got is None:
            return None
        group = list(got)
        merged = False
        while len(group) < CONSOLE_MESSAGE_HITS and not self.queue.empty():
            more = self.queue.get_nowait()
            if more is None:
                self.queue.put_nowait(None)  # seen again on the next call
                break
            group.extend(more)
            merged = True
        if merged:
            # Several deliveries in one message: most urgent first again (stable within one).
            group.sort(key=_priority)
        self.pending -= len(group)
        return group

    def wants(self, item: Delivered) -> bool:
        list_id, priority, covert, recipients = item.route
        if self.list_ids and list_id not in self.list_ids:
            return False
        if self.max_priority and priority > self.max_priority:
            return False
        # Covert hits only for a named recipient; others also for a console naming none.
        if not self.recipients:
            return not covert
        return not self.recipients.isdisjoint(recipients)


ALL_RECIPIENTS = "*"
GATEWAY_SERVICE = pb.DESCRIPTOR.services_by_name["HitGateway"].full_name


class ConsoleAccess:
    """Which recipients a console's token lets it speak for; covert hits reach only those.

    Without tokens every console is trusted with the recipients it names (a demo deployment).
    """

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._tokens = {token: frozenset(r.strip() for r in recipients.split(",") if r.strip())
                        for token, recipients in tokens.items()}

    @property
    def required(self) -> bool:
        return bool(self._tokens)

    def scope(self, context: grpc.aio.ServicerContext) -> frozenset[str] | None:
        """The token's recipients (containing "*" for all), or None when it is not valid."""
        return match_bearer(context.invocation_metadata(), self._tokens)


class HitGatewayServicer(pb_grpc.HitGatewayServicer):
    def __init__(self, store: GatewayStore, metrics: GatewayMetrics, queue_size: int = 10_000,
                 console_tokens: Mapping[str, str] | None = None,
                 publisher_tokens: Mapping[str, str] | None = None) -> None:
        self.store = store
        self._publishers = {token: name for name, token in (publisher_tokens or {}).items()}
        self.metrics = metrics
        self.queue_size = queue_size
        self.consoles: set[Console] = set()
        self.access = ConsoleAccess(console_tokens or {})
        # Looked up once: a label lookup per delivery cost more than the increment.
        self._stored_items = metrics.items.labels("stored")
        self._duplicate_items = metrics.items.labels("duplicate")

    async def _scope_or_abort(self, context: grpc.aio.ServicerContext) -> frozenset[str]:
        """The recipients the call's console token speaks for; aborts the call without one."""
        scope = self.access.scope(context)
        if scope is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                "a console token is needed (authorization: Bearer ...)")
            raise AssertionError("unreachable")
        return scope

    async def _console_recipients(self, requested: frozenset[str],
                                  context: grpc.aio.ServicerContext) -> frozenset[str]:
        """The recipients a console may be served for; aborts the call when it may not."""
        if not self.access.required:
            return requested
        scope = await self._scope_or_abort(context)
        if ALL_RECIPIENTS in scope:
            return requested
        if not requested:
            return scope
        beyond = sorted(requested - scope)
        if beyond:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                f"this console may not speak for {', '.join(beyond)}")
        return requested

    async def Publish(self, request_iterator: AsyncIterator[pb.HitBatch],
                      context: grpc.aio.ServicerContext) -> AsyncIterator[pb.PublishAck]:
        # Hits reach dispatch as leads for field action: with publisher tokens set, only an
        # engine holding one may add any.
        if self._publishers and match_bearer(context.invocation_metadata(),
                                             self._publishers) is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                "a publisher token is needed (authorization: Bearer ...)")
        async for batch in request_iterator:
            delivery = await asyncio.to_thread(
                self.store.store, list(batch.hits), list(batch.sightings))
            self._stored_items.inc(delivery.stored)
            self._duplicate_items.inc(delivery.duplicates)
            if delivery.hits or delivery.sightings:
                self._fan_out([*delivery.hits, *delivery.sightings])
            yield pb.PublishAck(sequence=batch.sequence, stored=delivery.stored,
                                duplicates=delivery.duplicates)

    def _fan_out(self, fresh: list[Delivered]) -> None:
        # Most urgent first within a delivery (an engine sends in that order; others may not).
        fresh = sorted(fresh, key=_priority)
        for console in list(self.consoles):
            if console.overflowed:
                continue
            group = [item for item in fresh if console.wants(item)]
            if group and not console.offer(group):
                # A console that cannot keep up is cut off rather than growing memory; it
                # subscribes again with backlog=true and misses nothing stored.
                console.overflowed = True
                self.metrics.dropped_consoles.inc()
                console.queue.put_nowait(None)

    async def Subscribe(self, request: pb.SubscribeRequest,
                        context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        # Serialized DeliveredHits (gateway_handler sends them as they are): each hit's part of
        # the message is made once, whatever the number of consoles it goes to.
        recipients = await self._console_recipients(frozenset(request.recipients), context)
        console = Console(recipients, frozenset(request.list_ids), request.max_priority,
                          self.queue_size)
        self.consoles.add(console)
        try:
            if request.backlog:
                backlog = [item for item in await asyncio.to_thread(self.store.undecided)
                           if console.wants(item)]
                for start in range(0, len(backlog), CONSOLE_MESSAGE_HITS):
                    yield delivered_hits(backlog[start:start + CONSOLE_MESSAGE_HITS])
            while True:
                group = await console.next_group()
                if console.overflowed:
                    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                        "console fell behind; subscribe again with backlog")
                if group is None:
                    return
                yield delivered_hits(group)
        finally:
            self.consoles.discard(console)

    async def Acknowledge(self, request: pb.AcknowledgeRequest,
                          context: grpc.aio.ServicerContext) -> pb.AcknowledgeResponse:
        if not request.hit_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "hit_id is required")
        if request.decision == pb.DECISION_UNSPECIFIED:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a decision is required")
        if self.access.required:
            scope = await self._scope_or_abort(context)
            stored = await asyncio.to_thread(self.store.hit, request.hit_id)
            # A console decides only on hits it could have been shown.
            if stored is not None and ALL_RECIPIENTS not in scope and not (
                    scope & set(stored.hit.recipients)):
                await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                    "this console was not a recipient of that hit")
        recorded, count, camera = await asyncio.to_thread(
            self.store.decide, request.hit_id, request.decision, request.operator, request.note)
        if recorded:
            self.metrics.decisions.labels(pb.Decision.Name(request.decision)).inc()
            if request.decision == pb.DECISION_MISREAD:
                self.metrics.misreads.labels(camera).inc()
        return pb.AcknowledgeResponse(recorded=recorded, decisions=count)

    def close_consoles(self) -> None:
        for console in self.consoles:
            console.queue.put_nowait(None)


def gateway_handler(servicer: HitGatewayServicer) -> grpc.GenericRpcHandler:
    """The HitGateway service as generated, except that Subscribe sends the serialized
    DeliveredHits its servicer yields as they are."""
    handlers = {
        "Publish": grpc.stream_stream_rpc_method_handler(
            servicer.Publish, request_deserializer=pb.HitBatch.FromString,
            response_serializer=pb.PublishAck.SerializeToString),
        "Subscribe": grpc.unary_stream_rpc_method_handler(
            servicer.Subscribe, request_deserializer=pb.SubscribeRequest.FromString,
            response_serializer=_as_is),
        "Acknowledge": grpc.unary_unary_rpc_method_handler(
            servicer.Acknowledge, request_deserializer=pb.AcknowledgeRequest.FromString,
            response_serializer=pb.AcknowledgeResponse.SerializeToString),
    }
    return grpc.method_handlers_generic_handler(GATEWAY_SERVICE, handlers)


def _as_is(data: bytes) -> bytes:
    return data


class GatewayServer:
    """The gateway's gRPC server with its store; start, stop(grace)."""

    def __init__(self, config: GatewayConfig, registry: CollectorRegistry | None = None) -> None:
        self.config = config
        self.registry = registry or CollectorRegistry()
        self.store = GatewayStore(config.db, synchronous=config.synchronous)
        self.metrics = GatewayMetrics(self.registry)
        self.servicer = HitGatewayServicer(self.store, self.metrics, config.subscriber_queue,
                                           config.console_tokens, config.publisher_tokens)
        self.server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20),
                                               ("grpc.so_reuseport", 0)])
        self.server.add_generic_rpc_handlers((gateway_handler(self.servicer),))
        credentials = server_credentials(config.tls_cert, config.tls_key, config.tls_client_ca)
        self.port = bind(self.server, config.listen, credentials)
        self.metrics_port = 0

    async def start(self) -> None:
        await self.server.start()
        gc.freeze()  # long-lived start-up objects: keep full collections short
        if self.config.metrics_listen:
            from feblam.service.metrics import serve_metrics

            self.metrics_port = serve_metrics(self.config.metrics_listen, self.registry)
        log.info("hit gateway listening on port %d", self.port)
        host = self.config.listen.rpartition(":")[0].strip("[]")
        if (not self.config.publisher_tokens and not self.config.tls_client_ca
                and host not in ("127.0.0.1", "localhost", "::1")):
            log.warning("hit gateway: Publish takes hits from any caller (no publisher_tokens, "
                        "no tls_client_ca); keep it on a private network")

    async def stop(self, grace: float | None = None) -> None:
        self.servicer.close_consoles()
        await self.server.stop(self.config.grace_s if grace is None else grace)
        self.store.close()

    async def wait_for_termination(self) -> None:
        await self.server.wait_for_termination()


def create_gateway_server(config: GatewayConfig,
                          registry: CollectorRegistry | None = None) -> tuple[GatewayServer, int]:
    """A gateway bound to config.listen (port 0 picks one); call `await server.start()`."""
    server = GatewayServer(config, registry)
    return server, server.port
