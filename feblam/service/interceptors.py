"""One interceptor maps the engine's domain failures to gRPC status codes.

Clients get a clear message and, when overloaded, a `retry-after-ms` trailer; the log gets the
detail of anything unexpected (never a plate: domain messages carry none).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from feblam.hits.outbox import OutboxClosed, OutboxWriteError
from feblam.service.errors import (BadBatch, BatchTooLarge, EngineError, NotReady, Overloaded,
                                   Unauthenticated)

log = logging.getLogger("feblam.service")


def status_of(exc: Exception) -> grpc.StatusCode:
    if isinstance(exc, Overloaded):
        return grpc.StatusCode.RESOURCE_EXHAUSTED
    if isinstance(exc, (NotReady, OutboxClosed, OutboxWriteError)):
        # Nothing of the batch was acknowledged or remembered: sending it again is safe.
        return grpc.StatusCode.UNAVAILABLE
    if isinstance(exc, (BatchTooLarge, BadBatch)):
        return grpc.StatusCode.INVALID_ARGUMENT
    if isinstance(exc, Unauthenticated):
        return grpc.StatusCode.UNAUTHENTICATED
    if isinstance(exc, EngineError):
        return grpc.StatusCode.FAILED_PRECONDITION
    return grpc.StatusCode.INTERNAL


async def _abort(context: grpc.aio.ServicerContext, exc: Exception) -> None:
    code = status_of(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.exception("unexpected failure in %s", type(exc).__name__)
        message = "internal error; the engine's log has the detail"
    else:
        message = str(exc)
    if isinstance(exc, Overloaded):
        context.set_trailing_metadata((("retry-after-ms", str(exc.retry_after_ms)),))
    await context.abort(code, message)


class DomainErrorInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]],
                                details: Any) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        if handler.unary_unary is not None:
            inner_unary = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                try:
                    return await inner_unary(request, context)
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001 - mapped to a status, logged if unexpected
                    await _abort(context, exc)
                    raise AssertionError("unreachable") from exc

            return grpc.unary_unary_rpc_method_handler(
                unary, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        if handler.stream_stream is not None:
            inner_stream = handler.stream_stream

            async def stream(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                try:
                    async for response in inner_stream(requests, context):
                        yield response
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    await _abort(context, exc)

            return grpc.stream_stream_rpc_method_handler(
                stream, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        return handler
