"""`feblam watchlist ...` and `feblam zones ...`: ops commands against a running engine's admin
service, and `feblam watchlist check`, which validates a file offline.

Exit codes follow sysexits: 0 done, 65 bad data (file refused, delta rejected), 66 no such file,
69 engine unreachable, 77 not authorised, 64 wrong usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EX_OK, EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_UNAVAILABLE, EX_NOPERM = 0, 64, 65, 66, 69, 77
DEFAULT_SERVER = "127.0.0.1:50052"


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=os.environ.get("FEBLAM_ADMIN_ADDRESS", DEFAULT_SERVER),
                        help="admin address of the engine (env FEBLAM_ADMIN_ADDRESS)")
    parser.add_argument("--token", default=None,
                        help="admin token (default: env FEBLAM_ADMIN_TOKEN)")
    parser.add_argument("--actor", default=os.environ.get("USER", ""),
                        help="operator recorded in the audit log")
    parser.add_argument("--ca", default=None, help="CA certificate to verify a TLS engine")
    parser.add_argument("--json", action="store_true", help="print JSON")


def add_parsers(sub: Any) -> None:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    watchlist = sub.add_parser("watchlist", help="load, change, inspect and roll back watchlists",
                               formatter_class=fmt)
    verbs = watchlist.add_subparsers(dest="verb", required=True)

    check = verbs.add_parser("check", help="validate a file offline, without loading it",
                             formatter_class=fmt)
    check.add_argument("file")
    check.add_argument("--definitions", help="list definitions (TOML), for the list's limit")
    check.add_argument("--list", type=int, dest="list_id", help="list id in --definitions")
    check.add_argument("--json", action="store_true", help="print JSON")

    load = verbs.add_parser("load", help="load a new version of a list", formatter_class=fmt)
    load.add_argument("--list", type=int, dest="list_id", required=True)
    load.add_argument("file")
    load.add_argument("--why", required=True, help="reason, recorded in the audit log")
    load.add_argument("--server-path", action="store_true",
                      help="FILE is a path on the engine's machine (not sent)")
    _server_options(load)

    delta = verbs.add_parser("delta", help="add, remove or change entries", formatter_class=fmt)
    delta.add_argument("--list", type=int, dest="list_id", required=True)
    delta.add_argument("--add", action="append", default=[], metavar="PLATE[:COUNTRY]",
                       help="entry to add (repeatable)")
    delta.add_argument("--add-file", help="delimited file of entries to add")
    delta.add_argument("--remove", action="append", default=[], metavar="PLATE[:COUNTRY]",
                       help="plate to take off the list (repeatable)")
    delta.add_argument("--reason", default="", help="reason field of added entries")
    delta.add_argument("--reference", default="", help="reference field of added entries")
    delta.add_argument("--valid-until", default="", help="end of validity of added entries")
    delta.add_argument("--why", required=True, help="reason, recorded in the audit log")
    _server_options(delta)

    listing = verbs.add_parser("list", help="every list and its serving version",
                               formatter_class=fmt)
    _server_options(listing)

    show = verbs.add_parser("show", help="one list's definition and kept versions",
                            formatter_class=fmt)
    show.add_argument("--list", type=int, dest="list_id", required=True)
    _server_options(show)

    diff = verbs.add_parser("diff", help="entries added and removed between two versions",
                            formatter_class=fmt)
    diff.add_argument("--list", type=int, dest="list_id", required=True)
    diff.add_argument("--from", type=int, dest="from_version", required=True)
    diff.add_argument("--to", type=int, dest="to_version", default=0, help="0: serving version")
    _server_options(diff)

    rollback = verbs.add_parser("rollback", help="serve an earlier kept version again",
                                formatter_class=fmt)
    rollback.add_argument("--list", type=int, dest="list_id", required=True)
    rollback.add_argument("--version", type=int, default=0, help="0: the previous version")
    rollback.add_argument("--why", required=True)
    _server_options(rollback)

    zones = sub.add_parser("zones", help="load zone rules and the camera registry",
                           formatter_class=fmt)
    zverbs = zones.add_subparsers(dest="verb", required=True)
    zload = zverbs.add_parser("load", help="replace the zone rules", formatter_class=fmt)
    zload.add_argument("file", help="zones (TOML)")
    zload.add_argument("--cameras", help="camera registry (CSV)")
    zload.add_argument("--why", required=True)
    _server_options(zload)


def _print(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, indent=2, sort_keys=True) if getattr(args, "json", False) else text)


def _report_text(report: dict[str, Any]) -> str:
    lines = [f"{report['source']}: {report['rows']} rows, {report['valid']} valid, "
             f"{report['rejected']} rejected"]
    if report.get("refused"):
        lines.append(f"REFUSED: {report['refused']}")
    for reason, count in sorted(report.get("rejected_by_reason", {}).items()):
        lines.append(f"  {count:>8}  {reason}")
    for row in report.get("rejected_rows", [])[:20]:
        lines.append(f"  line {row['line']}: {row['field']}: {row['reason']}")
    return "\n".join(lines)


def run_check(args: argparse.Namespace) -> int:
    from feblam.watchlists.definitions import (
        Category, DefinitionError, ListDefinition, load_definitions,
    )
    from feblam.watchlists.files import EntryFileError, load_entries

    limit_of: ListDefinition | None = None
    if args.definitions:
        try:
            definitions = load_definitions(args.definitions)
        except (DefinitionError, OSError) as exc:
            print(f"feblam: {exc}", file=sys.stderr)
            return EX_DATAERR
        if args.list_id is not None:
            if args.list_id not in definitions:
                print(f"feblam: no list {args.list_id} in {args.definitions}", file=sys.stderr)
                return EX_USAGE
            limit_of = definitions[args.list_id]
    if not Path(args.file).is_file():
        print(f"feblam: {args.file}: no such file", file=sys.stderr)
        return EX_NOINPUT
    try:
        _, report = load_entries(args.file)
    except EntryFileError as exc:
        print(f"feblam: {exc}", file=sys.stderr)
        return EX_DATAERR
    if limit_of is None:
        limit_of = ListDefinition(0, "check", category=Category.OTHER)
    report.refused = limit_of.refusal(report.rows, report.valid, report.rejected_count)
    data = report.to_dict()
    _print(args, data, _report_text(data))
    return EX_DATAERR if report.refused else EX_OK


def _spec(text: str) -> tuple[str, str]:
    plate, _, country = text.partition(":")
    return plate, country


def run_remote(args: argparse.Namespace) -> int:
    import grpc
    from google.protobuf.json_format import MessageToDict

    from feblam.v1 import admin_pb2 as pb
    from feblam.v1 import admin_pb2_grpc as pb_grpc

    token = args.token or os.environ.get("FEBLAM_ADMIN_TOKEN", "")
    if not token:
        print("feblam: an admin token is needed (--token or FEBLAM_ADMIN_TOKEN)", file=sys.stderr)
        return EX_NOPERM
    if args.ca:
        channel = grpc.secure_channel(args.server, grpc.ssl_channel_credentials(
            Path(args.ca).read_bytes()))
    else:
        channel = grpc.insecure_channel(args.server, options=[
            ("grpc.max_send_message_length", 1 << 30),
            ("grpc.max_receive_message_length", 1 << 30)])
    stub = pb_grpc.WatchlistAdminStub(channel)  # type: ignore[no-untyped-call]
    metadata = [("authorization", f"Bearer {token}")]
    if args.actor:
        metadata.append(("x-feblam-actor", args.actor))

    def source(path: str, on_server: bool = False) -> pb.ListSource:
        if on_server:
            return pb.ListSource(server_path=path, file_name=Path(path).name)
        return pb.ListSource(content=Path(path).read_bytes(), file_name=Path(path).name)

    def as_dict(message: Any) -> dict[str, Any]:
        data: dict[str, Any] = MessageToDict(message, preserving_proto_field_name=True,
                                             always_print_fields_with_no_presence=True)
        return data

    try:
        if args.command == "zones":
            if not Path(args.file).is_file():
                print(f"feblam: {args.file}: no such file", file=sys.stderr)
                return EX_NOINPUT
            request = pb.LoadZonesRequest(zones=source(args.file),
                                          reason=pb.ChangeReason(why=args.why))
            if args.cameras:
                request.cameras.CopyFrom(source(args.cameras))
            zones = stub.LoadZones(request, metadata=metadata, timeout=60)
            _print(args, as_dict(zones), f"zones loaded: {', '.join(zones.zones)}; "
                   f"{zones.cameras} cameras")
            return EX_OK
        verb = args.verb
        if verb == "load":
            if not args.server_path and not Path(args.file).is_file():
                print(f"feblam: {args.file}: no such file", file=sys.stderr)
                return EX_NOINPUT
            loaded = stub.LoadList(pb.LoadListRequest(
                list_id=args.list_id, source=source(args.file, args.server_path),
                reason=pb.ChangeReason(why=args.why)), metadata=metadata, timeout=600)
            data = as_dict(loaded)
            if loaded.loaded:
                v = loaded.version
                _print(args, data, f"list {v.list_id}: version {v.version} serving, "
                       f"{v.entries} entries ({v.rejected} rows rejected)")
                return EX_OK
            _print(args, data, _report_text(as_dict(loaded.report)))
            return EX_DATAERR
        if verb == "delta":
            add = [pb.DeltaEntry(plate=p, country=c, reason=args.reason,
                                 reference=args.reference, valid_until=args.valid_until)
                   for p, c in map(_spec, args.add)]
            if args.add_file:
                from feblam.watchlists.files import EntryFileError, map_columns, read_table

                try:
                    table, _, _ = read_table(args.add_file)
                    # The same header names a list file may use (kenteken, state, expiry, ...).
                    ours = {theirs: mine for mine, theirs in
                            map_columns(table, args.add_file).items()}
                except EntryFileError as exc:
                    print(f"feblam: {exc}", file=sys.stderr)
                    return EX_DATAERR
                for row in table.to_pylist():
                    known: dict[str, str] = {}
                    fields: dict[str, str] = {}
                    for name, value in row.items():
                        text = "" if value is None else str(value)
                        if name in ours:
                            known[ours[name]] = text
                        else:
                            fields[str(name)] = text
                    add.append(pb.DeltaEntry(
                        plate=known.get("plate", ""), country=known.get("country", ""),
                        reason=known.get("reason", ""), reference=known.get("reference", ""),
                        valid_from=known.get("valid_from", ""),
                        valid_until=known.get("valid_until", ""), fields=fields))
            remove = [pb.DeltaRemoval(plate=p, country=c) for p, c in map(_spec, args.remove)]
            if not add and not remove:
                print("feblam: a delta needs --add, --add-file or --remove", file=sys.stderr)
                return EX_USAGE
            applied = stub.ApplyDelta(pb.ApplyDeltaRequest(
                list_id=args.list_id, add=add, remove=remove,
                reason=pb.ChangeReason(why=args.why)), metadata=metadata, timeout=60)
            data = as_dict(applied)
            if applied.applied:
                v = applied.version
                _print(args, data, f"list {v.list_id}: version {v.version} serving, "
                       f"{len(add)} added, {applied.removed} removed")
                return EX_OK
            _print(args, data, _report_text(as_dict(applied.report)))
            return EX_DATAERR
        if verb == "list":
            lists = stub.ListLists(pb.ListListsRequest(), metadata=metadata, timeout=30)
            rows = []
            for item in lists.lists:
                d, s = item.definition, item.serving
                serving = (f"v{s.version} {s.entries} entries by {s.actor}" if s.version
                           else "nothing loaded")
                rows.append(f"{d.list_id:>5}  {d.name:<24} {d.category:<14} P{d.priority}  "
                            f"{serving}")
            _print(args, as_dict(lists), "\n".join(rows))
            return EX_OK
        if verb == "show":
            shown = stub.ShowList(pb.ShowListRequest(list_id=args.list_id), metadata=metadata,
                                  timeout=30)
            lines = [f"list {shown.definition.list_id} {shown.definition.name} "
                     f"(serving v{shown.serving_version})"]
            for v in shown.versions:
                lines.append(f"  v{v.version:<4} {v.origin:<8} {v.entries:>10} entries  "
                             f"{v.actor}: {v.why}")
            _print(args, as_dict(shown), "\n".join(lines))
            return EX_OK
        if verb == "diff":
            diffed = stub.DiffVersions(pb.DiffVersionsRequest(
                list_id=args.list_id, from_version=args.from_version,
                to_version=args.to_version), metadata=metadata, timeout=120)
            _print(args, as_dict(diffed), f"+{diffed.added} -{diffed.removed} "
                   f"={diffed.unchanged}")
            return EX_OK
        if verb == "rollback":
            rolled = stub.Rollback(pb.RollbackRequest(
                list_id=args.list_id, version=args.version,
                reason=pb.ChangeReason(why=args.why)), metadata=metadata, timeout=60)
            v = rolled.version
            _print(args, as_dict(rolled), f"list {v.list_id}: version {v.version} serving "
                   f"(content of v{v.parent})")
            return EX_OK
    except grpc.RpcError as exc:
        code = exc.code()
        print(f"feblam: {exc.details() or code.name}", file=sys.stderr)
        if code == grpc.StatusCode.UNAVAILABLE:
            return EX_UNAVAILABLE
        if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
            return EX_NOPERM
        if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT,
                    grpc.StatusCode.FAILED_PRECONDITION):
            return EX_DATAERR
        return 1
    finally:
        channel.close()
    return EX_USAGE


def run(args: argparse.Namespace) -> int:
    if args.command == "watchlist" and args.verb == "check":
        return run_check(args)
    return run_remote(args)
