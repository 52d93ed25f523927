"""Batches read and matched on the core's worker thread while the event loop goes on.

The core's reading and matching of a batch is most of the engine's work per batch, and it needs
no Python: the loop hands the serialized batch and the snapshot's indexes to the core's intake
worker, which runs without the GIL on the other core, and collects the columns and matches when
the worker's descriptor says they are ready. Python work on earlier batches (hits, commits,
acks) overlaps with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from feblam._native import core
from feblam.service.errors import BadBatch
from feblam.service.validation import Screen

# The columns of a batch (read_batch_columns' dict) and each index's match columns (None for an
# index that matched nothing).
IntakeResult = tuple[dict[str, Any], list[tuple[Any, ...] | None]]


class BatchIntake:
    def __init__(self, plate_seed: int, id_seed: int, ocr_table: bytes, threads: int = 1) -> None:
        # More than one thread pays only where cores are left over once the loop, the outbox
        # writer and gRPC have theirs; results then come back in the order they finish.
        self._worker = core.IntakeWorker(plate_seed, id_seed, ocr_table, max(1, threads))
        self._waiting: dict[int, tuple[asyncio.Future[IntakeResult], int]] = {}
        self._bytes = 0   # of the batches handed over and not yet collected
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def submit(self, data: bytes, min_observed_us: int, max_observed_us: int,
               matchers: Sequence[Any], screen: Screen | None = None, read_scope: int = 0
               ) -> asyncio.Future[IntakeResult]:
        """A future of the batch's columns (screened: camera registry, read ids seen before,
        in the sending integrator's space, read_scope) and matches; BadBatch if it is
        malformed."""
        loop = asyncio.get_running_loop()
        if not self.serves(loop):
            raise RuntimeError("the batch intake is closed" if self._closed
                               else "the batch intake serves one event loop")
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self._worker.fileno(), self._collect)
        screen = screen or Screen()
        ticket = self._worker.submit(data, min_observed_us, max_observed_us, list(matchers),
                                     screen.known_cameras, screen.memory, read_scope)
        future: asyncio.Future[IntakeResult] = loop.create_future()
        self._waiting[ticket] = (future, len(data))
        self._bytes += len(data)
        return future

    def _collect(self) -> None:
        for ticket, columns, error, matches in self._worker.collect():
            waiting = self._waiting.pop(ticket, None)
            if waiting is None:
                continue
            future, size = waiting
            self._bytes -= size
            if future.done() or future.get_loop().is_closed():
                continue  # its batch was abandoned (a stream cut short, a loop gone)
            if columns is None:
                future.set_exception(BadBatch(error))
            else:
                future.set_result((columns, matches))

    def serves(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether this intake can hand results to loop (it is bound to the first it served)."""
        return not self._closed and self._loop in (None, loop)

    @property
    def pending(self) -> int:
        """Batches handed over and not yet collected."""
        return len(self._waiting)

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    def close(self) -> None:
        """Finishes the queued jobs, hands their results over, and stops the worker."""
        if self._closed:
            return
        self._closed = True
        self._worker.close()
        self._collect()
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._worker.fileno())
        for future, _ in self._waiting.values():
            if not future.done():
                future.set_exception(RuntimeError("the batch intake closed"))
        self._waiting.clear()
        self._bytes = 0
