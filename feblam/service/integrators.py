"""Who sends a call's reads: camera integrators, named by their token or their certificate.

Read ids are unique per integrator only, so the engine must know whose reads a batch holds:
two integrators may both number their reads from 1. The name scopes the read ids (dedupe and
hit ids) and travels with every hit, whose image is the integrator's to serve.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from feblam.service.errors import Unauthenticated
from feblam.tokens import match_bearer


class IntegratorAccess:
    """How an Ingest call is tied to an integrator.

    - With `tokens` (name = token): the call's bearer token names it; a call without a valid
      token is refused.
    - Else, with `certificates` (mutual TLS): the client certificate's subject common name.
    - Else every call is one unnamed integrator (an engine serving a single integrator, or the
      embedded demo).
    """

    def __init__(self, tokens: Mapping[str, str] | None = None, certificates: bool = False) -> None:
        tokens = dict(tokens or {})
        by_token: dict[str, str] = {}
        for name, token in tokens.items():
            if not name.strip() or not token:
                raise ValueError("integrator_tokens needs a name and a token for every integrator")
            if token in by_token:
                raise ValueError(f"integrators {by_token[token]} and {name} share a token")
            by_token[token] = name
        self._by_token = by_token
        self.certificates = certificates

    @property
    def required(self) -> bool:
        return bool(self._by_token) or self.certificates

    def identify(self, context: grpc.aio.ServicerContext) -> str:
        """The calling integrator's name ("" when integrators are not told apart)."""
        if self._by_token:
            name = match_bearer(context.invocation_metadata(), self._by_token)
            if name is None:
                raise Unauthenticated("an integrator token is needed (authorization: Bearer ...)")
            return name
        if self.certificates:
            names = context.auth_context().get("x509_common_name") or []
            if not names or not names[0]:
                raise Unauthenticated("the client certificate names no integrator (subject CN)")
            return bytes(names[0]).decode("utf-8", "replace")
        return ""
