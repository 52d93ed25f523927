"""The integrator's client: every batch seen through to its acknowledgement, over real servers."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from feblam.client import IngestClient, IngestRefused, IngestUnavailable
from feblam.gateway.server import create_gateway_server
from feblam.service.config import GatewayConfig
from feblam.v1 import reads_pb2 as rpb
from tests.service_harness import batch, free_port, read, running
from tests.test_fault_engine_kill import plate_of, serving, start_engine, write_config


def batches(n: int, size: int, prefix: str = "c") -> list[rpb.ReadBatch]:
    plates = ["5UNI555", "3VIS333", "4OTH444", "3VIS334"]
    return [batch(*(read(f"{prefix}{b}-{i}", plates[(b + i) % 4], camera="cam-2")
                    for i in range(size)), batch_id=f"{prefix}{b}") for b in range(n)]


def test_every_batch_is_acknowledged_once_in_a_window(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            client = IngestClient(f"127.0.0.1:{d.port}", window=4)
            sent = batches(60, 25)
            got = [x async for x in client.send(sent)]
            assert sorted(x.batch.batch_id for x in got) == sorted(b.batch_id for b in sent)
            assert all(x.ack.batch_id == x.batch.batch_id and x.ack.accepted == 25 for x in got)
            assert all(x.attempts == 1 and x.acked_at >= x.sent_at for x in got)
            # 5UNI555 is uninsured: one hit, its other reads sightings of that hit.
            assert sum(x.ack.hits for x in got) == 1
            assert client.stats.reconnects == 0

    asyncio.run(scenario())


def test_retry_later_batches_are_sent_again_until_taken(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, max_inflight_reads=30, stream_window=8) as d:
            client = IngestClient(f"127.0.0.1:{d.port}", window=8)

            async def paced() -> object:
                for b in batches(40, 20, prefix="p"):
                    yield b

            got = [x async for x in client.send(paced())]   # an asynchronous source too
            assert len(got) == 40 and all(x.ack.status == rpb.BATCH_STATUS_PROCESSED for x in got)
            assert sum(x.ack.accepted for x in got) == 800
            assert client.stats.retry_later > 0
            assert any(x.attempts > 1 for x in got)

    asyncio.run(scenario())


def test_a_failing_source_ends_the_run_with_its_error_after_what_it_gave(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            async def source() -> AsyncIterator[rpb.ReadBatch]:
                for b in batches(2, 5):
                    yield b
                raise OSError("the camera's buffer is unreadable")

            got = []
            with pytest.raises(OSError, match="unreadable"):
                async for x in IngestClient(f"127.0.0.1:{d.port}").send(source()):
                    got.append(x.ack.accepted)
            assert got == [5, 5]

    asyncio.run(scenario())


def test_a_client_told_to_give_up_does_so_when_nothing_is_taken() -> None:
    async def scenario() -> None:
        nobody = IngestClient(f"127.0.0.1:{free_port()}", backoff_max_s=0.1, give_up_after_s=1.0)
        started = time.monotonic()
        with pytest.raises(IngestUnavailable, match="took nothing for 1 s"):
            _ = [x async for x in nobody.send(batches(2, 5))]
        assert time.monotonic() - started < 10
        assert nobody.stats.reconnects >= 2

    asyncio.run(scenario())


def test_a_refusal_sending_again_cannot_cure_is_raised(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, integrator_tokens={"vendor-a": "token-a"}) as d:
            refused = IngestClient(f"127.0.0.1:{d.port}", token="wrong")
            with pytest.raises(IngestRefused) as info:
                _ = [x async for x in refused.send(batches(3, 5))]
            assert info.value.code == grpc.StatusCode.UNAUTHENTICATED
            assert info.value.batch_id == "c0"
            client = IngestClient(f"127.0.0.1:{d.port}", token="token-a")
            got = [x async for x in client.send(batches(3, 5))]
            assert [x.ack.accepted for x in got] == [5, 5, 5]

    asyncio.run(scenario())


def test_a_killed_and_restarted_engine_costs_the_client_no_read(tmp_path: Path) -> None:
    # A real engine process, killed with SIGKILL while the client streams and started again: the
    # client sends what was not acknowledged once more, and every read has its hit at the
    # gateway exactly once.
    port, gateway_port = free_port(), free_port()
    config = write_config(tmp_path / "deploy", port, gateway_port)

    def reads_of(n: int) -> rpb.ReadBatch:
        ids = [f"r{n}-{i}" for i in range(20)]
        return batch(*(read(r, plate_of(r)) for r in ids), batch_id=f"b{n}")

    async def scenario() -> None:
        gateway, _ = create_gateway_server(GatewayConfig(
            listen=f"127.0.0.1:{gateway_port}", db=str(tmp_path / "gateway.db"),
            synchronous="normal"))
        await gateway.start()
        engine = start_engine(config)
        try:
            await serving(port, engine)
            client = IngestClient(f"127.0.0.1:{port}", window=4, backoff_max_s=0.2)
            sent = [reads_of(n) for n in range(60)]

            async def paced() -> AsyncIterator[rpb.ReadBatch]:
                # A camera's pace: the stream mostly breaks while the client waits for reads.
                for b in sent:
                    await asyncio.sleep(0.01)
                    yield b

            got = []
            async for delivered in client.send(paced()):
                got.append(delivered)
                if len(got) == 15:
                    engine.send_signal(signal.SIGKILL)
                    engine.wait(timeout=10)
                    engine = start_engine(config)
            assert sorted(x.batch.batch_id for x in got) == sorted(b.batch_id for b in sent)
            assert client.stats.reconnects >= 1 and any(x.attempts > 1 for x in got)
            for x in got:
                statuses = {r.status for r in x.ack.rejections}
                # A read taken before the stream broke comes back as a duplicate, or, when the
                # restarted engine has not seen it, is accepted again (its hit id is the same).
                assert statuses <= ({rpb.READ_STATUS_DUPLICATE} if x.attempts > 1 else set())
            expected = sorted(r.read_id for b in sent for r in b.reads)
            deadline = time.monotonic() + 20
            while gateway.store.count() < len(expected) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.3)
            stored = sorted(h.hit.read.read_id for h in gateway.store.all_hits())
            assert stored == expected
        finally:
            if engine.poll() is None:
                engine.send_signal(signal.SIGTERM)
                engine.wait(timeout=20)
            await gateway.stop(0.5)

    asyncio.run(scenario())


class CuttingProxy:
    """A TCP proxy in front of the engine that cuts every connection now and then: a network
    that fails under the client, with a real engine behind it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.links: set[asyncio.StreamWriter] = set()
        self.cuts = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.links.update((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.links.difference_update((writer, up_writer))

    def cut(self) -> None:
        for link in list(self.links):
            link.transport.abort()
        self.cuts += 1

    async def stop(self) -> None:
        self.cut()
        self.server.close()
        await self.server.wait_closed()


def test_a_network_that_keeps_failing_costs_no_read(tmp_path: Path) -> None:
    # Connections cut at random moments while the engine also asks for waits (a small in-flight
    # limit): every batch still settles once, and each read was taken exactly once, in its final
    # acknowledgement or, as a duplicate there, in one lost with its connection.
    rng = random.Random(7)

    async def scenario() -> None:
        async with running(tmp_path, max_inflight_reads=60, stream_window=8) as d:
            proxy = CuttingProxy(d.port)
            port = await proxy.start()
            client = IngestClient(f"127.0.0.1:{port}", window=6, backoff_max_s=0.05)
            sent = batches(300, 20, prefix="n")

            async def cutter() -> None:
                while True:
                    await asyncio.sleep(rng.uniform(0.005, 0.04))
                    proxy.cut()

            cutting = asyncio.create_task(cutter())
            got = [x async for x in client.send(sent)]
            cutting.cancel()
            await proxy.stop()
            assert sorted(x.batch.batch_id for x in got) == sorted(b.batch_id for b in sent)
            assert client.stats.reconnects >= 3
            for x in got:
                duplicates = {r.index for r in x.ack.rejections}
                assert all(r.status == rpb.READ_STATUS_DUPLICATE for r in x.ack.rejections)
                assert not duplicates or x.attempts > 1
                assert x.ack.accepted + len(duplicates) == len(x.batch.reads)
            # The engine took every read exactly once: its counter says so.
            accepted = d.registry.get_sample_value("feblam_reads_total", {"status": "ACCEPTED"})
            assert accepted == 300 * 20

    asyncio.run(scenario())


def test_a_stream_the_server_ends_early_is_opened_again_without_loss() -> None:
    # A server in front of the engine that drains connections (a load balancer, a rolling
    # restart) may end a stream cleanly after a few answers, with batches still unanswered.
    async def scenario() -> None:
        streams = 0

        async def stream_reads(requests: AsyncIterator[rpb.ReadBatch],
                               context: grpc.aio.ServicerContext) -> AsyncIterator[rpb.BatchAck]:
            nonlocal streams
            streams += 1
            answered = 0
            async for b in requests:
                yield rpb.BatchAck(batch_id=b.batch_id, status=rpb.BATCH_STATUS_PROCESSED,
                                   accepted=len(b.reads))
                answered += 1
                if streams == 1 and answered == 2:
                    return   # ends the stream, batches sent after these two unanswered

        server = grpc.aio.server()
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "feblam.v1.Ingest", {"StreamReads": grpc.stream_stream_rpc_method_handler(
                stream_reads, request_deserializer=rpb.ReadBatch.FromString,
                response_serializer=rpb.BatchAck.SerializeToString)}),))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            client = IngestClient(f"127.0.0.1:{port}", window=4, backoff_max_s=0.05)

            async def slow() -> AsyncIterator[rpb.ReadBatch]:
                for b in batches(10, 3):
                    await asyncio.sleep(0.01)
                    yield b

            got = await asyncio.wait_for(_collect(client.send(slow())), timeout=20)
            assert sorted(x.batch.batch_id for x in got) == sorted(f"c{n}" for n in range(10))
            assert streams >= 2 and client.stats.reconnects >= 1
        finally:
            await server.stop(0)

    asyncio.run(scenario())


async def _collect(deliveries: AsyncIterator[Any]) -> list[Any]:
    return [x async for x in deliveries]
