"""The Ingest servicer: protobuf in, the engine's batch path, protobuf out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from feblam.service.engine import Engine
from feblam.service.errors import Overloaded
from feblam.v1 import ingest_pb2_grpc, reads_pb2


class IngestServicer(ingest_pb2_grpc.IngestServicer):
    def __init__(self, engine: Engine, stream_window: int = 4) -> None:
        self.engine = engine
        self.stream_window = max(1, stream_window)

    async def SubmitReads(self, request: reads_pb2.ReadBatch,
                          context: grpc.aio.ServicerContext) -> reads_pb2.BatchAck:
        return await self.engine.process(request)

    async def StreamReads(self, request_iterator: AsyncIterator[reads_pb2.ReadBatch],
                          context: grpc.aio.ServicerContext) -> AsyncIterator[reads_pb2.BatchAck]:
        # Batches run concurrently up to the window and are acknowledged in order; a full window
        # stops reading the stream, so the sender is held back by transport flow control.
        window: asyncio.Queue[asyncio.Task[reads_pb2.BatchAck] | None] = asyncio.Queue(
            self.stream_window)

        async def one(batch: reads_pb2.ReadBatch) -> reads_pb2.BatchAck:
            try:
                return await self.engine.process(batch)
            except Overloaded as exc:
                return reads_pb2.BatchAck(batch_id=batch.batch_id,
                                          status=reads_pb2.BATCH_STATUS_RETRY_LATER,
                                          retry_after_ms=exc.retry_after_ms)

        async def read_ahead() -> None:
            try:
                async for batch in request_iterator:
                    await window.put(asyncio.create_task(one(batch)))
            finally:
                await window.put(None)

        reader = asyncio.create_task(read_ahead())
        try:
            while True:
                task = await window.get()
                if task is None:
                    break
                yield await task
            await reader
        finally:
            if not reader.done():
                reader.cancel()
