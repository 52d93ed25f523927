"""Logging set-up and plate masking: plates are personal data and never reach a log in clear."""

from __future__ import annotations

import logging


def mask_plate(plate: str) -> str:
    """Only the length survives, enough to tell an empty or absurd read from a plausible one."""
    return f"<plate:{len(plate)}>"


def configure(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
