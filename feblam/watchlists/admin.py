"""The WatchlistAdmin gRPC service: ops teams load, change and roll back lists on a running engine.

Thin servicer: protobuf in, a WatchlistStore call off the event loop, protobuf out. Callers are
authenticated by a bearer token of their own (not the ingest credential); the token's name and the
operator named in `x-feblam-actor` are recorded in the audit log.
"""

from __future__ import annotations

import asyncio
import contextvars
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import grpc
import pyarrow as pa
import pyarrow.compute as pc

from feblam.service.tls import bind
from feblam.tokens import match_bearer
from feblam.v1 import admin_pb2 as pb
from feblam.v1 import admin_pb2_grpc as pb_grpc
from feblam.watchlists.definitions import ListDefinition
from feblam.watchlists.files import EntryFileError, ValidationReport, entries_from_rows, load_entries
from feblam.watchlists.store import (NothingToChange, UnknownList, VersionInfo, WatchlistError,
                                     WatchlistStore)
from feblam.watchlists.zones import ZoneError, ZoneRules, load_cameras, load_zones

ACTOR_HEADER = "x-feblam-actor"
# Name of the admin token the current call presented; set by TokenAuthInterceptor.
_token_name: contextvars.ContextVar[str] = contextvars.ContextVar("feblam_token_name",
                                                                  default="admin")


def report_pb(report: ValidationReport) -> pb.ValidationReport:
    return pb.ValidationReport(
        source=report.source, checksum=report.checksum, rows=report.rows, valid=report.valid,
        rejected=report.rejected_count, refused=report.refused or "",
        rejected_by_reason=dict(report.rejected_by_reason),
        rejected_rows=[pb.RejectedRow(line=r.line, field=r.field, reason=r.reason)
                       for r in report.rejected],
    )


def version_pb(info: VersionInfo) -> pb.ListVersion:
    return pb.ListVersion(
        list_id=info.list_id, version=info.version, origin=info.origin, source=info.source,
        checksum=info.checksum, entries=info.entries, rejected=info.rejected, actor=info.actor,
        why=info.why, created_utc=info.created_utc, parent=info.parent or 0)


def definition_pb(d: ListDefinition) -> pb.ListDefinition:
    return pb.ListDefinition(
        list_id=d.id, name=d.name, category=d.category.value, priority=d.priority,
        action=d.action.value, covert=d.covert, recipients=list(d.recipients), kinds=list(d.kinds),
        min_score=d.min_score, near_max_confidence=d.near_max_confidence,
        fuzzy_max_confidence=d.fuzzy_max_confidence,
        suppression_s=d.suppression_s, zone=d.zone or "")


def _entry_keys(table: pa.Table) -> pa.Array:
    keys = pc.binary_join_element_wise(table.column("plate"), table.column("country"), "|")
    return pc.unique(keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys)


class _Staged:
    """A source file on the engine's disk: the path given, or inline bytes in a temporary file."""

    def __init__(self, source: pb.ListSource) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        which = source.WhichOneof("source")
        if which == "server_path":
            self.path = Path(source.server_path)
        elif which == "content":
            self._tmp = tempfile.TemporaryDirectory(prefix="feblam-upload-")
            name = Path(source.file_name or "upload.csv").name
            self.path = Path(self._tmp.name) / name
            self.path.write_bytes(source.content)
        else:
            raise WatchlistError("the request names no file (server_path or content)")

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


class WatchlistAdminServicer(pb_grpc.WatchlistAdminServicer):
    def __init__(self, store: WatchlistStore, zone_rules: ZoneRules | None = None,
                 on_zones: Callable[[ZoneRules], None] | None = None) -> None:
        self.store = store
        self.zone_rules = zone_rules or ZoneRules()
        self._on_zones = on_zones

    @staticmethod
    def _actor(context: grpc.aio.ServicerContext) -> str:
        metadata = dict(context.invocation_metadata() or ())
        token_name = _token_name.get()
        operator = str(metadata.get(ACTOR_HEADER, "")).strip()
        return f"{token_name}/{operator}" if operator else token_name

    @staticmethod
    async def _fail(context: grpc.aio.ServicerContext, exc: Exception) -> None:
        code = grpc.StatusCode.INVALID_ARGUMENT   # a file or delta refused, a bad request
        if isinstance(exc, UnknownList):
            code = grpc.StatusCode.NOT_FOUND
        elif isinstance(exc, NothingToChange):
            code = grpc.StatusCode.FAILED_PRECONDITION
        await context.abort(code, str(exc))

    async def LoadList(self, request: pb.LoadListRequest,
                       context: grpc.aio.ServicerContext) -> pb.LoadListResponse:
        actor = self._actor(context)
        try:
            with _Staged(request.source) as path:
                if request.check_only:
                    _, report = await asyncio.to_thread(load_entries, path)
                    return pb.LoadListResponse(loaded=False, report=report_pb(report))
                info = await asyncio.to_thread(self.store.load, request.list_id, path,
                                               actor=actor, why=request.reason.why)
                return pb.LoadListResponse(loaded=True, version=version_pb(info))
        except WatchlistError as exc:
            if exc.report is not None:
                return pb.LoadListResponse(loaded=False, report=report_pb(exc.report))
            await self._fail(context, exc)
        except EntryFileError as exc:
            await self._fail(context, exc)
        raise AssertionError("unreachable")

    async def ApplyDelta(self, request: pb.ApplyDeltaRequest,
                         context: grpc.aio.ServicerContext) -> pb.ApplyDeltaResponse:
        actor = self._actor(context)
        rows: list[dict[str, Any]] = []
        for entry in request.add:
            row: dict[str, Any] = dict(entry.fields)
            row.update(plate=entry.plate, country=entry.country, reason=entry.reason or None,
                       reference=entry.reference or None, valid_from=entry.valid_from or None,
                       valid_until=entry.valid_until or None)
            rows.append(row)
        table, report = entries_from_rows(rows)
        if report.rejected_count:
            report.refused = "a delta is applied whole or not at all"
            self.store.audit.record("refusal", list_id=request.list_id, actor=actor,
                                    why=request.reason.why, outcome="refused",
                                    detail={"action": "delta", "reason": report.refused,
                                            "rejected_by_reason": dict(report.rejected_by_reason)})
            return pb.ApplyDeltaResponse(applied=False, report=report_pb(report))
        removals = [(r.plate, r.country) for r in request.remove]
        try:
            before = self.store.serving(request.list_id)
            info = await asyncio.to_thread(
                self.store.delta, request.list_id, add=table if table.num_rows else None,
                remove=removals, actor=actor, why=request.reason.why)
        except WatchlistError as exc:
            await self._fail(context, exc)
            raise AssertionError("unreachable") from None
        removed = (before.active_entries + table.num_rows - info.entries) if before else 0
        return pb.ApplyDeltaResponse(applied=True, version=version_pb(info),
                                     report=report_pb(report), removed=removed)

    async def ListLists(self, request: pb.ListListsRequest,
                        context: grpc.aio.ServicerContext) -> pb.ListListsResponse:
        items = []
        for list_id, definition in sorted(self.store.definitions.items()):
            serving = self.store.serving(list_id)
            item = pb.ListListsResponse.Item(definition=definition_pb(definition))
            if serving is not None:
                item.serving.CopyFrom(version_pb(serving.info))
            items.append(item)
        return pb.ListListsResponse(lists=items)

    async def ShowList(self, request: pb.ShowListRequest,
                       context: grpc.aio.ServicerContext) -> pb.ShowListResponse:
        try:
            versions = self.store.versions(request.list_id)
        except WatchlistError as exc:
            await self._fail(context, exc)
            raise AssertionError("unreachable") from None
        serving = self.store.serving(request.list_id)
        return pb.ShowListResponse(
            definition=definition_pb(self.store.definitions[request.list_id]),
            versions=[version_pb(v) for v in versions],
            serving_version=serving.info.version if serving else 0)

    async def DiffVersions(self, request: pb.DiffVersionsRequest,
                           context: grpc.aio.ServicerContext) -> pb.DiffVersionsResponse:
        try:
            old = self.store.kept(request.list_id, request.from_version)
            new = self.store.kept(request.list_id, request.to_version or None)
        except WatchlistError as exc:
            await self._fail(context, exc)
            raise AssertionError("unreachable") from None

        def diff() -> tuple[int, int, int]:
            a, b = _entry_keys(old.entries_table()), _entry_keys(new.entries_table())
            unchanged = int(pc.sum(pc.is_in(b, value_set=a)).as_py() or 0)
            return len(b) - unchanged, len(a) - unchanged, unchanged

        added, removed, unchanged = await asyncio.to_thread(diff)
        return pb.DiffVersionsResponse(added=added, removed=removed, unchanged=unchanged)

    async def Rollback(self, request: pb.RollbackRequest,
                       context: grpc.aio.ServicerContext) -> pb.RollbackResponse:
        try:
            info = await asyncio.to_thread(self.store.rollback, request.list_id,
                                           request.version or None, actor=self._actor(context),
                                           why=request.reason.why)
        except WatchlistError as exc:
            await self._fail(context, exc)
            raise AssertionError("unreachable") from None
        return pb.RollbackResponse(version=version_pb(info))

    async def LoadZones(self, request: pb.LoadZonesRequest,
                        context: grpc.aio.ServicerContext) -> pb.LoadZonesResponse:
        actor = self._actor(context)
        try:
            with _Staged(request.zones) as zones_path:
                zones = load_zones(zones_path)
            cameras = self.zone_rules.cameras
            if request.cameras.WhichOneof("source"):
                with _Staged(request.cameras) as cameras_path:
                    cameras = load_cameras(cameras_path)
        except (ZoneError, WatchlistError, OSError, UnicodeDecodeError) as exc:
            self.store.audit.record("refusal", actor=actor, why=request.reason.why,
                                    outcome="refused", detail={"action": "zones",
                                                               "reason": str(exc)})
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise AssertionError("unreachable") from None
        unknown = sorted({i for z in zones.values() for i in z.lists | z.exemptions}
                         - set(self.store.definitions))
        if unknown:
            message = f"zones name undefined list ids: {', '.join(map(str, unknown))}"
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
        self.zone_rules = ZoneRules(zones, cameras)
        if self._on_zones is not None:
            self._on_zones(self.zone_rules)
        self.store.audit.record("zones", actor=actor, why=request.reason.why, outcome="applied",
                                detail={"zones": sorted(zones), "cameras": len(cameras)})
        return pb.LoadZonesResponse(zones=sorted(zones), cameras=len(cameras))


class TokenAuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Admits calls bearing one of the configured admin tokens; names the token for the audit."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        # token -> name; compared in constant time.
        self._tokens = dict(tokens)

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any,
    ) -> Any:
        name = match_bearer(details.invocation_metadata, self._tokens)
        if name is None:
            async def deny(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                    "a valid admin token is needed (authorization: Bearer ...)")

            return grpc.unary_unary_rpc_method_handler(deny)
        handler = await continuation(details)
        return _with_token_name(handler, name)


def _with_token_name(handler: Any, name: str) -> Any:
    if handler is None or handler.unary_unary is None:
        return handler
    inner = handler.unary_unary

    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        # Runs in the call's own task, so the name cannot leak to other calls.
        _token_name.set(name)
        return await inner(request, context)

    return grpc.unary_unary_rpc_method_handler(
        call, request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer)


# Whole watchlist files may be sent inline; 10M rows of CSV are a few hundred MB.
MAX_ADMIN_MESSAGE_BYTES = 1 << 30


def admin_server(
    servicer: WatchlistAdminServicer, *, tokens: Mapping[str, str], address: str = "127.0.0.1:0",
    credentials: grpc.ServerCredentials | None = None,
) -> tuple[grpc.aio.Server, int]:
    """The admin service on its own port and tokens, bound but not started: (server, port)."""
    if not tokens:
        raise ValueError("the admin service needs at least one token")
    server = grpc.aio.server(
        interceptors=[TokenAuthInterceptor(tokens)],
        options=[("grpc.max_receive_message_length", MAX_ADMIN_MESSAGE_BYTES),
                 ("grpc.max_send_message_length", MAX_ADMIN_MESSAGE_BYTES)],
    )
    pb_grpc.add_WatchlistAdminServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    return server, bind(server, address, credentials)


async def create_admin_server(
    servicer: WatchlistAdminServicer, *, tokens: Mapping[str, str], address: str = "127.0.0.1:0",
    credentials: grpc.ServerCredentials | None = None,
) -> tuple[grpc.aio.Server, int]:
    """A started admin server on its own port; returns (server, bound port)."""
    server, port = admin_server(servicer, tokens=tokens, address=address, credentials=credentials)
    await server.start()
    return server, port
