"""A camera integrator's side of `feblam.v1.Ingest`: batches streamed and seen through to their
acknowledgement, whatever happens to the connection or the engine in between.

The engine acknowledges a batch only once its hits are durably queued, and read ids make a resent
read a duplicate rather than a second read. So a client that keeps every batch until its
acknowledgement and sends again what was not acknowledged loses no read. This client does that:
- up to `window` batches in flight on one stream, acknowledgements in order;
- a `RETRY_LATER` acknowledgement (the engine at its in-flight limit) sends the batch again after
  the wait the engine asked for;
- a stream that breaks (the engine restarted, the network cut) is opened again with backoff, and
  every batch not yet acknowledged is sent again, in order. Reads the engine had accepted before
  the break come back as DUPLICATE in the new acknowledgement; `Delivered.attempts` says the batch
  was sent more than once;
- a refusal that sending again cannot cure (a token the engine does not know, a batch too large)
  raises IngestRefused.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc

from feblam.v1 import ingest_pb2_grpc, reads_pb2

# Refusals the same batch would meet again: raised, not retried.
_FINAL = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
                    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED})


class IngestRefused(Exception):
    """The engine refused the stream for a reason sending again cannot cure."""

    def __init__(self, code: grpc.StatusCode, details: str, batch_id: str) -> None:
        super().__init__(f"{code.name}: {details} (first batch not acknowledged: {batch_id!r})")
        self.code = code
        self.details = details
        self.batch_id = batch_id


@dataclass
class Delivered:
    """A batch and the acknowledgement that settled it."""

    batch: reads_pb2.ReadBatch
    ack: reads_pb2.BatchAck
    attempts: int        # times the batch was sent: more than 1 after a retry or a broken stream
    sent_at: float       # time.monotonic() of its last sending
    acked_at: float


@dataclass
class _Entry:
    batch: reads_pb2.ReadBatch
    attempts: int = 0
    sent_at: float = 0.0


@dataclass
class ClientStats:
    retry_later: int = 0     # RETRY_LATER acknowledgements
    reconnects: int = 0      # streams opened again after one broke
    errors: list[str] = field(default_factory=list)   # why streams broke, most recent last


class IngestClient:
    def __init__(self, target: str, *, token: str = "",
                 credentials: grpc.ChannelCredentials | None = None, window: int = 8,
                 backoff_min_s: float = 0.05, backoff_max_s: float = 5.0) -> None:
        self.target = target
        self.credentials = credentials
        self.metadata = (("authorization", f"Bearer {token}"),) if token else None
        self.window = max(1, window)
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.stats = ClientStats()

    async def send(self, batches: Iterable[reads_pb2.ReadBatch] | AsyncIterable[reads_pb2.ReadBatch]
                   ) -> AsyncIterator[Delivered]:
        """Sends every batch and yields each once it is acknowledged (in the order they settle)."""
        run = _Run(self, batches)
        driver = asyncio.create_task(run.drive())
        try:
            while True:
                item = await run.out.get()
                if item is None:
                    break
                yield item
            await driver   # raises IngestRefused, if that is how the run ended
        finally:
            if not driver.done():
                driver.cancel()
                try:
                    await driver
                except (asyncio.CancelledError, IngestRefused):
                    pass


class _Run:
    """One send(): the batches still to send, those in flight, and the streams carrying them."""

    def __init__(self, client: IngestClient,
                 batches: Iterable[reads_pb2.ReadBatch] | AsyncIterable[reads_pb2.ReadBatch]) -> None:
        self.client = client
        self.source: AsyncIterator[reads_pb2.ReadBatch] = _aiter(batches)
        self.exhausted = False
        self.pending: deque[_Entry] = deque()      # to send (again) before taking new batches
        self.inflight: deque[_Entry] = deque()
        self.sleeping = 0                          # batches waiting out a RETRY_LATER
        self.changed = asyncio.Condition()
        self.out: asyncio.Queue[Delivered | None] = asyncio.Queue()
        self.sleepers: set[asyncio.Task[None]] = set()

    def busy(self) -> bool:
        return bool(not self.exhausted or self.pending or self.inflight or self.sleeping)

    async def drive(self) -> None:
        failures = 0
        try:
            async with _channel(self.client) as channel:
                stub = ingest_pb2_grpc.IngestStub(channel)  # type: ignore[no-untyped-call]
                while self.busy():
                    if not self.pending and self.exhausted and not self.inflight:
                        await self._await_change()   # only sleepers left: wait for one
                        continue
                    try:
                        await self._stream(stub)
                        failures = 0
                    except grpc.aio.AioRpcError as exc:
                        self._requeue_inflight()
                        code = exc.code()
                        first = self.pending[0].batch.batch_id if self.pending else ""
                        if code in _FINAL:
                            raise IngestRefused(code, exc.details() or "", first) from None
                        failures += 1
                        self.client.stats.reconnects += 1
                        self.client.stats.errors = [*self.client.stats.errors[-9:],
                                                    f"{code.name}: {exc.details()}"]
                        delay = min(self.client.backoff_max_s,
                                    self.client.backoff_min_s * 2 ** min(failures - 1, 16))
                        await asyncio.sleep(delay * (0.5 + random.random() / 2))
        finally:
            for sleeper in list(self.sleepers):
                sleeper.cancel()
            await self.out.put(None)

    async def _stream(self, stub: ingest_pb2_grpc.IngestStub) -> None:
        call = stub.StreamReads(metadata=self.client.metadata)
        writer = asyncio.create_task(self._write(call))
        try:
            while True:
                ack = await call.read()
                if ack is grpc.aio.EOF:
                    break
                acked_at = time.monotonic()
                async with self.changed:
                    entry = self.inflight.popleft()
                    self.changed.notify_all()
                if ack.status == reads_pb2.BATCH_STATUS_RETRY_LATER:
                    self.client.stats.retry_later += 1
                    self.sleeping += 1
                    sleeper = asyncio.create_task(self._retry_later(entry, ack.retry_after_ms))
                    self.sleepers.add(sleeper)
                    sleeper.add_done_callback(self.sleepers.discard)
                    continue
                await self.out.put(Delivered(entry.batch, ack, entry.attempts, entry.sent_at,
                                             acked_at))
            await writer
            if self.inflight:
                # The engine ended the stream without acknowledging everything sent on it.
                raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(),
                                           grpc.aio.Metadata(), "stream ended early")
        finally:
            if not writer.done():
                writer.cancel()
                try:
                    await writer
                except (asyncio.CancelledError, grpc.aio.AioRpcError):
                    pass
            call.cancel()

    async def _write(self, call: Any) -> None:
        while True:
            entry = await self._next()
            if entry is None:
                await call.done_writing()
                return
            entry.attempts += 1
            entry.sent_at = time.monotonic()
            await call.write(entry.batch)

    async def _next(self) -> _Entry | None:
        """The next batch for this stream, once the window has room; None when there is none
        to send now and none will come but through a later stream. (This stream's writer is the
        only one adding to the window, so the room it waited for stays.)"""
        async with self.changed:
            await self.changed.wait_for(lambda: len(self.inflight) < self.client.window)
        while True:
            async with self.changed:
                if self.pending:
                    entry = self.pending.popleft()
                    self.inflight.append(entry)
                    return entry
                if self.exhausted:
                    if self.sleeping and not self.inflight:
                        await self.changed.wait()   # a batch waiting out RETRY_LATER comes back
                        continue
                    return None
            # Outside the lock: a paced source may take its time, and acknowledgements go on.
            batch = await _anext(self.source)
            async with self.changed:
                if batch is None:
                    self.exhausted = True
                    self.changed.notify_all()
                    continue
                entry = _Entry(batch)
                self.inflight.append(entry)
                return entry

    async def _retry_later(self, entry: _Entry, after_ms: int) -> None:
        await asyncio.sleep(max(1, after_ms) / 1000)
        async with self.changed:
            self.sleeping -= 1
            self.pending.appendleft(entry)
            self.changed.notify_all()

    def _requeue_inflight(self) -> None:
        # Sent but never acknowledged: first in line for the next stream, in their order.
        while self.inflight:
            self.pending.appendleft(self.inflight.pop())

    async def _await_change(self) -> None:
        async with self.changed:
            await self.changed.wait()


def _channel(client: IngestClient) -> grpc.aio.Channel:
    options = [("grpc.max_send_message_length", 64 << 20),
               ("grpc.max_receive_message_length", 64 << 20)]
    if client.credentials is not None:
        return grpc.aio.secure_channel(client.target, client.credentials, options)
    return grpc.aio.insecure_channel(client.target, options)


def _aiter(batches: Iterable[reads_pb2.ReadBatch] | AsyncIterable[reads_pb2.ReadBatch]
           ) -> AsyncIterator[reads_pb2.ReadBatch]:
    if isinstance(batches, AsyncIterable):
        return aiter(batches)

    async def from_sync() -> AsyncIterator[reads_pb2.ReadBatch]:
        for batch in batches:
            yield batch
    return from_sync()


async def _anext(source: AsyncIterator[reads_pb2.ReadBatch]) -> reads_pb2.ReadBatch | None:
    try:
        return await anext(source)
    except StopAsyncIteration:
        return None
