"""Hit priority: how urgent a hit is, from its list, how it matched and how sure the reader was."""

from __future__ import annotations

# Kinds as in feblam.matching.MatchKind (and hits.proto MatchKind); ZONE is the service's own.
EXACT, RESOLVED, OCR, FUZZY, PATTERN, ZONE = 1, 2, 4, 8, 16, 32
# A near match or a witness pattern names the listed vehicle less surely than the plate itself,
# so it drops behind exact hits of the same list; a list's priority still dominates.
_KIND_STEP = {EXACT: 0, RESOLVED: 0, ZONE: 0, OCR: 1, FUZZY: 1, PATTERN: 2}
# Below this the reader itself doubts the plate: one step less urgent.
LOW_CONFIDENCE = 0.5
LOWEST_PRIORITY = 9


def prioritise(list_priority: int, kind: int, score: float, confidence: float) -> tuple[int, float]:
    """(priority 1..9, rank) of a hit; 1 is most urgent, a higher rank goes first within one."""
    step = _KIND_STEP.get(kind, 2) + (1 if confidence < LOW_CONFIDENCE else 0)
    priority = min(LOWEST_PRIORITY, max(1, list_priority + step))
    return priority, float(score)
