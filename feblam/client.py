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

from feblam.tokens import bearer
from feblam.v1 import ingest_pb2_grpc, reads_pb2

# What writing to a stream raises once the engine has ended it: its status, or, when it ended
# cleanly, asyncio's word that the call is over.
_STREAM_OVER = (grpc.aio.AioRpcError, asyncio.InvalidStateError)

# Refusals the same batch would meet again: raised, not retried.
_FINAL = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
                    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED})


class IngestUnavailable(Exception):
    """The engine took nothing for longer than the client was told to keep trying."""


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
                 backoff_min_s: float = 0.05, backoff_max_s: float = 5.0,
                 give_up_after_s: float | None = None) -> None:
        self.target = target
        # None: keep trying for as long as it takes (a camera's uploader); a number: raise
        # IngestUnavailable once the engine has taken nothing for that long (a tool run by hand).
        self.give_up_after_s = give_up_after_s
        self.credentials = credentials
        self.metadata = bearer(token)
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
            await driver   # IngestRefused, IngestUnavailable or the source's error, if any
        finally:
            if not driver.done():
                driver.cancel()   # the caller stopped taking deliveries
            try:
                await driver
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - raised above, or moot
                pass


class _Run:
    """One send(): the batches still to send, those in flight, and the streams carrying them.

    A feeder task alone reads the caller's batches, a few ahead; streams take them from there.
    A stream that breaks cancels its own writer, and a writer must never be cancelled while it
    reads the caller's source: cancelling a wait inside an async generator finishes the
    generator, and every batch it had yet to give would be lost.
    """

    def __init__(self, client: IngestClient,
                 batches: Iterable[reads_pb2.ReadBatch] | AsyncIterable[reads_pb2.ReadBatch]) -> None:
        self.client = client
        self.source: AsyncIterator[reads_pb2.ReadBatch] = _aiter(batches)
        self.fresh: deque[_Entry] = deque()        # read from the source, never sent
        self.exhausted = False                      # the source has given its last batch
        self.source_error: BaseException | None = None
        self.pending: deque[_Entry] = deque()      # to send again, before anything fresh
        self.inflight: deque[_Entry] = deque()
        self.sleeping = 0                          # batches waiting out a RETRY_LATER
        self.changed = asyncio.Condition()
        self.out: asyncio.Queue[Delivered | None] = asyncio.Queue()
        self.tasks: set[asyncio.Task[None]] = set()
        self.settled = 0                           # acknowledgements so far
        # A new stream carries one batch until its first answer: an engine that refuses the
        # stream does so then, and more writes racing the refusal would hide it behind INTERNAL.
        self.answered = False

    def _idle(self) -> bool:
        """Nothing to send and nothing in flight (sleepers may still come back)."""
        return self.exhausted and not (self.fresh or self.pending or self.inflight)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drive(self) -> None:
        failures = 0
        since = time.monotonic()   # the last acknowledgement, or the start
        self._spawn(self._feed())
        try:
            async with _channel(self.client) as channel:
                stub = ingest_pb2_grpc.IngestStub(channel)  # type: ignore[no-untyped-call]
                while not (self._idle() and not self.sleeping):
                    if self._idle():
                        async with self.changed:   # only sleepers left: wait for one
                            await self.changed.wait()
                        continue
                    settled = self.settled
                    try:
                        await self._stream(stub)
                        failures = 0
                    except grpc.aio.AioRpcError as exc:
                        await self._requeue_inflight()
                        code = exc.code()
                        if code in _FINAL:
                            first = self.pending[0].batch.batch_id if self.pending else ""
                            raise IngestRefused(code, exc.details() or "", first) from None
                        failures += 1
                        self.client.stats.reconnects += 1
                        self.client.stats.errors = [*self.client.stats.errors[-9:],
                                                    f"{code.name}: {exc.details()}"]
                        if self.settled != settled:
                            since = time.monotonic()
                        limit = self.client.give_up_after_s
                        if limit is not None and time.monotonic() - since > limit:
                            raise IngestUnavailable(
                                f"{self.client.target} took nothing for {limit:.0f} s; last: "
                                f"{code.name}: {exc.details()}") from None
                        delay = min(self.client.backoff_max_s,
                                    self.client.backoff_min_s * 2 ** min(failures - 1, 16))
                        await asyncio.sleep(delay * (0.5 + random.random() / 2))
            if self.source_error is not None:
                raise self.source_error
        finally:
            for task in list(self.tasks):
                task.cancel()
            await self.out.put(None)

    async def _feed(self) -> None:
        try:
            async for batch in self.source:
                async with self.changed:
                    await self.changed.wait_for(lambda: len(self.fresh) < self.client.window)
                    self.fresh.append(_Entry(batch))
                    self.changed.notify_all()
        except Exception as exc:  # noqa: BLE001 - the caller's source failed: end the run with it
            self.source_error = exc
        async with self.changed:
            self.exhausted = True
            self.changed.notify_all()

    async def _stream(self, stub: ingest_pb2_grpc.IngestStub) -> None:
        call = stub.StreamReads(metadata=self.client.metadata)
        self.answered = False
        writer = asyncio.create_task(self._write(call))
        try:
            while True:
                ack = await call.read()
                if ack is grpc.aio.EOF:
                    break
                acked_at = time.monotonic()
                self.settled += 1
                async with self.changed:
                    self.answered = True
                    entry = self.inflight.popleft()
                    if ack.status == reads_pb2.BATCH_STATUS_RETRY_LATER:
                        self.sleeping += 1
                    self.changed.notify_all()
                if ack.status == reads_pb2.BATCH_STATUS_RETRY_LATER:
                    self.client.stats.retry_later += 1
                    self._spawn(self._retry_later(entry, ack.retry_after_ms))
                    continue
                await self.out.put(Delivered(entry.batch, ack, entry.attempts, entry.sent_at,
                                             acked_at))
            # The engine ends a stream once this side has finished writing and every batch is
            # answered. If it ended it sooner, the writer may still wait for batches: it must
            # not be awaited for ever, and what it sent goes out again on the next stream.
            try:
                await asyncio.wait_for(asyncio.shield(writer), timeout=5.0)
            except (asyncio.TimeoutError, *_STREAM_OVER):
                pass
            if self.inflight or not writer.done():
                raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(),
                                           grpc.aio.Metadata(), "the engine ended the stream early")
        finally:
            if not writer.done():
                writer.cancel()
            try:
                await writer   # its failure, if any, is the stream's, already being handled
            except (asyncio.CancelledError, *_STREAM_OVER):
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
        to send now and none will come but through a later stream. Only condition waits here,
        which a cancelled stream may interrupt without losing anything."""
        async with self.changed:
            await self.changed.wait_for(
                lambda: len(self.inflight) < (self.client.window if self.answered else 1))
            while True:
                if self.pending:
                    entry = self.pending.popleft()
                elif self.fresh:
                    entry = self.fresh.popleft()
                elif not self.exhausted or (self.sleeping and not self.inflight):
                    await self.changed.wait()   # the source's next batch, or a retry's return
                    continue
                else:
                    return None
                self.inflight.append(entry)
                self.changed.notify_all()   # the feeder has room again
                return entry

    async def _retry_later(self, entry: _Entry, after_ms: int) -> None:
        await asyncio.sleep(max(1, after_ms) / 1000)
        async with self.changed:
            self.sleeping -= 1
            self.pending.appendleft(entry)
            self.changed.notify_all()

    async def _requeue_inflight(self) -> None:
        # Sent but never acknowledged: first in line for the next stream, in their order.
        async with self.changed:
            while self.inflight:
                self.pending.appendleft(self.inflight.pop())
            self.changed.notify_all()


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
