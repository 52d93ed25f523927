"""Configuration: defaults, then the TOML file, then FEBLAM_* environment, then flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from feblam.service.config import ConfigError, GatewayConfig, ServiceConfig, load_config


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "feblam.toml"
    path.write_text('[engine]\nlisten = "127.0.0.1:7000"\nretro_hours = 6\nreflection = true\n'
                    '[engine.lists]\n"1" = "stolen.csv"\n'
                    '[gateway]\nlisten = "127.0.0.1:7100"\n')
    env = {"FEBLAM_LISTEN": "127.0.0.1:7001", "FEBLAM_MAX_INFLIGHT_READS": "5000",
           "FEBLAM_ADMIN_TOKEN": "s3cret", "FEBLAM_GATEWAY_DB": "/tmp/g.db",
           "FEBLAM_GATEWAY_TOKEN": "publish-secret", "FEBLAM_GATEWAY_PUBLISHER_TOKEN": "publish-secret"}
    config = load_config(ServiceConfig, path, env, {"retro_hours": 2.5, "gateway": None})
    assert config.listen == "127.0.0.1:7001"
    assert config.retro_hours == 2.5 and config.reflection is True
    assert config.max_inflight_reads == 5000 and config.lists == {"1": "stolen.csv"}
    assert config.admin_tokens == {"admin": "s3cret"}
    assert config.gateway == ServiceConfig().gateway
    assert config.gateway_token == "publish-secret"
    gateway = load_config(GatewayConfig, path, env)
    assert gateway.listen == "127.0.0.1:7100" and gateway.db == "/tmp/g.db"
    assert gateway.publisher_tokens == {"engine": "publish-secret"}


def test_bad_values_name_their_source(tmp_path: Path) -> None:
    path = tmp_path / "feblam.toml"
    path.write_text('[engine]\nretro_hourz = 6\n')
    with pytest.raises(ConfigError, match="unknown key 'retro_hourz'"):
        load_config(ServiceConfig, path, {})
    with pytest.raises(ConfigError, match="FEBLAM_REFLECTION"):
        load_config(ServiceConfig, None, {"FEBLAM_REFLECTION": "maybe"})
    with pytest.raises(ConfigError, match="--max-batch-reads"):
        load_config(ServiceConfig, None, {}, {"max_batch_reads": "many"})


@pytest.mark.parametrize("table, says", [
    ('[engine.integrator_tokens]\n"vendor-a" = "same"\n"vendor-b" = "same"\n', "share a token"),
    ('[engine]\ntls_cert = "server.pem"\n', "TLS needs both tls_cert and tls_key"),
])
def test_serve_refuses_settings_it_cannot_start_with_in_one_line(tmp_path: Path, table: str,
                                                                 says: str) -> None:
    config = tmp_path / "feblam.toml"
    config.write_text('[engine]\nlisten = "127.0.0.1:0"\nadmin_listen = ""\ngateway = ""\n'
                      f'data_dir = "{tmp_path / "data"}"\n' + table.replace("[engine]\n", ""))
    done = subprocess.run([sys.executable, "-m", "feblam", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 78
    assert says in done.stderr and "Traceback" not in done.stderr


def test_serve_on_a_taken_port_says_so_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "feblam.toml"
        config.write_text(f'[engine]\nlisten = "127.0.0.1:{port}"\nadmin_listen = ""\n'
                          f'gateway = ""\ndata_dir = "{tmp_path / "data"}"\n')
        done = subprocess.run([sys.executable, "-m", "feblam", "serve", "--config", str(config)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 74
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
