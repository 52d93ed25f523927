"""`feblam serve`, `feblam gateway`, `feblam demo`: argument definitions and dispatch."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML configuration file")
    parser.add_argument("--listen", help="host:port to serve on")
    parser.add_argument("--metrics-listen", help="host:port for /metrics (empty: off)")
    parser.add_argument("--tls-cert", help="server certificate (PEM)")
    parser.add_argument("--tls-key", help="server private key (PEM)")
    parser.add_argument("--tls-client-ca", help="CA whose client certificates are required (mTLS)")
    parser.add_argument("--log-level", help="debug, info, warning, error")


def add_parsers(sub: Any) -> None:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    serve = sub.add_parser("serve", help="run the engine", formatter_class=fmt,
                           description="Run the engine. Settings come from defaults, then "
                           "--config's [engine] table, then FEBLAM_<KEY> variables, then flags.")
    _common(serve)
    serve.add_argument("--admin-listen", help="host:port of the watchlist admin service")
    serve.add_argument("--gateway", help="host:port of the Hit Gateway (empty: keep hits)")
    serve.add_argument("--data-dir", help="directory of the outbox and audit databases")
    serve.add_argument("--definitions", help="list definitions (TOML)")
    serve.add_argument("--list", action="append", default=[], metavar="ID=PATH",
                       help="entry file loaded at start for a list (repeatable)")
    serve.add_argument("--zones", help="zone rules (TOML)")
    serve.add_argument("--cameras", help="camera registry (CSV)")
    serve.add_argument("--retro-hours", type=float, help="window of retroactive matching")
    serve.add_argument("--reflection", action="store_true", default=None,
                       help="enable gRPC server reflection (needs grpcio-reflection)")
    gateway = sub.add_parser("gateway", help="run the reference Hit Gateway", formatter_class=fmt)
    _common(gateway)
    gateway.add_argument("--db", help="SQLite file of stored hits and decisions")
    demo = sub.add_parser("demo", formatter_class=fmt,
                          help="engine and gateway on embedded defaults with synthetic traffic")
    from feblam.service.demo import add_arguments as demo_arguments

    demo_arguments(demo)


def _overrides(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


async def _run_until_signal(server: Any, grace: float) -> None:
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace)


def run_serve(args: argparse.Namespace) -> int:
    from feblam.service.config import ConfigError, ServiceConfig, load_config
    from feblam.service.logs import configure
    from feblam.service.server import create_server

    overrides = _overrides(args, ("listen", "metrics_listen", "tls_cert", "tls_key",
                                  "tls_client_ca", "log_level", "admin_listen", "gateway",
                                  "data_dir", "definitions", "zones", "cameras", "retro_hours",
                                  "reflection"))
    try:
        config = load_config(ServiceConfig, args.config, overrides=overrides)
        for item in args.list:
            list_id, sep, path = item.partition("=")
            if not sep or not list_id.isdigit():
                raise ConfigError(f"--list {item!r}: expected ID=PATH")
            config.lists[list_id] = path
    except ConfigError as exc:
        print(f"feblam serve: {exc}", file=sys.stderr)
        return 78
    configure(config.log_level)

    async def main() -> None:
        server, _ = create_server(config)
        await _run_until_signal(server, config.grace_s)

    return _start("serve", main)


def run_gateway(args: argparse.Namespace) -> int:
    from feblam.gateway.server import create_gateway_server
    from feblam.service.config import ConfigError, GatewayConfig, load_config
    from feblam.service.logs import configure

    overrides = _overrides(args, ("listen", "metrics_listen", "tls_cert", "tls_key",
                                  "tls_client_ca", "log_level", "db"))
    try:
        config = load_config(GatewayConfig, args.config, overrides=overrides)
    except ConfigError as exc:
        print(f"feblam gateway: {exc}", file=sys.stderr)
        return 78
    configure(config.log_level)

    async def main() -> None:
        server, _ = create_gateway_server(config)
        await _run_until_signal(server, config.grace_s)

    return _start("gateway", main)


def _start(command: str, main: Callable[[], Coroutine[Any, Any, None]]) -> int:
    """Runs a server; a setting it cannot start with (a certificate, a token table, a list
    file) ends it with one line saying why and a sysexits code, not a traceback."""
    try:
        asyncio.run(main())
    except ValueError as exc:
        print(f"feblam {command}: cannot start: {exc}", file=sys.stderr)
        return 78   # EX_CONFIG
    except OSError as exc:
        print(f"feblam {command}: cannot start: {exc}", file=sys.stderr)
        return 66 if isinstance(exc, FileNotFoundError) else 74   # EX_NOINPUT, EX_IOERR
    return 0


def run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return run_serve(args)
    if args.command == "gateway":
        return run_gateway(args)
    if args.command == "demo":
        from feblam.service.demo import run as run_demo

        return run_demo(args)
    raise SystemExit(f"feblam {args.command}: unknown command")
