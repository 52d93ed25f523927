"""Engine and gateway configuration: defaults, then a TOML file, then FEBLAM_* environment, then flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names its source and key."""


@dataclass
class ServiceConfig:
    """Everything `feblam serve` needs; every field is a key of the file's [engine] table."""

    listen: str = "127.0.0.1:50051"
    # The admin service runs on its own port with its own tokens (name = token).
    admin_listen: str = "127.0.0.1:50052"
    admin_tokens: dict[str, str] = field(default_factory=dict)
    # Camera integrators (name = token). Read ids are unique per integrator, so each call's
    # token names whose reads it carries; without tokens, a client certificate's common name
    # does (with tls_client_ca); with neither, all callers are one integrator.
    integrator_tokens: dict[str, str] = field(default_factory=dict)
    # host:port for /metrics; empty: no metrics endpoint.
    metrics_listen: str = ""
    # The Hit Gateway; empty: hits stay in the outbox.
    gateway: str = "127.0.0.1:50061"
    gateway_ca: str = ""
    gateway_cert: str = ""
    gateway_key: str = ""
    # The bearer token the engine publishes hits with, when the gateway asks for one
    # (FEBLAM_GATEWAY_TOKEN keeps it out of files).
    gateway_token: str = ""
    data_dir: str = "feblam-data"
    definitions: str = ""
    # list id -> entry file loaded at start; health turns SERVING once all are loaded.
    lists: dict[str, str] = field(default_factory=dict)
    zones: str = ""
    cameras: str = ""
    require_known_camera: bool = False
    retro_hours: float = 24.0
    # Reads of the retroactive window kept at most; the window is the shorter of the two.
    retro_max_reads: int = 2_000_000
    max_inflight_reads: int = 100_000
    # Reads one integrator may have in flight (0: only max_inflight_reads applies).
    max_inflight_reads_per_integrator: int = 0
    max_batch_reads: int = 10_000
    stream_window: int = 4
    max_read_age_s: float = 7 * 86400.0
    max_future_s: float = 300.0
    dedupe_reads: int = 2_000_000
    reflection: bool = False
    tls_cert: str = ""
    tls_key: str = ""
    # With a client CA, every client must present a certificate it signed (mutual TLS).
    tls_client_ca: str = ""
    outbox_sync: str = "full"
    sender_batch: int = 500
    # Seconds between deliveries to the gateway while they are not full (sender_batch). Each
    # delivery costs the gateway a synced transaction; 3 ms adds at most that to a hit's way
    # and, under load, lets one delivery carry the hits of several batches (1 ms: 0.19-0.22 ms
    # of gateway CPU per 1,000-read batch in the service bench; 3 ms: 0.16-0.17).
    sender_linger_s: float = 0.003
    # Threads that read and match batches beside the event loop (the core's intake worker).
    match_threads: int = 1
    # Seconds between folds of delta overlays into the base indexes.
    fold_interval_s: float = 30.0
    grace_s: float = 10.0
    log_level: str = "info"


@dataclass
class GatewayConfig:
    """Everything `feblam gateway` needs; every field is a key of the file's [gateway] table."""

    listen: str = "127.0.0.1:50061"
    db: str = "feblam-data/gateway.db"
    synchronous: str = "full"
    metrics_listen: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    subscriber_queue: int = 10_000
    # Dispatch consoles: token -> the recipients it may speak for, comma-separated ("*": all).
    # Empty: consoles are not authenticated (embedded demo deployments only).
    console_tokens: dict[str, str] = field(default_factory=dict)
    # Engines that may publish hits (name = token). Empty: Publish trusts whoever reaches it,
    # which only mutual TLS (tls_client_ca) or a private network should allow.
    publisher_tokens: dict[str, str] = field(default_factory=dict)
    grace_s: float = 5.0
    log_level: str = "info"


C = TypeVar("C", ServiceConfig, GatewayConfig)


def _coerce(name: str, value: Any, default: Any, source: str) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return lowered in ("1", "true", "yes", "on")
            if not isinstance(value, bool):
                raise ValueError(value)
            return value
        if isinstance(default, int):
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if isinstance(default, dict):
            if not isinstance(value, Mapping):
                raise ValueError(value)
            return {str(k): str(v) for k, v in value.items()}
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: '{name}' must be a {type(default).__name__}, "
                          f"not {value!r}") from None


def load_config(cls: type[C], path: str | Path | None = None,
                env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> C:
    """Defaults < file table ([engine] or [gateway]) < FEBLAM_<KEY> environment < overrides."""
    config = cls()
    section = "engine" if cls is ServiceConfig else "gateway"
    defaults = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    if path:
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        for key, value in table.items():
            if key not in defaults:
                raise ConfigError(f"{path}: [{section}] has unknown key '{key}'")
            setattr(config, key, _coerce(key, value, defaults[key], str(path)))
    env = os.environ if env is None else env
    prefix = "FEBLAM_GATEWAY_" if cls is GatewayConfig else "FEBLAM_"
    for key, default in defaults.items():
        if isinstance(default, dict):
            continue
        name = prefix + key.upper()
        if name in env:
            setattr(config, key, _coerce(key, env[name], default, name))
    # One token each from the environment, so that secrets stay out of files.
    table, variable, holder = (
        ("admin_tokens", "FEBLAM_ADMIN_TOKEN", "admin") if cls is ServiceConfig
        else ("publisher_tokens", "FEBLAM_GATEWAY_PUBLISHER_TOKEN", "engine"))
    if env.get(variable):
        setattr(config, table, {**getattr(config, table), holder: env[variable]})
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in defaults:
            raise ConfigError(f"unknown option '{key}'")
        setattr(config, key, _coerce(key, value, defaults[key], f"--{key.replace('_', '-')}"))
    return config
