"""The Ingest servicer: serialized batches in, the engine's batch path, protobuf acks out.

Requests are registered without a deserializer: the engine's core reads the ReadBatch bytes into
columns itself, which is much cheaper than a message object per read. The wire contract is the
generated service's, unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from feblam.service.engine import Engine
from feblam.service.errors import Overloaded
from feblam.service.integrators import IntegratorAccess
from feblam.v1 import ingest_pb2, ingest_pb2_grpc, reads_pb2

INGEST_SERVICE = ingest_pb2.DESCRIPTOR.services_by_name["Ingest"].full_name


class IngestServicer(ingest_pb2_grpc.IngestServicer):
    def __init__(self, engine: Engine, stream_window: int = 4,
                 integrators: IntegratorAccess | None = None) -> None:
        self.engine = engine
        self.stream_window = max(1, stream_window)
        self.integrators = integrators or IntegratorAccess()

    async def SubmitReads(self, request: bytes,
                          context: grpc.aio.ServicerContext) -> reads_pb2.BatchAck:
        return await self.engine.process(request, self.integrators.identify(context))

    async def StreamReads(self, request_iterator: AsyncIterator[bytes],
                          context: grpc.aio.ServicerContext) -> AsyncIterator[reads_pb2.BatchAck]:
        # Batches run concurrently up to the window and are acknowledged in order; a full window
        # stops reading the stream, so the sender is held back by transport flow control.
        # Once per stream, when its first batch is in: a stream carries one integrator's reads.
        # A refusal before the client's first write would race that write, and gRPC then
        # reports INTERNAL on the client's side instead of the refusal.
        requests = aiter(request_iterator)
        try:
            first = await anext(requests)
        except StopAsyncIteration:
            return
        integrator = self.integrators.identify(context)
        window: asyncio.Queue[asyncio.Task[reads_pb2.BatchAck] | None] = asyncio.Queue(
            self.stream_window)

        async def one(data: bytes) -> reads_pb2.BatchAck:
            try:
                return await self.engine.process(data, integrator)
            except Overloaded as exc:
                return reads_pb2.BatchAck(batch_id=exc.batch_id,
                                          status=reads_pb2.BATCH_STATUS_RETRY_LATER,
                                          retry_after_ms=exc.retry_after_ms)

        async def read_ahead() -> None:
            try:
                await window.put(asyncio.create_task(one(first)))
                async for batch in requests:
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


def ingest_handler(servicer: IngestServicer) -> grpc.GenericRpcHandler:
    """The Ingest service's methods, taking requests as bytes and sending BatchAck messages."""
    ack = reads_pb2.BatchAck.SerializeToString
    handlers = {
        "SubmitReads": grpc.unary_unary_rpc_method_handler(servicer.SubmitReads,
                                                           response_serializer=ack),
        "StreamReads": grpc.stream_stream_rpc_method_handler(servicer.StreamReads,
                                                             response_serializer=ack),
    }
    return grpc.method_handlers_generic_handler(INGEST_SERVICE, handlers)
