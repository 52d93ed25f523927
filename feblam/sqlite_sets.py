"""Set-wise SQLite statements: one statement for many rows or keys, not one per row.

Every statement step hands the GIL back and forth with the event loop's thread, so the outbox and
the gateway store write and look up whole groups at once, in chunks well under SQLite's bound on
parameters in one statement.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

# Parameters of one statement stay under 999, the smallest bound any SQLite build has had:
# keys of one IN (...) list, or rows of up to six values.
KEYS_PER_STATEMENT = 900
ROWS_PER_STATEMENT = KEYS_PER_STATEMENT // 6


def marks(n: int) -> str:
    """n parameter marks: ?,?,..."""
    return ",".join("?" * n)


def chunks(values: list[T], size: int) -> list[list[T]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def insert_rows(db: Any, head: str, rows: list[tuple[Any, ...]], width: int) -> None:
    """head VALUES (...), (...): one statement per chunk of rows instead of one per row."""
    one = f"({marks(width)})"
    for chunk in chunks(rows, ROWS_PER_STATEMENT):
        db.execute(f"{head} VALUES {','.join([one] * len(chunk))}",
                   [value for row in chunk for value in row])
