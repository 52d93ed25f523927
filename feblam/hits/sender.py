"""Delivery of the outbox to the Hit Gateway: most urgent first, retried with backoff, exactly once.

Exactly once is the sum of three things: an item leaves the outbox only after the gateway
acknowledged storing it, a retry after a lost acknowledgement resends the same hit id, and the
gateway ignores ids it already holds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from feblam.protowire import embedded
from feblam.hits.outbox import HIT, Outbox, OutboxItem
from feblam.tokens import bearer
from feblam.v1 import gateway_pb2

log = logging.getLogger("feblam.sender")

PUBLISH_METHOD = "/feblam.v1.HitGateway/Publish"
_HITS_FIELD = gateway_pb2.HitBatch.DESCRIPTOR.fields_by_name["hits"].number
_SIGHTINGS_FIELD = gateway_pb2.HitBatch.DESCRIPTOR.fields_by_name["sightings"].number


def encode_batch(sequence: int, items: Sequence[OutboxItem]) -> bytes:
    """A serialised HitBatch made from stored payloads without parsing them again."""
    parts = [gateway_pb2.HitBatch(sequence=sequence).SerializeToString()]
    for item in items:
        parts.append(embedded(_HITS_FIELD if item.kind == HIT else _SIGHTINGS_FIELD, item.payload))
    return b"".join(parts)


def _identity(data: bytes) -> bytes:
    return data


class GatewaySender:
    def __init__(self, outbox: Outbox, address: str, *,
                 credentials: grpc.ChannelCredentials | None = None, batch_size: int = 500,
                 backoff_min_s: float = 0.05, backoff_max_s: float = 5.0,
                 ack_timeout_s: float = 10.0, linger_s: float = 0.0, token: str = "",
                 on_delivered: Callable[[Sequence[OutboxItem], float], None] | None = None) -> None:
        self.outbox = outbox
        self.address = address
        self.credentials = credentials
        self.metadata = bearer(token)
        self.batch_size = batch_size
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.ack_timeout_s = ack_timeout_s
        self.linger_s = linger_s
        self.on_delivered = on_delivered
        self.delivered = 0
        self.failures = 0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._channel: grpc.aio.Channel | None = None
        self._call: Any = None
        self._sequence = 0

    def notify(self) -> None:
        """New items were committed."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="feblam-sender")

    async def stop(self, flush_s: float = 0.0) -> None:
        """Stops after trying for up to flush_s to deliver what is pending."""
        deadline = time.monotonic() + flush_s
        while flush_s > 0 and self.outbox.depth > 0 and time.monotonic() < deadline:
            self.notify()
            await asyncio.sleep(0.02)
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self._close_call()
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def _close_call(self) -> None:
        if self._call is not None:
            self._call.cancel()
            self._call = None

    def _open(self) -> Any:
        if self._channel is None:
            options = [("grpc.keepalive_time_ms", 10_000), ("grpc.max_receive_message_length", 64 << 20),
                       ("grpc.max_send_message_length", 64 << 20)]
            if self.credentials is not None:
                self._channel = grpc.aio.secure_channel(self.address, self.credentials, options)
            else:
                self._channel = grpc.aio.insecure_channel(self.address, options)
        if self._call is None:
            publish = self._channel.stream_stream(
                PUBLISH_METHOD, request_serializer=_identity,
                response_deserializer=gateway_pb2.PublishAck.FromString)
            self._call = publish(metadata=self.metadata)
        return self._call

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()
            items = await self.outbox.next_items(self.batch_size)
            if not items:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                except asyncio.TimeoutError:
                    pass
                continue
            try:
                await self._send(items)
                failures = 0
                if self.linger_s > 0 and len(items) < self.batch_size:
                    # Hits gather for a moment before the next delivery: each delivery costs
                    # the gateway a transaction, and most cost more than their hits. (stop()
                    # cancels the task, sleep included.)
                    await asyncio.sleep(self.linger_s)
            except Exception as exc:  # noqa: BLE001 - any failure means: keep the items, retry
                failures += 1
                self.failures += 1
                await self._close_call()
                self.outbox.give_back()
                await self.outbox.failed([i.seq for i in items])
                delay = min(self.backoff_max_s, self.backoff_min_s * 2 ** min(failures - 1, 16))
                delay *= 0.5 + random.random() / 2
                code = exc.code().name if isinstance(exc, grpc.aio.AioRpcError) else type(exc).__name__
                log.warning("hit gateway %s: delivery failed (%s); %d items kept, retry in %.2fs",
                            self.address, code, self.outbox.depth, delay)
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                except asyncio.TimeoutError:
                    pass

    async def _send(self, items: list[OutboxItem]) -> None:
        call = self._open()
        self._sequence += 1
        sequence = self._sequence
        await call.write(encode_batch(sequence, items))
        ack = await asyncio.wait_for(call.read(), timeout=self.ack_timeout_s)
        if ack is grpc.aio.EOF or ack is None:
            raise ConnectionError("the hit gateway closed the publish stream")
        if ack.sequence != sequence:
            raise ConnectionError(f"the hit gateway acknowledged batch {ack.sequence}, "
                                  f"expected {sequence}")
        self.outbox.delivered([i.seq for i in items])
        self.delivered += len(items)
        if self.on_delivered is not None:
            self.on_delivered(items, time.time())
