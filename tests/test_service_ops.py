"""Operations: graceful shutdown on SIGTERM, mutual TLS, the /metrics endpoint."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from feblam.v1 import ingest_pb2_grpc
from feblam.v1 import reads_pb2 as rpb
from tests.service_harness import batch, certificates, free_port, read, running
from tests.test_fault_engine_kill import PLATES, serving, start_engine, write_config


def test_sigterm_finishes_batches_in_flight_then_exits_cleanly(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path / "deploy", port, free_port())

    async def scenario() -> None:
        engine = start_engine(config)
        try:
            await serving(port, engine)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = ingest_pb2_grpc.IngestStub(channel)
                outgoing: asyncio.Queue[rpb.ReadBatch | None] = asyncio.Queue()

                async def requests() -> AsyncIterator[rpb.ReadBatch]:
                    while (item := await outgoing.get()) is not None:
                        yield item

                call = stub.StreamReads(requests())
                await outgoing.put(batch(read("t1", PLATES[1]), batch_id="one"))
                first = await call.read()
                assert first.batch_id == "one" and first.hits == 1
                await outgoing.put(batch(*[read(f"t2-{i}", PLATES[i]) for i in range(50)],
                                         batch_id="two"))
                engine.send_signal(signal.SIGTERM)
                second = await call.read()
                assert second.batch_id == "two" and second.accepted == 50 and second.hits == 50
                await outgoing.put(None)
                assert await call.read() is grpc.aio.EOF
            assert await asyncio.to_thread(engine.wait, 20) == 0
        finally:
            if engine.poll() is None:
                engine.kill()
                engine.wait()

    asyncio.run(scenario())


def test_mutual_tls_admits_only_clients_with_a_certificate(tmp_path: Path) -> None:
    certs = certificates(tmp_path)

    def credentials(with_client: bool) -> grpc.ChannelCredentials:
        ca = Path(certs["ca.pem"]).read_bytes()
        if not with_client:
            return grpc.ssl_channel_credentials(root_certificates=ca)
        return grpc.ssl_channel_credentials(
            root_certificates=ca, private_key=Path(certs["client.key"]).read_bytes(),
            certificate_chain=Path(certs["client.pem"]).read_bytes())

    async def scenario() -> None:
        async with running(tmp_path / "deploy", tls_cert=certs["server.pem"],
                           tls_key=certs["server.key"], tls_client_ca=certs["ca.pem"]) as d:
            async with grpc.aio.secure_channel(f"127.0.0.1:{d.port}", credentials(True)) as ch:
                ack = await ingest_pb2_grpc.IngestStub(ch).SubmitReads(
                    batch(read("tls-1", "2XYZ987")), timeout=10)
                assert ack.hits == 1
            async with grpc.aio.secure_channel(f"127.0.0.1:{d.port}", credentials(False)) as ch:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await ingest_pb2_grpc.IngestStub(ch).SubmitReads(
                        batch(read("tls-2", "2XYZ987")), timeout=5)
                assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

    asyncio.run(scenario())


def test_metrics_endpoint_serves_the_engine_registry(tmp_path: Path) -> None:
    async def scenario() -> str:
        async with running(tmp_path, metrics_listen="127.0.0.1:0") as d:
            await d.ingest().SubmitReads(batch(read("m1", "2XYZ987"), read("m2", "")))
            await d.stored_hits(1)
            url = f"http://127.0.0.1:{d.engine.metrics_port}/metrics"
            return await asyncio.to_thread(
                lambda: urllib.request.urlopen(url, timeout=5).read().decode())

    text = asyncio.run(scenario())
    assert 'feblam_reads_total{status="ACCEPTED"} 1.0' in text
    assert 'feblam_reads_total{status="EMPTY_PLATE"} 1.0' in text
    assert "feblam_batch_seconds_bucket" in text and "feblam_outbox_depth" in text
    assert 'feblam_watchlist_version{list="stolen"} 1.0' in text


def test_admin_service_on_its_own_port_with_its_own_token_adds_entries_retroactively(
        tmp_path: Path) -> None:
    from feblam.v1 import admin_pb2, admin_pb2_grpc

    async def scenario() -> None:
        async with running(tmp_path, admin_listen="127.0.0.1:0",
                           admin_tokens={"ops-team": "admin-secret"}) as d:
            assert d.engine.admin_port and d.engine.admin_port != d.port
            await d.ingest().SubmitReads(batch(read("seen-1", "8LAT888", camera="cam-2")))
            request = admin_pb2.ApplyDeltaRequest(
                list_id=1, add=[admin_pb2.DeltaEntry(plate="8LAT888", reason="late report")],
                reason=admin_pb2.ChangeReason(why="case 12"))
            async with grpc.aio.insecure_channel(f"127.0.0.1:{d.engine.admin_port}") as channel:
                admin = admin_pb2_grpc.WatchlistAdminStub(channel)
                with pytest.raises(grpc.aio.AioRpcError) as denied:
                    await admin.ApplyDelta(request)
                assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
                answer = await admin.ApplyDelta(
                    request, metadata=(("authorization", "Bearer admin-secret"),))
                assert answer.applied
            hits = await d.stored_hits(1)
            assert [(h.hit.read.read_id, h.hit.retroactive) for h in hits] == [("seen-1", True)]

    asyncio.run(scenario())
