"""Domain failures of the engine; one interceptor turns each into its gRPC status."""

from __future__ import annotations


class EngineError(Exception):
    """Base of the engine's domain failures; the message is safe to show to clients."""


class NotReady(EngineError):
    """Watchlists are not loaded yet (or the engine is shutting down)."""


class Overloaded(EngineError):
    """The in-flight limit is reached; the caller should retry after retry_after_ms."""

    def __init__(self, message: str, retry_after_ms: int, batch_id: str = "") -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms
        self.batch_id = batch_id  # the refused batch's, when it was read before being refused


class BatchTooLarge(EngineError):
    """A batch holds more reads than the engine takes in one batch."""


class BadBatch(EngineError):
    """The request is not a well-formed ReadBatch."""


class Unauthenticated(EngineError):
    """The call does not say which integrator sends it, where the engine requires that."""
