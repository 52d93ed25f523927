"""Delivery to the Hit Gateway: most urgent first after an outage, every hit exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from feblam.v1 import gateway_pb2
from tests.service_harness import batch, read, running


def test_hits_held_through_an_outage_arrive_once_most_urgent_first(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, gateway=False) as d:
            stub = d.ingest()
            # Uninsured (priority 5) first, then stolen (1) and covert (2): arrival order at the
            # gateway must follow priority, not submission.
            acks = [await stub.SubmitReads(batch(read(f"u{i}", "5UNI555" if i % 2 else "6UNI666",
                                                     camera=f"cam-{1 + i % 2}")))
                    for i in range(2)]
            acks.append(await stub.SubmitReads(batch(read("s1", "2XYZ987"))))
            acks.append(await stub.SubmitReads(batch(read("c1", "9COV999"))))
            assert sum(a.hits for a in acks) == 4
            await asyncio.sleep(0.5)   # several failed delivery attempts meanwhile
            assert d.engine.outbox.depth == 4
            assert d.engine.sender is not None and d.engine.sender.failures >= 1
            await d.start_gateway()
            hits = await d.stored_hits(4)
            assert [h.hit.priority for h in hits] == [1, 2, 5, 5]
            assert [h.hit.read.read_id for h in hits][:2] == ["s1", "c1"]
            # A second outage in the middle of traffic, then recovery: nothing lost or doubled.
            await d.stop_gateway()
            more = [await stub.SubmitReads(batch(read(f"m{i}", "2XYZ987", camera="cam-2",
                                                      observed_us=None), batch_id=f"m{i}"))
                    for i in range(3)]
            assert sum(a.hits for a in more) == 0   # same vehicle within the window: trail only
            extra = await stub.SubmitReads(batch(read("x1", "1ABC123")))
            assert extra.hits == 2
            await asyncio.sleep(0.3)
            await d.start_gateway()
            hits = await d.stored_hits(6)
            ids = [h.hit.hit_id for h in hits]
            assert len(ids) == 6 and len(set(ids)) == 6
            assert d.gateway is not None
            s1 = next(h.hit.hit_id for h in hits if h.hit.read.read_id == "s1")
            assert [s.read_id for s in d.gateway.store.trail(s1)] == ["m0", "m1", "m2"]
            stored = d.registry.get_sample_value("feblam_delivery_seconds_count")
            assert stored is not None and stored >= 6
            assert d.registry.get_sample_value("feblam_outbox_depth") == 0
            decisions = d.consoles()
            answer = await decisions.Acknowledge(gateway_pb2.AcknowledgeRequest(
                hit_id=s1, decision=gateway_pb2.DECISION_CONFIRMED, operator="op-1"))
            assert answer.recorded

    asyncio.run(scenario())


def test_an_engine_without_the_gateways_publisher_token_keeps_its_hits(tmp_path: Path) -> None:
    async def scenario() -> None:
        publishers = {"gateway_settings": {"publisher_tokens": {"engine-1": "pub-secret"}}}
        async with running(tmp_path / "wrong", gateway_token="guess", **publishers) as d:
            ack = await d.ingest().SubmitReads(batch(read("w1", "2XYZ987")))
            assert ack.hits == 1
            await asyncio.sleep(0.5)   # refused deliveries meanwhile, retried with backoff
            assert d.engine.sender is not None and d.engine.sender.failures >= 1
            assert d.engine.outbox.depth == 1
            assert d.gateway is not None and d.gateway.store.count() == 0
        async with running(tmp_path / "right", gateway_token="pub-secret", **publishers) as d:
            ack = await d.ingest().SubmitReads(batch(read("r1", "2XYZ987")))
            assert ack.hits == 1
            hits = await d.stored_hits(1)
            assert [h.hit.read.read_id for h in hits] == ["r1"]

    asyncio.run(scenario())
