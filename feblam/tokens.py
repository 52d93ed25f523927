"""Bearer tokens: how ops tools, integrators, engines and dispatch consoles prove who they are to
FEBLAM's services."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def bearer(token: str) -> tuple[tuple[str, str], ...] | None:
    """Call metadata offering a bearer token; None when there is none to offer."""
    return (("authorization", f"Bearer {token}"),) if token else None


def match_bearer(metadata: Iterable[tuple[str, Any]] | None, tokens: Mapping[str, T]) -> T | None:
    """What `tokens` holds for the call's `authorization: Bearer ...` token, or None.

    Every configured token is compared in constant time, so timing tells nothing about them.
    """
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            offered = value[len("Bearer "):].encode()
            found: T | None = None
            for token, held in tokens.items():
                if hmac.compare_digest(offered, token.encode()):
                    found = held
            return found
    return None
