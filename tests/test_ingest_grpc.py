"""The Ingest service takes raw ReadBatch bytes: same wire contract, malformed batches refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from feblam.v1 import reads_pb2 as rpb
from tests.service_harness import batch, read, running

SUBMIT = "/feblam.v1.Ingest/SubmitReads"
STREAM = "/feblam.v1.Ingest/StreamReads"


def test_raw_bytes_from_any_client_get_the_same_ack_and_garbage_is_invalid(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{d.port}") as channel:
                submit = channel.unary_unary(SUBMIT, request_serializer=None,
                                             response_deserializer=rpb.BatchAck.FromString)
                data = batch(read("w1", "1ABC123"), read("w2", "###"),
                             batch_id="wire").SerializeToString()
                ack = await submit(data)
                assert ack.batch_id == "wire" and ack.accepted == 1 and ack.rejected == 1
                assert [(r.index, r.read_id) for r in ack.rejections] == [(1, "w2")]
                # Unknown fields of a newer client are skipped, as the generated parser skips them.
                ack = await submit(batch(read("w3", "2XYZ987"), batch_id="newer").SerializeToString()
                                   + b"\xf8\x06\x01")
                assert ack.batch_id == "newer" and ack.accepted == 1
                for garbage in (data[:-3], b"\x12\x05\x0a\x03\xff\xfe\xfd"):
                    with pytest.raises(grpc.aio.AioRpcError) as info:
                        await submit(garbage)
                    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                stream = channel.stream_stream(STREAM, request_serializer=None,
                                               response_deserializer=rpb.BatchAck.FromString)
                call = stream()
                await call.write(batch(read("s1", "1ABC123"), batch_id="s").SerializeToString())
                acks = [await call.read()]
                await call.write(batch(read("s1", "1ABC123"), batch_id="t").SerializeToString())
                acks.append(await call.read())
                await call.done_writing()
                assert [(a.batch_id, a.accepted) for a in acks] == [("s", 1), ("t", 0)]
                assert acks[1].rejections[0].status == rpb.READ_STATUS_DUPLICATE

    asyncio.run(scenario())
