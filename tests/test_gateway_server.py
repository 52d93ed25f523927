"""The reference Hit Gateway over real gRPC: dedupe by hit id, console filters, decisions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry

from feblam.gateway.server import create_gateway_server
from feblam.gateway.store import GatewayStore
from feblam.service.config import GatewayConfig
from feblam.v1 import gateway_pb2 as pb
from feblam.v1 import gateway_pb2_grpc, hits_pb2, reads_pb2


def hit(hit_id: str, priority: int, list_id: int = 1, recipients: tuple[str, ...] = ("BRU",),
        covert: bool = False, camera: str = "cam-1") -> hits_pb2.Hit:
    return hits_pb2.Hit(hit_id=hit_id, priority=priority, recipients=list(recipients),
                        list=hits_pb2.ListRef(list_id=list_id, covert=covert),
                        read=reads_pb2.Read(read_id=f"read-{hit_id}", camera_id=camera))


@contextlib.asynccontextmanager
async def gateway(tmp_path: Path, registry: CollectorRegistry | None = None,
                  **settings: Any) -> AsyncIterator[gateway_pb2_grpc.HitGatewayStub]:
    """A real gateway server on a free port, storing under tmp_path, and a client stub of it;
    stopped on the way out."""
    config = GatewayConfig(listen="127.0.0.1:0", db=str(tmp_path / "g.db"), **settings)
    server, port = create_gateway_server(
        config, registry if registry is not None else CollectorRegistry())
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield gateway_pb2_grpc.HitGatewayStub(channel)  # type: ignore[no-untyped-call]
    finally:
        await server.stop(0.5)


async def publish(stub: gateway_pb2_grpc.HitGatewayStub, batches: list[pb.HitBatch],
                  metadata: tuple[tuple[str, str], ...] = ()) -> list[pb.PublishAck]:
    async def requests() -> AsyncIterator[pb.HitBatch]:
        for b in batches:
            yield b

    return [ack async for ack in stub.Publish(requests(), metadata=metadata)]


def test_publish_dedupes_filters_consoles_and_records_decisions(tmp_path: Path) -> None:
    registry = CollectorRegistry()

    async def scenario() -> None:
        async with gateway(tmp_path, registry) as stub:
            bru = stub.Subscribe(pb.SubscribeRequest(recipients=["BRU"], max_priority=3))
            everyone = stub.Subscribe(pb.SubscribeRequest())
            ops = stub.Subscribe(pb.SubscribeRequest(recipients=["unit-ops"]))
            await asyncio.sleep(0.2)
            first = pb.HitBatch(sequence=1, hits=[
                hit("h1", 1), hit("h2", 5), hit("h3", 2, recipients=("ANT",)),
                hit("h4", 2, recipients=("unit-ops",), covert=True)])
            again = pb.HitBatch(sequence=2, hits=[hit("h1", 1)], sightings=[
                hits_pb2.Sighting(hit_id="h1", sighting_id="s1", read_id="r9",
                                  observed_us=5)])
            acks = await publish(stub, [first, again])
            assert [(a.sequence, a.stored, a.duplicates) for a in acks] == [(1, 4, 0), (2, 1, 1)]

            async def take(call: grpc.aio.UnaryStreamCall, n: int) -> list[list[str]]:
                # Hit ids as the console received them, message by message.
                out: list[list[str]] = []
                async for group in call:
                    out.append([item.hit.hit_id for item in group.hits])
                    if sum(map(len, out)) >= n:
                        break
                return out

            assert await asyncio.wait_for(take(bru, 1), 5) == [["h1"]]
            # One delivery, one message, most urgent first.
            assert await asyncio.wait_for(take(everyone, 3), 5) == [["h1", "h3", "h2"]]
            assert await asyncio.wait_for(take(ops, 1), 5) == [["h4"]]
            for call in (bru, everyone, ops):
                call.cancel()

            backlog = stub.Subscribe(pb.SubscribeRequest(recipients=["BRU"], backlog=True))
            replayed = []
            async for group in backlog:
                replayed.extend(group.hits)
                if len(replayed) >= 2:
                    break
            backlog.cancel()
            assert [r.hit.hit_id for r in replayed] == ["h1", "h2"]
            assert [s.sighting_id for s in replayed[0].trail] == ["s1"]

            answer = await stub.Acknowledge(pb.AcknowledgeRequest(
                hit_id="h1", decision=pb.DECISION_MISREAD, operator="op-7"))
            assert answer.recorded and answer.decisions == 1
            missing = await stub.Acknowledge(pb.AcknowledgeRequest(
                hit_id="nope", decision=pb.DECISION_CONFIRMED, operator="op-7"))
            assert not missing.recorded
            try:
                await stub.Acknowledge(pb.AcknowledgeRequest(hit_id="h1"))
                raise AssertionError("a decision-less acknowledgement was accepted")
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT

    asyncio.run(scenario())
    assert registry.get_sample_value("feblam_gateway_misreads_total", {"camera": "cam-1"}) == 1
    assert registry.get_sample_value("feblam_gateway_items_total", {"outcome": "duplicate"}) == 1


def test_console_tokens_limit_what_a_console_sees_and_decides(tmp_path: Path) -> None:
    async def scenario() -> None:
        tokens = {"tok-bru": "BRU", "tok-ops": "unit-ops,BRU", "tok-sup": "*"}
        async with gateway(tmp_path, console_tokens=tokens) as stub:
            await publish(stub, [pb.HitBatch(sequence=1, hits=[
                hit("h-open", 2), hit("h-covert", 1, recipients=("unit-ops",), covert=True)])])

            def auth(token: str) -> list[tuple[str, str]]:
                return [("authorization", f"Bearer {token}")]

            async def seen(token: str, recipients: tuple[str, ...] = ()) -> list[str]:
                call = stub.Subscribe(pb.SubscribeRequest(recipients=list(recipients),
                                                          backlog=True),
                                      metadata=auth(token))
                got: list[str] = []
                try:
                    while len(got) < 2:
                        group = await asyncio.wait_for(call.read(), 0.5)
                        got.extend(item.hit.hit_id for item in group.hits)
                except asyncio.TimeoutError:
                    pass
                call.cancel()
                return sorted(got)

            assert await seen("tok-bru") == ["h-open"]
            assert await seen("tok-ops") == ["h-covert", "h-open"]
            assert await seen("tok-sup", ("unit-ops",)) == ["h-covert"]
            for token, recipients, code in (("nope", (), grpc.StatusCode.UNAUTHENTICATED),
                                            ("tok-bru", ("unit-ops",),
                                             grpc.StatusCode.PERMISSION_DENIED)):
                call = stub.Subscribe(pb.SubscribeRequest(recipients=list(recipients)),
                                      metadata=auth(token))
                try:
                    await call.read()
                    raise AssertionError("the subscription should have been refused")
                except grpc.aio.AioRpcError as err:
                    assert err.code() == code
            ack = pb.AcknowledgeRequest(hit_id="h-covert", decision=pb.DECISION_CONFIRMED,
                                        operator="op-1")
            try:
                await stub.Acknowledge(ack, metadata=auth("tok-bru"))
                raise AssertionError("a console that never saw the hit decided on it")
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.PERMISSION_DENIED
            assert (await stub.Acknowledge(ack, metadata=auth("tok-ops"))).recorded

    asyncio.run(scenario())


def test_publisher_tokens_keep_hits_from_unknown_callers_out(tmp_path: Path) -> None:
    hit = hits_pb2.Hit(hit_id="h-pub", priority=1, recipients=["BRU"])

    async def scenario() -> None:
        async with gateway(tmp_path, publisher_tokens={"engine-1": "pub-secret"}) as stub:
            for metadata in ((), (("authorization", "Bearer guess"),)):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await publish(stub, [pb.HitBatch(sequence=1, hits=[hit])], metadata)
                assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            acks = await publish(stub, [pb.HitBatch(sequence=2, hits=[hit])],
                                    (("authorization", "Bearer pub-secret"),))
            assert [(a.sequence, a.stored) for a in acks] == [(2, 1)]

    asyncio.run(scenario())


def test_live_hit_carries_the_sightings_stored_with_it(tmp_path: Path) -> None:
    # The sender may flush a hit and its first sightings together, even sightings first.
    async def scenario() -> None:
        async with gateway(tmp_path) as stub:
            console = stub.Subscribe(pb.SubscribeRequest())
            await asyncio.sleep(0.2)
            early = pb.HitBatch(sequence=1, sightings=[
                hits_pb2.Sighting(hit_id="h7", sighting_id="s2", read_id="r2", observed_us=20)])
            together = pb.HitBatch(sequence=2, hits=[hit("h7", 1), hit("h8", 1)], sightings=[
                hits_pb2.Sighting(hit_id="h7", sighting_id="s1", read_id="r1", observed_us=10)])
            await publish(stub, [early, together])
            got = {}
            async for group in console:
                for item in group.hits:
                    got[item.hit.hit_id] = [s.sighting_id for s in item.trail]
                if len(got) == 2:
                    break
            console.cancel()
            assert got == {"h7": ["s1", "s2"], "h8": []}

    asyncio.run(scenario())


def test_consoles_see_new_sightings_of_the_hits_they_may_see(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with gateway(tmp_path) as stub:
            everyone = stub.Subscribe(pb.SubscribeRequest())
            list_two = stub.Subscribe(pb.SubscribeRequest(list_ids=[2]))
            ops = stub.Subscribe(pb.SubscribeRequest(recipients=["unit-ops"]))
            await asyncio.sleep(0.2)

            def seen(hit_id: str, read_id: str) -> hits_pb2.Sighting:
                return hits_pb2.Sighting(hit_id=hit_id, sighting_id=f"{hit_id}/{read_id}",
                                         read_id=read_id, observed_us=7)

            await publish(stub, [
                pb.HitBatch(sequence=1, hits=[
                    hit("h1", 2), hit("h2", 2, list_id=2),
                    hit("h3", 1, recipients=("unit-ops",), covert=True)]),
                # Later reads of the same vehicles; one names a hit the gateway never got,
                # and one is a repeat.
                pb.HitBatch(sequence=2, sightings=[
                    seen("h1", "r2"), seen("h2", "r2"), seen("h3", "r2"), seen("h9", "r2")]),
                pb.HitBatch(sequence=3, sightings=[seen("h1", "r2"), seen("h1", "r3")])])

            async def take(call: grpc.aio.UnaryStreamCall, hits: int,
                           sightings: int) -> tuple[list[str], list[tuple[str, str, int]]]:
                got_hits: list[str] = []
                got_sightings: list[tuple[str, str, int]] = []
                async for group in call:
                    got_hits.extend(item.hit.hit_id for item in group.hits)
                    got_sightings.extend((item.sighting.hit_id, item.sighting.read_id,
                                          item.received_us) for item in group.sightings)
                    if len(got_hits) >= hits and len(got_sightings) >= sightings:
                        break
                call.cancel()
                return got_hits, got_sightings

            hits, sightings = await asyncio.wait_for(take(everyone, 2, 3), 5)
            assert hits == ["h1", "h2"]
            assert [s[:2] for s in sightings] == [("h1", "r2"), ("h2", "r2"), ("h1", "r3")]
            assert all(s[2] > 0 for s in sightings)
            hits, sightings = await asyncio.wait_for(take(list_two, 1, 1), 5)
            assert hits == ["h2"] and [s[:2] for s in sightings] == [("h2", "r2")]
            # A covert hit's sightings reach only its named recipients.
            hits, sightings = await asyncio.wait_for(take(ops, 1, 1), 5)
            assert hits == ["h3"] and [s[:2] for s in sightings] == [("h3", "r2")]

    asyncio.run(scenario())


def test_store_keeps_one_copy_per_id_within_and_across_deliveries(tmp_path: Path) -> None:
    store = GatewayStore(tmp_path / "g.db", synchronous="normal")
    first = hits_pb2.Hit(hit_id="h1", priority=1)
    delivery = store.store([first], [])
    assert [f.hit.hit_id for f in delivery.hits] == ["h1"]
    assert (delivery.stored, delivery.duplicates) == (1, 0)
    again = [hits_pb2.Hit(hit_id="h2", priority=3), first, hits_pb2.Hit(hit_id="h2", priority=3)]
    trail = [hits_pb2.Sighting(sighting_id="s1", hit_id="h1", observed_us=5),
             hits_pb2.Sighting(sighting_id="s1", hit_id="h1", observed_us=5)]
    delivery = store.store(again, trail)
    assert [f.hit.hit_id for f in delivery.hits] == ["h2"]
    assert (delivery.stored, delivery.duplicates) == (2, 3)
    assert store.count() == 2 and [s.sighting_id for s in store.trail("h1")] == ["s1"]
    store.close()
