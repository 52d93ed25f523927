"""Read ids are unique per integrator: two integrators' reads never collide, over real servers."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import grpc
import pytest

from feblam.hits.identity import hit_id
from feblam.service.config import load_config, ServiceConfig
from feblam.service.integrators import IntegratorAccess
from feblam.v1 import admin_pb2, admin_pb2_grpc, ingest_pb2_grpc
from feblam.v1 import reads_pb2 as rpb
from tests.service_harness import batch, certificates, read, running

TOKENS = {"vendor-a": "token-a", "vendor-b": "token-b"}


def as_(integrator: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {TOKENS[integrator]}"),)


def test_two_integrators_may_send_the_same_read_id(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, integrator_tokens=TOKENS) as d:
            ingest = d.ingest()
            # Both number their reads from 1. The two passages lie further apart than the
            # list's suppression window, so each is a hit of its own.
            earlier = int((time.time() - 1000) * 1e6)
            a = await ingest.SubmitReads(batch(read("1", "9COV999", observed_us=earlier)),
                                         metadata=as_("vendor-a"))
            b = await ingest.SubmitReads(batch(read("1", "9COV999")), metadata=as_("vendor-b"))
            assert (a.accepted, a.hits, b.accepted, b.hits) == (1, 1, 1, 1)
            # Within one integrator, a read id seen before is still a duplicate.
            again = await ingest.SubmitReads(batch(read("1", "9COV999")), metadata=as_("vendor-b"))
            assert again.accepted == 0
            assert [r.status for r in again.rejections] == [rpb.READ_STATUS_DUPLICATE]

            hits = await d.stored_hits(2)
            assert sorted((h.hit.integrator, h.hit.read.read_id) for h in hits) == [
                ("vendor-a", "1"), ("vendor-b", "1")]
            for h in hits:
                assert h.hit.hit_id == hit_id("1", 4, h.hit.entry.entry_no, "", h.hit.integrator)
            assert len({h.hit.hit_id for h in hits}) == 2
            reads = {(labels["integrator"], labels["status"]): value for labels, value in (
                (s.labels, s.value) for m in d.registry.collect()
                if m.name == "feblam_integrator_reads" for s in m.samples
                if s.name.endswith("_total"))}
            assert reads == {("vendor-a", "ACCEPTED"): 1.0, ("vendor-b", "ACCEPTED"): 1.0,
                             ("vendor-b", "DUPLICATE"): 1.0}

    asyncio.run(scenario())


def test_a_stream_is_one_integrators_and_a_repeat_sighting_names_its_sender(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, integrator_tokens=TOKENS) as d:
            ingest = d.ingest()
            first = await ingest.SubmitReads(batch(read("7", "2XYZ987")), metadata=as_("vendor-a"))
            assert first.hits == 1
            # The same vehicle, another integrator, the same read id, within the stolen list's
            # suppression window: it joins the hit's trail as that integrator's sighting.
            call = ingest.StreamReads(metadata=as_("vendor-b"))
            await call.write(batch(read("7", "2XYZ987", camera="cam-2"), batch_id="s1"))
            ack = await call.read()
            await call.done_writing()
            assert (ack.batch_id, ack.accepted, ack.hits) == ("s1", 1, 0)
            hits = await d.stored_hits(1)
            assert d.gateway is not None
            for _ in range(100):
                trail = await asyncio.to_thread(d.gateway.store.trail, hits[0].hit.hit_id)
                if trail:
                    break
                await asyncio.sleep(0.05)
            assert [(s.integrator, s.read_id, s.camera_id) for s in trail] == [
                ("vendor-b", "7", "cam-2")]

    asyncio.run(scenario())


def test_calls_without_a_valid_integrator_token_are_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, integrator_tokens=TOKENS) as d:
            ingest = d.ingest()
            for metadata in ((), (("authorization", "Bearer token-c"),)):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await ingest.SubmitReads(batch(read("1", "9COV999")), metadata=metadata)
                assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
                call = ingest.StreamReads(metadata=metadata)
                try:
                    await call.write(batch(read("2", "9COV999")))
                except grpc.aio.AioRpcError:
                    pass  # the engine may refuse the stream before the batch is written
                assert await call.code() == grpc.StatusCode.UNAUTHENTICATED
            # Nothing of the refused calls was matched or remembered.
            ok = await ingest.SubmitReads(batch(read("1", "9COV999")), metadata=as_("vendor-a"))
            assert (ok.accepted, ok.hits) == (1, 1)

    asyncio.run(scenario())


def test_retroactive_hits_keep_each_reads_integrator(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, integrator_tokens=TOKENS, admin_listen="127.0.0.1:0",
                           admin_tokens={"ops": "admin-secret"}) as d:
            ingest = d.ingest()
            for who in ("vendor-a", "vendor-b"):
                ack = await ingest.SubmitReads(batch(read("r-1", "8LAT888", camera="cam-2")),
                                               metadata=as_(who))
                assert (ack.accepted, ack.hits) == (1, 0)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{d.engine.admin_port}") as channel:
                answer = await admin_pb2_grpc.WatchlistAdminStub(channel).ApplyDelta(
                    admin_pb2.ApplyDeltaRequest(
                        list_id=4, add=[admin_pb2.DeltaEntry(plate="8LAT888")],
                        reason=admin_pb2.ChangeReason(why="case 12")),
                    metadata=(("authorization", "Bearer admin-secret"),))
                assert answer.applied
            hits = await d.stored_hits(2)
            assert sorted((h.hit.integrator, h.hit.read.read_id, h.hit.retroactive)
                          for h in hits) == [("vendor-a", "r-1", True), ("vendor-b", "r-1", True)]

    asyncio.run(scenario())


def test_with_mutual_tls_the_client_certificate_names_the_integrator(tmp_path: Path) -> None:
    certs = certificates(tmp_path, clients=("vendor-a", "vendor-b"))

    def credentials(client: str) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=Path(certs["ca.pem"]).read_bytes(),
            private_key=Path(certs[f"{client}.key"]).read_bytes(),
            certificate_chain=Path(certs[f"{client}.pem"]).read_bytes())

    async def scenario() -> None:
        async with running(tmp_path / "deploy", tls_cert=certs["server.pem"],
                           tls_key=certs["server.key"], tls_client_ca=certs["ca.pem"]) as d:
            # Passages further apart than the suppression window: a hit each.
            for client, ago_s in (("vendor-a", 1000), ("vendor-b", 0)):
                observed = int((time.time() - ago_s) * 1e6)
                async with grpc.aio.secure_channel(f"127.0.0.1:{d.port}",
                                                   credentials(client)) as channel:
                    ack = await ingest_pb2_grpc.IngestStub(channel).SubmitReads(
                        batch(read("1", "9COV999", observed_us=observed)), timeout=10)
                    assert (ack.accepted, ack.hits) == (1, 1)
            hits = await d.stored_hits(2)
            assert sorted(h.hit.integrator for h in hits) == ["feblam-vendor-a", "feblam-vendor-b"]

    asyncio.run(scenario())


def test_integrator_tokens_come_from_the_config_file_and_must_be_distinct(tmp_path: Path) -> None:
    path = tmp_path / "feblam.toml"
    path.write_text('[engine.integrator_tokens]\n"vendor-a" = "token-a"\n')
    assert load_config(ServiceConfig, path, env={}).integrator_tokens == {"vendor-a": "token-a"}
    with pytest.raises(ValueError, match="share a token"):
        IntegratorAccess({"vendor-a": "same", "vendor-b": "same"})
    with pytest.raises(ValueError, match="a name and a token"):
        IntegratorAccess({"vendor-a": ""})
    assert not IntegratorAccess().required


def test_one_integrators_flood_is_refused_without_holding_back_the_others(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, integrator_tokens=TOKENS, max_inflight_reads=10_000,
                           max_inflight_reads_per_integrator=1) as d:
            ingest = d.ingest()
            flood = [ingest.SubmitReads(batch(read(f"a{i}", "5UNI555", camera="cam-2")),
                                        metadata=as_("vendor-a")) for i in range(30)]

            async def steady() -> list[rpb.BatchAck]:
                return [await ingest.SubmitReads(batch(read(f"b{i}", "6UNI666")),
                                                 metadata=as_("vendor-b")) for i in range(10)]

            results = await asyncio.gather(steady(), *flood, return_exceptions=True)
            refused = [r for r in results[1:] if isinstance(r, grpc.aio.AioRpcError)]
            assert refused, "no batch of the flood was refused at one read per integrator"
            assert all(r.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                       and "this integrator" in (r.details() or "") for r in refused)
            steady_acks = results[0]
            assert isinstance(steady_acks, list)
            assert [a.accepted for a in steady_acks] == [1] * 10
            assert d.engine.engine._inflight == 0 and d.engine.engine._inflight_by == {}

    asyncio.run(scenario())


def test_duplicates_follow_a_model_of_each_integrators_ids(tmp_path: Path) -> None:
    # Random batches from three integrators drawing on one small pool of read ids: a read is
    # accepted exactly when its integrator has not sent its id before (in this batch or earlier).
    tokens = {"vendor-a": "token-a", "vendor-b": "token-b", "vendor-c": "token-c"}
    rng = random.Random(20261127)

    async def scenario() -> None:
        async with running(tmp_path, integrator_tokens=tokens) as d:
            ingest = d.ingest()
            seen: set[tuple[str, str]] = set()
            for n in range(150):
                who = rng.choice(sorted(tokens))
                ids = [f"r{rng.randrange(25)}" for _ in range(rng.randint(1, 8))]
                ack = await ingest.SubmitReads(
                    batch(*(read(i, rng.choice(["5UNI555", "3VIS333", "2XYZ987"])) for i in ids),
                          batch_id=f"b{n}"),
                    metadata=(("authorization", f"Bearer {tokens[who]}"),))
                expected_duplicates = []
                for k, i in enumerate(ids):
                    if (who, i) in seen:
                        expected_duplicates.append(k)
                    seen.add((who, i))
                assert [r.index for r in ack.rejections] == expected_duplicates
                assert all(r.status == rpb.READ_STATUS_DUPLICATE for r in ack.rejections)
                assert ack.accepted == len(ids) - len(expected_duplicates)

    asyncio.run(scenario())
