"""Set-wise SQLite statements: one statement for many rows or keys, not one per row.

Every statement step hands the GIL back and forth with the event loop's thread, so the gateway
store looks up and deletes whole groups at once, in chunks well under SQLite's bound on parameters
in one statement.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")

# Parameters of one statement stay under 999, the smallest bound any SQLite build has had.
KEYS_PER_STATEMENT = 900


def marks(n: int) -> str:
    """n parameter marks: ?,?,..."""
    return ",".join("?" * n)


def chunks(values: list[T], size: int) -> list[list[T]]:
    return [values[i:i + size] for i in range(0, len(values), size)]
