"""Plates are personal data: with every log level on, neither hits nor non-hits show a plate."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.service_harness import batch, read, running

PLATES = ["1-abc-123", "9-NOT-999", "XY12ZZZ", "2XYZ987"]


def test_logs_never_carry_a_plate_in_clear(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with running(tmp_path) as d:
            ack = await d.ingest().SubmitReads(batch(
                *(read(f"r{i}", plate) for i, plate in enumerate(PLATES)), batch_id="p-1"))
            assert ack.hits >= 2  # 1ABC123 and 2XYZ987 are listed: hits were logged at debug
            await d.stored_hits(ack.hits)

    asyncio.run(scenario())
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "hit " in text  # the debug lines about hits are there, masked
    for plate in PLATES:
        canonical = plate.replace("-", "").upper()
        assert plate not in text and canonical not in text, plate
