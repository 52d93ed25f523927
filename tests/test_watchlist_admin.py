"""The admin service and the `feblam watchlist` / `feblam zones` commands against a real server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from feblam.cli import main
from feblam.watchlists.admin import WatchlistAdminServicer, create_admin_server
from feblam.watchlists.audit import AuditLog
from feblam.watchlists.definitions import parse_definitions
from feblam.watchlists.store import WatchlistStore

TOKEN = "s3cret-ops-token"
DEFINITIONS = """
[[list]]
id = 1
name = "wanted"
category = "wanted"
max_bad_rows = 1

[[list]]
id = 40
name = "lez"
category = "lez"
zone = "brussels-lez"
"""


class RunningAdmin:
    def __init__(self, tmp_path: Path) -> None:
        self.store = WatchlistStore(parse_definitions(DEFINITIONS), AuditLog(tmp_path / "a.db"))
        self.servicer = WatchlistAdminServicer(self.store)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.server, self.port = await create_admin_server(
                self.servicer, tokens={TOKEN: "ops-team"})

        self.loop.run_until_complete(start())
        self.ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(None), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture()
def admin(tmp_path: Path) -> Iterator[RunningAdmin]:
    running = RunningAdmin(tmp_path)
    yield running
    running.stop()


def cli(admin: RunningAdmin, *args: str, token: str = TOKEN) -> int:
    return main([*args, "--server", f"127.0.0.1:{admin.port}", "--token", token,
                 "--actor", "anna"])


def test_load_list_show_diff_rollback(admin: RunningAdmin, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "a.csv"
    a.write_text("plate;country\n1-abc-123;BE\n2-abc-123;BE\n")
    b = tmp_path / "b.csv"
    b.write_text("plate;country\n1-abc-123;BE\n3-abc-123;BE\n4-abc-123;BE\n")
    assert cli(admin, "watchlist", "load", "--list", "1", str(a), "--why", "daily") == 0
    assert cli(admin, "watchlist", "load", "--list", "1", str(b), "--why", "daily") == 0
    capsys.readouterr()
    assert cli(admin, "watchlist", "diff", "--list", "1", "--from", "1", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"added": "2", "removed": "1",
                                                   "unchanged": "1"}
    assert cli(admin, "watchlist", "show", "--list", "1") == 0
    shown = capsys.readouterr().out
    assert "serving v2" in shown and "ops-team/anna: daily" in shown
    assert cli(admin, "watchlist", "rollback", "--list", "1", "--why", "b was wrong") == 0
    assert admin.store.serving(1).info.parent == 1  # type: ignore[union-attr]
    assert cli(admin, "watchlist", "list") == 0
    listing = capsys.readouterr().out
    assert "wanted" in listing and "v3 2 entries" in listing and "nothing loaded" in listing
    actions = [r.action for r in admin.store.audit.records(list_id=1)]
    assert actions == ["rollback", "load", "load"]
    assert admin.store.audit.records(list_id=1)[0].actor == "ops-team/anna"


def test_refused_load_reports_and_exits_65(admin: RunningAdmin, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.csv"
    good.write_text("plate\n1-abc-123\n")
    assert cli(admin, "watchlist", "load", "--list", "1", str(good), "--why", "first") == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("plate;valid_until\n;\n1-xyz-123;tomorrow\n2-xyz-123;\n")
    capsys.readouterr()
    assert cli(admin, "watchlist", "load", "--list", "1", str(bad), "--why", "x") == 65
    out = capsys.readouterr().out
    assert "REFUSED" in out and "line 2: plate: plate is empty" in out
    assert "line 3: valid_until" in out and "XYZ" not in out.upper().replace("LINE", "")
    assert admin.store.serving(1).info.version == 1  # type: ignore[union-attr]


def test_delta_add_and_remove(admin: RunningAdmin, tmp_path: Path) -> None:
    base = tmp_path / "base.csv"
    base.write_text("plate;country\n1-abc-123;BE\n")
    assert cli(admin, "watchlist", "load", "--list", "1", str(base), "--why", "base") == 0
    assert cli(admin, "watchlist", "delta", "--list", "1", "--add", "9-new-999:BE",
               "--remove", "1ABC123", "--why", "new wanted") == 0
    matched = admin.store.snapshot.match(["9NEW999", "1ABC123"], None, None, None)
    assert [int(m.matches.read[k]) for m in matched for k in m.keep] == [0]
    assert cli(admin, "watchlist", "delta", "--list", "1", "--add", ":BE", "--why", "bad") == 65


def test_credentials_and_errors(admin: RunningAdmin, tmp_path: Path) -> None:
    assert cli(admin, "watchlist", "list", token="wrong") == 77
    assert cli(admin, "watchlist", "show", "--list", "99") == 65
    assert cli(admin, "watchlist", "load", "--list", "1", str(tmp_path / "nope.csv"),
               "--why", "x") == 66
    assert main(["watchlist", "list", "--server", "127.0.0.1:1", "--token", TOKEN]) == 69
    channel = grpc.insecure_channel(f"127.0.0.1:{admin.port}")
    from feblam.v1 import admin_pb2, admin_pb2_grpc

    stub = admin_pb2_grpc.WatchlistAdminStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.ListLists(admin_pb2.ListListsRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    channel.close()


def test_zones_load(admin: RunningAdmin, tmp_path: Path) -> None:
    zones = tmp_path / "zones.toml"
    zones.write_text('[[zone]]\nname = "brussels-lez"\nlists = [40]\n')
    cameras = tmp_path / "cameras.csv"
    cameras.write_text("camera_id;region;zones\nBXL-1;brussels;brussels-lez\n")
    assert cli(admin, "zones", "load", str(zones), "--cameras", str(cameras), "--why", "z") == 0
    assert sorted(admin.servicer.zone_rules.zones) == ["brussels-lez"]
    zones.write_text('[[zone]]\nname = "x"\nlists = [77]\n')
    assert cli(admin, "zones", "load", str(zones), "--why", "z") == 65
    assert sorted(admin.servicer.zone_rules.zones) == ["brussels-lez"]


def test_delta_from_a_file_reads_its_headers_like_a_load(admin: RunningAdmin,
                                                         tmp_path: Path) -> None:
    base = tmp_path / "base.csv"
    base.write_text("plate;country\n1-abc-123;BE\n")
    assert cli(admin, "watchlist", "load", "--list", "1", str(base), "--why", "base") == 0
    extra = tmp_path / "extra.csv"
    extra.write_text("kenteken;state;expiry;colour\n8-new-888;be;2099-12-31;red\n")
    assert cli(admin, "watchlist", "delta", "--list", "1", "--add-file", str(extra),
               "--why", "from the national export") == 0
    (matched,) = admin.store.snapshot.match(["8NEW888"], ["BE"], None, None)
    entry = matched.metadata(0)
    assert entry["country"] == "BE" and entry["colour"] == "red"
    assert entry["valid_until"] is not None


def test_refusals_carry_the_status_code_of_their_kind(admin: RunningAdmin, tmp_path: Path) -> None:
    from feblam.v1 import admin_pb2 as pb
    from feblam.v1 import admin_pb2_grpc

    channel = grpc.insecure_channel(f"127.0.0.1:{admin.port}")
    stub = admin_pb2_grpc.WatchlistAdminStub(channel)
    auth = [("authorization", f"Bearer {TOKEN}")]
    why = pb.ChangeReason(why="test")

    def code(call: Any, request: Any) -> grpc.StatusCode:
        with pytest.raises(grpc.RpcError) as err:
            call(request, metadata=auth, timeout=10)
        return err.value.code()

    # A list that is not defined, or a version that is not kept: nothing by that name.
    assert code(stub.ShowList, pb.ShowListRequest(list_id=99)) == grpc.StatusCode.NOT_FOUND
    # Defined but never loaded: a delta or a rollback has nothing to change yet.
    delta = pb.ApplyDeltaRequest(list_id=1, add=[pb.DeltaEntry(plate="1ABC123", country="BE")],
                                 reason=why)
    assert code(stub.ApplyDelta, delta) == grpc.StatusCode.FAILED_PRECONDITION
    assert code(stub.Rollback, pb.RollbackRequest(list_id=1, reason=why)) == \
        grpc.StatusCode.FAILED_PRECONDITION
    base = tmp_path / "base.csv"
    base.write_text("plate;country\n1-abc-123;BE\n")
    assert cli(admin, "watchlist", "load", "--list", "1", str(base), "--why", "base") == 0
    assert code(stub.Rollback, pb.RollbackRequest(list_id=1, version=7, reason=why)) == \
        grpc.StatusCode.NOT_FOUND
    # A delta with a bad row is answered, not failed: refused whole, with the report.
    bad = pb.ApplyDeltaRequest(list_id=1, add=[pb.DeltaEntry(plate="", country="BE")], reason=why)
    answer = stub.ApplyDelta(bad, metadata=auth, timeout=10)
    assert not answer.applied and answer.report.rejected == 1 and answer.report.refused
    # A file that is not there is the request's own fault.
    missing = pb.LoadListRequest(list_id=1, source=pb.ListSource(server_path=str(tmp_path / "no.csv")),
                                 reason=why)
    assert code(stub.LoadList, missing) == grpc.StatusCode.INVALID_ARGUMENT
    channel.close()
