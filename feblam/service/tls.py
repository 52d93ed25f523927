"""Server and channel credentials from certificate files (TLS, and mutual TLS with a client CA)."""

from __future__ import annotations

from pathlib import Path

import grpc


def server_credentials(cert: str, key: str, client_ca: str = "") -> grpc.ServerCredentials | None:
    """None when no certificate is configured (plain text, loopback use)."""
    if not cert and not key:
        if client_ca:
            raise ValueError("tls_client_ca needs tls_cert and tls_key")
        return None
    if not cert or not key:
        raise ValueError("TLS needs both tls_cert and tls_key")
    pair = [(Path(key).read_bytes(), Path(cert).read_bytes())]
    if client_ca:
        return grpc.ssl_server_credentials(pair, root_certificates=Path(client_ca).read_bytes(),
                                           require_client_auth=True)
    return grpc.ssl_server_credentials(pair)


def channel_credentials(ca: str = "", cert: str = "",
                        key: str = "") -> grpc.ChannelCredentials | None:
    """None for a plain-text channel; a CA alone gives TLS, a cert and key add client auth."""
    if not ca and not cert:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=Path(ca).read_bytes() if ca else None,
        private_key=Path(key).read_bytes() if key else None,
        certificate_chain=Path(cert).read_bytes() if cert else None)


def bind(server: grpc.aio.Server, address: str, credentials: grpc.ServerCredentials | None) -> int:
    """Binds an address (port 0 picks a free one) and returns the port; OSError if it cannot."""
    try:
        if credentials is None:
            return int(server.add_insecure_port(address))
        return int(server.add_secure_port(address, credentials))
    except RuntimeError:   # gRPC says only that binding failed
        raise OSError(f"cannot listen on {address}: the port is taken, or the address is "
                      "not this host's") from None
