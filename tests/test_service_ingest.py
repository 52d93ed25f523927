"""The engine over real gRPC: per-read validation, idempotency, suppression, zones, recipients,
retroactive hits, backpressure, health and metrics."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from feblam.v1 import hits_pb2
from feblam.v1 import reads_pb2 as rpb
from feblam.watchlists.files import entries_from_rows
from feblam.watchlists.zones import ZoneRules
from tests.service_harness import DEFINITIONS, ENTRIES, ZONES, batch, read, running


def test_each_bad_read_gets_its_status_and_the_batch_still_matches(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, require_known_camera=True) as d:
            stub = d.ingest()
            ack = await stub.SubmitReads(batch(
                read("ok", "1-abc-123"),
                read("", "2XYZ987"),
                read("empty", "   "),
                read("long", "A" * 30),
                read("weird", "###"),
                read("camera", "5UNI555", camera="cam-404"),
                read("old", "5UNI555", observed_us=1_000_000),
                read("conf", "5UNI555", confidence=1.5),
                read("ok", "6UNI666"),
                batch_id="b-1"))
            assert ack.batch_id == "b-1" and ack.status == rpb.BATCH_STATUS_PROCESSED
            got = [(r.index, r.status) for r in ack.rejections]
            assert got == [(1, rpb.READ_STATUS_MISSING_READ_ID), (2, rpb.READ_STATUS_EMPTY_PLATE),
                           (3, rpb.READ_STATUS_PLATE_TOO_LONG), (4, rpb.READ_STATUS_INVALID_PLATE),
                           (5, rpb.READ_STATUS_UNKNOWN_CAMERA),
                           (6, rpb.READ_STATUS_TIME_OUT_OF_RANGE),
                           (7, rpb.READ_STATUS_CONFIDENCE_OUT_OF_RANGE),
                           (8, rpb.READ_STATUS_DUPLICATE)]
            assert all(r.detail for r in ack.rejections)
            assert "1ABC123" not in str(ack)
            assert ack.accepted == 1 and ack.rejected == 8
            # 1ABC123/BE is on the stolen and the uninsured lists.
            assert ack.hits == 2
            hits = await d.stored_hits(2)
            assert sorted(h.hit.list.name for h in hits) == ["stolen", "uninsured"]
            stolen = next(h.hit for h in hits if h.hit.list.name == "stolen")
            assert stolen.priority == 1 and stolen.action == hits_pb2.ACTION_INTERCEPT
            assert stolen.entry.reference == "PV-1" and stolen.list.version == 1
            assert stolen.recipients == ["BRU"] and stolen.read.raw_plate == "1-abc-123"
            assert d.registry.get_sample_value("feblam_reads_total", {"status": "ACCEPTED"}) == 1
            assert d.registry.get_sample_value("feblam_reads_total",
                                               {"status": "PLATE_TOO_LONG"}) == 1
            assert d.registry.get_sample_value(
                "feblam_hits_total", {"list": "stolen", "priority": "1", "kind": "exact"}) == 1
            assert d.registry.get_sample_value("feblam_watchlist_version", {"list": "stolen"}) == 1

    asyncio.run(scenario())


def test_oversized_fields_cost_their_read_and_nothing_else(tmp_path: Path) -> None:
    # A country of a megabyte once made the batch's country column a megabyte per read.
    async def scenario() -> None:
        async with running(tmp_path) as d:
            huge = read("huge", "5UNI555", country="B" * 100)
            big = read("big", "5UNI555")
            big.image_ref = "data:image/jpeg;base64," + "A" * 20_000
            reads = [huge, read("i" * 129, "5UNI555"), read("cam", "5UNI555", camera="c" * 129),
                     big, *(read(f"ok{i}", "6UNI666" if i == 0 else "3VIS333") for i in range(2000))]
            ack = await d.ingest().SubmitReads(batch(*reads, batch_id="sizes"))
            assert [(r.index, r.status) for r in ack.rejections] == [
                (0, rpb.READ_STATUS_COUNTRY_TOO_LONG), (1, rpb.READ_STATUS_READ_ID_TOO_LONG),
                (2, rpb.READ_STATUS_CAMERA_ID_TOO_LONG), (3, rpb.READ_STATUS_READ_TOO_LARGE)]
            assert [r.detail for r in ack.rejections] == [
                "country is longer than 16 bytes", "read_id is longer than 128 bytes",
                "camera_id is longer than 128 bytes", "the read is larger than 16 KiB"]
            assert (ack.accepted, ack.hits) == (2000, 1)
            hits = await d.stored_hits(1)
            assert [h.hit.read.read_id for h in hits] == ["ok0"]

    asyncio.run(scenario())


@pytest.mark.parametrize("threads", [1, 3])
def test_hits_name_their_own_read_when_rejected_listed_reads_come_first(tmp_path: Path,
                                                                         threads: int) -> None:
    # Matches are found for every read of a batch and renumbered over the accepted ones: a
    # rejected read that is listed must neither hit nor lend its place to another read. With
    # several intake threads, batches finish in any order and still answer for themselves.
    async def scenario() -> None:
        async with running(tmp_path, match_threads=threads) as d:
            ack = await d.ingest().SubmitReads(batch(
                read("bad-conf", "1-abc-123", confidence=1.5),
                read("bad-time", "1-abc-123", observed_us=1_000_000),
                read("clean", "4OTH444"),
                read("good", "1-abc-123"), batch_id="order"))
            assert ack.accepted == 2 and ack.rejected == 2 and ack.hits == 2
            hits = await d.stored_hits(2)
            assert {h.hit.read.read_id for h in hits} == {"good"}
            # Batches in flight together, each acknowledged with its own reads; the listed
            # vehicle seen again joins the open hits' trails (a sighting per list and batch).
            acks = await asyncio.gather(*(d.ingest().SubmitReads(batch(
                read(f"x{k}", "4OTH444"), read(f"y{k}", "1-abc-123") if k % 2 else
                read(f"y{k}", "5OTH555"), batch_id=f"c{k}")) for k in range(12)))
            assert [(a.batch_id, a.accepted, a.hits) for a in acks] == [
                (f"c{k}", 2, 0) for k in range(12)]
            assert d.registry.get_sample_value("feblam_sightings_total", {"list": "stolen"}) == 6

    asyncio.run(scenario())


def test_a_read_sent_again_raises_no_second_hit(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            stub = d.ingest()
            first = await stub.SubmitReads(batch(read("r1", "2XYZ987")))
            again = await stub.SubmitReads(batch(read("r1", "2XYZ987")))
            assert first.hits == 1 and first.accepted == 1
            assert again.hits == 0 and [r.status for r in again.rejections] == [
                rpb.READ_STATUS_DUPLICATE]
            hits = await d.stored_hits(1)
            await asyncio.sleep(0.3)
            assert len(hits) == 1 and d.gateway is not None and d.gateway.store.count() == 1

    asyncio.run(scenario())


def test_a_batch_whose_hits_cannot_be_stored_is_refused_and_can_be_sent_again(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            stub = d.ingest()
            # The outbox's database refuses every write, as a full disk would.
            db = sqlite3.connect(Path(d.engine.config.data_dir) / "outbox.db")
            db.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox"
                       " BEGIN SELECT RAISE(ABORT, 'disk refused'); END")
            db.commit()
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.SubmitReads(batch(read("r1", "2XYZ987"), batch_id="b-1"))
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "disk refused" in (refused.value.details() or "")
            db.execute("DROP TRIGGER refuse")
            db.commit()
            db.close()
            # Nothing of the refused batch was remembered: sent again, it raises its hit.
            again = await stub.SubmitReads(batch(read("r1", "2XYZ987"), batch_id="b-1"))
            assert again.accepted == 1 and again.hits == 1 and not again.rejections
            hits = await d.stored_hits(1)
            assert [h.hit.read.read_id for h in hits] == ["r1"]

    asyncio.run(scenario())


def test_suppression_keeps_one_hit_per_vehicle_and_adds_sightings_to_its_trail(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            stub = d.ingest()
            now = int(time.time() * 1e6) - 400_000_000
            ack = await stub.SubmitReads(batch(
                read("a1", "2XYZ987", observed_us=now),
                read("a2", "2XYZ987", camera="cam-2", observed_us=now + 60_000_000),
                # A different stolen plate at the same camera is a hit of its own.
                read("b1", "1ABC123", observed_us=now + 1_000_000)))
            await stub.SubmitReads(batch(read("a3", "2 xyz 987", observed_us=now + 120_000_000)))
            # Outside the 300 s window the same vehicle raises a new hit.
            late = await stub.SubmitReads(batch(read("a4", "2XYZ987", observed_us=now + 301_000_000)))
            assert ack.hits == 3 and late.hits == 1
            hits = await d.stored_hits(4)
            stolen = [h.hit for h in hits if h.hit.list.name == "stolen"]
            assert sorted(h.read.read_id for h in stolen) == ["a1", "a4", "b1"]
            assert d.gateway is not None
            trail = d.gateway.store.trail(next(h.hit_id for h in stolen if h.read.read_id == "a1"))
            assert [(s.read_id, s.camera_id) for s in trail] == [("a2", "cam-2"), ("a3", "cam-1")]
            assert d.registry.get_sample_value("feblam_sightings_total", {"list": "stolen"}) == 2

    asyncio.run(scenario())


def test_zone_lists_hit_only_in_their_zone_once_per_day(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            stub = d.ingest()
            outside = await stub.SubmitReads(batch(read("z0", "7LEZ777", camera="cam-1")))
            inside = await stub.SubmitReads(batch(read("z1", "7LEZ777", camera="cam-zone")))
            again = await stub.SubmitReads(batch(read("z2", "7LEZ777", camera="cam-zone")))
            assert (outside.hits, inside.hits, again.hits) == (0, 1, 0)
            hits = await d.stored_hits(1)
            assert [(h.hit.zone, h.hit.read.read_id) for h in hits] == [("centre", "z1")]

    asyncio.run(scenario())


def test_deny_and_allow_zones_hit_only_the_reads_that_break_their_rule(tmp_path: Path) -> None:
    # A deny zone (listed non-compliant vehicles) and an allow zone (only permit holders) side by
    # side: the engine looks one by one only at reads that can break a rule, and must miss none.
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "lists.toml").write_text(DEFINITIONS + """
[[list]]
id = 5
name = "residents"
category = "permit"
priority = 7
kinds = ["exact"]
zone = "residents"
""")
    (custom / "zones.toml").write_text(ZONES + """
[[zone]]
name = "residents"
mode = "allow"
lists = [5]
cameras = ["cam-2"]
suppression = "none"
""")
    lists = {}
    for list_id, text in {**ENTRIES, "5": "plate;country\n8RES888;\n"}.items():
        (custom / f"list{list_id}.csv").write_text(text)
        lists[list_id] = str(custom / f"list{list_id}.csv")

    async def scenario() -> None:
        async with running(tmp_path, definitions=str(custom / "lists.toml"), lists=lists,
                           zones=str(custom / "zones.toml")) as d:
            ack = await d.ingest().SubmitReads(batch(
                read("r1", "7LEZ777", camera="cam-zone"), read("r2", "5UNI555", camera="cam-zone"),
                read("r3", "8RES888", camera="cam-2"), read("r4", "3VIS333", camera="cam-2"),
                read("r5", "3VIS333", camera="cam-1"), read("r6", "8RES888", camera="cam-zone")))
            assert ack.accepted == 6 and ack.hits == 3
            hits = await d.stored_hits(3)
            got = sorted((h.hit.zone, h.hit.read.read_id, h.hit.list.name) for h in hits)
            assert got == [("", "r2", "uninsured"), ("centre", "r1", "lez-noncompliant"),
                           ("residents", "r4", "residents")]

    asyncio.run(scenario())


def test_a_read_breaking_two_zones_that_share_a_list_is_a_hit_in_each(tmp_path: Path) -> None:
    custom = tmp_path / "custom"
    custom.mkdir()
    # The centre zone once more as "ring": the same list, the same camera.
    (custom / "zones.toml").write_text(ZONES + ZONES.replace('"centre"', '"ring"'))

    async def scenario() -> None:
        async with running(tmp_path, zones=str(custom / "zones.toml")) as d:
            ack = await d.ingest().SubmitReads(batch(read("z2", "7LEZ777", camera="cam-zone")))
            assert ack.hits == 2
            hits = await d.stored_hits(2)
            assert sorted((h.hit.zone, h.hit.read.read_id) for h in hits) == [
                ("centre", "z2"), ("ring", "z2")]
            assert len({h.hit.hit_id for h in hits}) == 2

    asyncio.run(scenario())


def test_covert_hits_go_only_to_their_named_recipients(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            await d.ingest().SubmitReads(batch(read("c1", "9COV999", camera="cam-2")))
            hits = await d.stored_hits(1)
            assert [list(h.hit.recipients) for h in hits] == [["unit-ops"]]
            assert hits[0].hit.list.covert

    asyncio.run(scenario())


def test_hits_go_to_the_region_the_camera_registry_gives_now(tmp_path: Path) -> None:
    # Recipients are worked out once per list and camera: a new registry must not meet an
    # answer kept from the old one.
    async def scenario() -> None:
        async with running(tmp_path) as d:
            engine = d.engine.engine
            await d.ingest().SubmitReads(batch(read("r1", "1-abc-123")))
            first = [h for h in await d.stored_hits(2) if h.hit.list.name == "stolen"]
            assert [list(h.hit.recipients) for h in first] == [["BRU"]]
            rules = engine.zone_rules
            moved = {**rules.cameras, "cam-1": replace(rules.cameras["cam-1"], region="ANT")}
            engine.set_zone_rules(ZoneRules(rules.zones, moved))
            # Another stolen plate: the same one would join the open hit's trail.
            await d.ingest().SubmitReads(batch(read("r2", "2XYZ987")))
            hits = [h for h in await d.stored_hits(3) if h.hit.list.name == "stolen"]
            assert [(h.hit.read.read_id, list(h.hit.recipients)) for h in hits] == [
                ("r1", ["BRU"]), ("r2", ["ANT"])]

    asyncio.run(scenario())


def test_a_delta_landing_while_a_batch_is_prepared_still_hits_its_reads(tmp_path: Path) -> None:
    # The batch is matched on the lists as they were; the delta's retroactive search runs before
    # the batch's reads are buffered. The engine must notice and match again.
    async def scenario() -> None:
        async with running(tmp_path) as d:
            prepared = d.engine.engine.prepare(batch(read("mid1", "3MID333", camera="cam-2"),
                                              read("mid2", "4OTH444")).SerializeToString())
            assert not prepared.matched
            table, _ = entries_from_rows([{"plate": "3MID333", "country": "BE"}])
            d.engine.store.delta(1, add=table, actor="test", why="reported meanwhile")
            assert await d.engine.engine.check_deltas() == 0   # nothing buffered to find yet
            ack = await d.engine.engine.process(prepared)
            assert ack.hits == 1 and ack.accepted == 2
            hits = await d.stored_hits(1)
            assert hits[0].hit.read.read_id == "mid1" and not hits[0].hit.retroactive
            assert hits[0].hit.list.version == 2

    asyncio.run(scenario())


def test_a_delta_landing_while_the_intake_worker_reads_a_batch_still_hits_its_reads(
        tmp_path: Path) -> None:
    # The same race on the usual path: the batch is with the core's intake worker, matched on
    # the snapshot it was handed, when the delta lands.
    async def scenario() -> None:
        async with running(tmp_path) as d:
            engine = d.engine.engine
            data = batch(read("mid1", "3MID333", camera="cam-2"), read("mid2", "4OTH444"),
                         batch_id="during").SerializeToString()
            task = asyncio.create_task(engine.process(data))
            await asyncio.sleep(0)   # the batch is now submitted to the intake worker
            table, _ = entries_from_rows([{"plate": "3MID333", "country": "BE"}])
            d.engine.store.delta(1, add=table, actor="test", why="reported meanwhile")
            ack = await task
            assert ack.batch_id == "during" and ack.hits == 1 and ack.accepted == 2
            hits = await d.stored_hits(1)
            assert hits[0].hit.read.read_id == "mid1" and hits[0].hit.list.version == 2

    asyncio.run(scenario())


def test_an_added_entry_raises_retroactive_hits_for_recent_reads(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            stub = d.ingest()
            ack = await stub.SubmitReads(batch(read("old1", "3NEW333", camera="cam-2"),
                                               read("old2", "4OTH444")))
            assert ack.hits == 0
            table, _ = entries_from_rows([{"plate": "3NEW333", "country": "BE",
                                           "reason": "late report"}])
            d.engine.store.delta(1, add=table, actor="test", why="late report")
            hits = await d.stored_hits(1)
            assert len(hits) == 1
            hit = hits[0].hit
            assert hit.retroactive and hit.read.read_id == "old1" and hit.read.camera_id == "cam-2"
            assert hit.read.raw_plate == "" and hit.entry.plate == "3NEW333"
            assert hit.list.version == 2

    asyncio.run(scenario())


def test_past_the_in_flight_limit_batches_are_refused_with_a_retry_hint(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, max_inflight_reads=1) as d:
            stub = d.ingest()
            calls = [stub.SubmitReads(batch(read(f"p{i}", "5UNI555", camera="cam-2")))
                     for i in range(30)]
            results = await asyncio.gather(*calls, return_exceptions=True)
            refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
            assert refused, "no batch was refused at an in-flight limit of one read"
            assert all(r.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for r in refused)
            trailers = dict(refused[0].trailing_metadata() or ())
            assert int(trailers["retry-after-ms"]) > 0
            assert any(isinstance(r, rpb.BatchAck) for r in results)

            async def stream() -> AsyncIterator[rpb.ReadBatch]:
                for i in range(3):
                    yield batch(read(f"s{i}", "6UNI666"), batch_id=f"s{i}")

            acks = [a async for a in stub.StreamReads(stream())]
            assert [a.batch_id for a in acks] == ["s0", "s1", "s2"]

    asyncio.run(scenario())


def test_a_stream_cut_short_leaves_no_batch_in_flight(tmp_path: Path) -> None:
    # Batches staged by a stream that goes away still commit and give back their in-flight
    # reads; otherwise the engine would refuse every batch after a few dropped connections.
    async def scenario() -> None:
        async with running(tmp_path, max_inflight_reads=40, stream_window=8) as d:
            stub = d.ingest()
            first_ack = asyncio.Event()

            async def stream() -> AsyncIterator[rpb.ReadBatch]:
                for i in range(40):
                    yield batch(read(f"cut{i}", "5UNI555", camera="cam-2"), batch_id=f"cut{i}")
                await asyncio.sleep(30)   # the client never ends its stream

            call = stub.StreamReads(stream())
            async for _ in call:
                first_ack.set()
                break
            call.cancel()
            engine = d.engine.engine
            for _ in range(200):
                if engine._inflight == 0:
                    break
                await asyncio.sleep(0.02)
            assert engine._inflight == 0
            ack = await stub.SubmitReads(batch(read("after", "6UNI666"), batch_id="after"))
            assert ack.status == rpb.BATCH_STATUS_PROCESSED and ack.accepted == 1

    asyncio.run(scenario())


def test_health_serves_only_once_lists_are_loaded(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{d.port}")
            d.channels.append(channel)
            health = health_pb2_grpc.HealthStub(channel)
            answer = await health.Check(health_pb2.HealthCheckRequest(service="feblam.v1.Ingest"))
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
            d.engine.engine.ready = False
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await d.ingest().SubmitReads(batch(read("n1", "5UNI555")))
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE

    asyncio.run(scenario())


def test_deltas_are_folded_in_the_background_after_their_retroactive_search(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, fold_interval_s=0.2) as d:
            stub = d.ingest()
            await stub.SubmitReads(batch(read("early", "8FLD888")))
            table, _ = entries_from_rows([{"plate": "8FLD888", "country": "BE"}])
            d.engine.store.delta(1, add=table, remove=[("2XYZ987", "")], actor="test",
                                 why="new wanted")
            deadline = time.monotonic() + 10
            while d.engine.store.serving(1).overlay is not None:  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the delta was never folded"
                await asyncio.sleep(0.05)
            serving = d.engine.store.serving(1)
            assert serving is not None and not serving.removed
            # The retroactive hit was raised once, before the fold; the folded index serves on.
            ack = await stub.SubmitReads(batch(read("later", "8FLD888", camera="cam-2"),
                                               read("gone", "2XYZ987")))
            assert ack.hits == 1
            hits = await d.stored_hits(2)
            assert sorted((h.hit.retroactive, h.hit.read.read_id) for h in hits) == [
                (False, "later"), (True, "early")]

    asyncio.run(scenario())


def test_hits_carry_the_entrys_free_fields_and_validity(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path) as d:
            table, _ = entries_from_rows([{"plate": "4FRE444", "country": "BE", "reason": "stolen",
                                           "valid_until": "2099-12-31", "colour": "red",
                                           "make": "Volvo"}])
            d.engine.store.delta(1, add=table, actor="test", why="with free fields")
            ack = await d.ingest().SubmitReads(batch(read("r1", "4-fre-444")))
            assert ack.hits == 1
            (stored,) = await d.stored_hits(1)
            entry = stored.hit.entry
            assert dict(entry.fields) == {"colour": "red", "make": "Volvo"}
            assert entry.valid_from_us == 0
            # Through 31 December 2099 in Brussels: 23:00 UTC that day.
            assert entry.valid_until_us == 4102441200 * 1_000_000

    asyncio.run(scenario())


def test_suppression_windows_survive_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        now = int(time.time() * 1e6) - 100_000_000
        async with running(tmp_path) as d:
            ack = await d.ingest().SubmitReads(batch(read("s1", "2XYZ987", observed_us=now)))
            assert ack.hits == 1
            first = [h.hit for h in await d.stored_hits(1)]
        # A new engine on the same data directory: the same vehicle inside the window joins the
        # open hit's trail; a different listed vehicle still raises its own hit.
        async with running(tmp_path) as d:
            ack = await d.ingest().SubmitReads(batch(
                read("s2", "2 xyz 987", camera="cam-2", observed_us=now + 30_000_000),
                read("s3", "1ABC123", observed_us=now + 31_000_000)))
            assert ack.hits == 2  # 1ABC123 is on two lists; 2XYZ987 adds a sighting
            hits = await d.stored_hits(3)
            assert d.gateway is not None
            assert sorted(h.hit.read.read_id for h in hits) == ["s1", "s3", "s3"]
            trail = d.gateway.store.trail(first[0].hit_id)
            assert [(s.read_id, s.camera_id) for s in trail] == [("s2", "cam-2")]

    asyncio.run(scenario())
