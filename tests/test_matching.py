"""Examples of the matcher through its typed facade: each kind, gates, reports, batches, threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from feblam.matching import BatchMatches, EditOp, ListPolicy, Matcher, MatchKind
from feblam.plates import PlateStatus

ALL = MatchKind.EXACT | MatchKind.RESOLVED | MatchKind.OCR | MatchKind.FUZZY | MatchKind.PATTERN


def one_list(plates: list[str], kinds: MatchKind, **policy: float) -> Matcher:
    return Matcher.build(plates, list_ids=3, policies={3: ListPolicy(kinds, **policy)},
                         entry_nos=[17 + i for i in range(len(plates))])


def rows(m: BatchMatches) -> list[tuple[int, int, int]]:
    return [(int(r), int(e), int(k)) for r, e, k in zip(m.read, m.entry, m.kind)]


def test_exact_match_and_its_explanation() -> None:
    matcher = one_list(["1-ABC-123", "XY12"], ALL)
    found = matcher.match(["1abc123", "ZZ99"])
    assert rows(found) == [(0, 0, MatchKind.EXACT)]
    assert found.entry_no.tolist() == [17]
    assert found.list_id.tolist() == [3]
    assert found.score.tolist() == [1.0]
    assert matcher.explain(found, 0) == "EXACT match on list 3 entry 17: read 1ABC123 = listed 1ABC123"
    assert found.canonical.tolist() == [b"1ABC123", b"ZZ99"]


def test_ocr_match_explains_the_confusable() -> None:
    matcher = one_list(["1ABC123"], MatchKind.OCR)
    found = matcher.match(["1A8C123"])
    assert rows(found) == [(0, 0, MatchKind.OCR)]
    assert found.sub_mask.tolist() == [0b100]
    assert matcher.explain(found, 0) == (
        "OCR match on list 3 entry 17: read 1A8C123 ~ listed 1ABC123 (position 3: 8 read for B)"
    )


def test_resolved_match_uses_the_country_format() -> None:
    matcher = Matcher.build(["1ABC123"], list_ids=3, countries="BE",
                            policies={3: ListPolicy(MatchKind.RESOLVED)})
    found = matcher.match(["1A8C123", "1A8C123"], ["BE", "PL"])
    assert rows(found) == [(0, 0, MatchKind.RESOLVED)]
    assert found.score.tolist() == pytest.approx([0.9])
    assert "RESOLVED match on list 3 entry 0: read 1A8C123 -> listed 1ABC123" in matcher.explain(
        found, 0)


@pytest.mark.parametrize(
    ("read", "op", "pos", "note"),
    [
        ("AB1234", EditOp.INSERTED, 5, "position 6: 4 added by the reader"),
        ("AB23", EditOp.DROPPED, 2, "listed position 3: 1 missed by the reader"),
        ("AX123", EditOp.SUBSTITUTED, 1, "position 2: X read for B"),
    ],
)
def test_fuzzy_match_names_its_edit(read: str, op: EditOp, pos: int, note: str) -> None:
    matcher = one_list(["AB123"], MatchKind.FUZZY)
    found = matcher.match([read], confidences=[0.4])
    assert rows(found) == [(0, 0, MatchKind.FUZZY)]
    assert found.edit_op.tolist() == [op]
    assert found.edit_pos.tolist() == [pos]
    assert note in matcher.explain(found, 0)


def test_pattern_match() -> None:
    matcher = one_list(["1A?C*"], MatchKind.PATTERN)
    found = matcher.match(["1ABC123", "1AC"])
    assert rows(found) == [(0, 0, MatchKind.PATTERN)]
    assert matcher.report.patterns == 1
    assert matcher.entry_plate(0) == "1A?C*"
    assert matcher.explain(found, 0) == "PATTERN match on list 3 entry 17: read 1ABC123 fits pattern 1A?C*"


def test_best_kind_first_and_order_by_score_then_entry() -> None:
    matcher = Matcher.build(
        ["AB123", "AB123", "A8123", "AB12", "A8I23"],
        list_ids=[1, 2, 1, 1, 1],
        policies={1: ListPolicy(ALL), 2: ListPolicy(MatchKind.EXACT)},
    )
    # German LL999 leaves no choice but B for the 8, so AB123 is RESOLVED (LLL99 would have to
    # read the 1 as I or L and gives no reading); A8I23 differs only within a class: OCR.
    found = matcher.match(["A8123"], confidences=[0.2])
    assert [(e, k) for _, e, k in rows(found)] == [
        (2, MatchKind.EXACT), (0, MatchKind.RESOLVED), (4, MatchKind.OCR), (3, MatchKind.FUZZY)]
    assert np.all(np.diff(found.score) <= 0)


def test_country_compatibility() -> None:
    matcher = Matcher.build(["AB123CD", "AB123CD"], list_ids=1, countries=["FR", ""],
                            policies={1: ListPolicy(MatchKind.EXACT)})
    # PL has no formats, so its guess stands; NL formats cannot fit the plate, so NL is
    # disregarded and the read's country counts as unknown.
    found = matcher.match(["AB123CD"] * 4, ["F", "PL", "", "NL"])
    assert rows(found) == [(0, 0, 1), (0, 1, 1), (1, 1, 1), (2, 0, 1), (2, 1, 1), (3, 0, 1),
                           (3, 1, 1)]


def test_a_plate_that_fits_only_the_entrys_country_outweighs_the_readers() -> None:
    matcher = Matcher.build(["0LVG694", "AMM174", "0LVG694"], list_ids=[1, 1, 2],
                            countries=["BE", "BE", "BE"],
                            policies={1: ListPolicy(MatchKind.EXACT), 2: ListPolicy(MatchKind.OCR)})
    # DE fits 0LVG694 only with the 0 read as a letter, BE 9LLL999 as it stands: exact. AMM174
    # is a German plate as read, and PL has no formats: their countries stand. A near match
    # re-reads characters and keeps the reader's country: OLVG694 as DE finds nothing.
    found = matcher.match(["0LVG694", "AMM174", "0LVG694", "OLVG694"], ["D", "DE", "PL", "DE"])
    assert rows(found) == [(0, 0, MatchKind.EXACT)]


def test_resolved_tries_every_reading_a_format_determines() -> None:
    matcher = Matcher.build(["ZKEE8680", "ZKEEB680", "Z725UC"], list_ids=1, countries=["DE", "DE", "NL"],
                            policies={1: ListPolicy(MatchKind.RESOLVED, near_max_confidence=0.7)})
    # German LLLL9999 and LLLLL999 read ZKEE8G80 as either entry; the read is in format doubt,
    # so no confidence gates it. Z72SUC is a Dutch plate as it stands (sidecode 12): not re-read.
    found = matcher.match(["ZKEE8G80", "Z72SUC"], ["D", "NL"], [0.9, 0.1])
    assert rows(found) == [(0, 0, MatchKind.RESOLVED), (0, 1, MatchKind.RESOLVED)]
    assert matcher.explain(found, 0) == (
        "RESOLVED match on list 1 entry 0: read ZKEE8G80 -> listed ZKEE8680 (position 6: G read for 6)")


def test_min_score_drops_weak_matches() -> None:
    matcher = one_list(["ABC12"], MatchKind.OCR | MatchKind.FUZZY, min_score=0.6)
    found = matcher.match(["A8C12", "ABC123"], "PL")
    assert rows(found) == [(0, 0, MatchKind.OCR)]


def test_near_match_gate_keeps_doubtful_or_unconfident_reads() -> None:
    matcher = Matcher.build(["1ABC123"], list_ids=1,
                            policies={1: ListPolicy(MatchKind.OCR, near_max_confidence=0.5)})
    # As BE, 1A8C123 fits only by reading 8 as B: format doubt keeps it at any confidence.
    # PL has no formats, so no doubt: the confident read is gated, the unconfident one kept.
    found = matcher.match(["1A8C123"] * 3, ["BE", "PL", "PL"], [0.9, 0.9, 0.4])
    assert rows(found) == [(0, 0, MatchKind.OCR), (2, 0, MatchKind.OCR)]


def test_bad_entries_are_reported() -> None:
    matcher = one_list(["", "AB\u202eCD", "OK1", "ABCDEFGHIJKL"], MatchKind.EXACT)
    report = matcher.report
    assert (report.entries, report.indexed, report.patterns) == (4, 1, 0)
    assert report.rejected_entry.tolist() == [0, 1, 3]
    assert report.rejected_status.tolist() == [
        PlateStatus.EMPTY, PlateStatus.CONTROL_CHARACTER, PlateStatus.TOO_LONG]


def test_a_bad_read_does_not_affect_the_others() -> None:
    matcher = one_list(["AB12"], MatchKind.EXACT)
    found = matcher.match(["AB12", "AB\x0012", "", "ab-12"])
    assert found.status.tolist() == [0, PlateStatus.CONTROL_CHARACTER, PlateStatus.EMPTY, 0]
    assert found.canonical.tolist() == [b"AB12", b"", b"", b"AB12"]
    assert rows(found) == [(0, 0, 1), (3, 0, 1)]


def test_list_without_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="no policy"):
        Matcher.build(["AB12"], list_ids=[4], policies={3: ListPolicy(MatchKind.EXACT)})


def test_input_forms_agree() -> None:
    matcher = one_list(["AB12", "CD34"], MatchKind.EXACT | MatchKind.OCR)
    reads = ["AB12", "CD34", "C034", "x"]
    as_list = matcher.match(reads, "PL")
    as_bytes = matcher.match(np.array([r.encode() for r in reads], dtype="S12"), np.array([b"PL"] * 4))
    as_unicode = matcher.match(np.array(reads), np.array(["PL"] * 4))
    for other in (as_bytes, as_unicode):
        assert rows(other) == rows(as_list)
        assert other.canonical.tolist() == as_list.canonical.tolist()


def big_case() -> tuple[Matcher, np.ndarray]:
    rng = np.random.default_rng(7)
    alphabet = np.frombuffer(b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789", dtype="S1")
    entries = rng.choice(alphabet, size=(20000, 7)).view("S7").ravel()
    reads = rng.choice(alphabet, size=(200000, 7)).view("S7").ravel().copy()
    reads[::50] = entries[: len(reads[::50])]
    matcher = Matcher.build(entries, list_ids=1,
                            policies={1: ListPolicy(MatchKind.EXACT | MatchKind.OCR | MatchKind.FUZZY)})
    return matcher, reads


def test_two_threads_give_the_same_result_as_one() -> None:
    matcher, reads = big_case()
    one = matcher.match(reads, threads=1)
    two = matcher.match(reads, threads=2)
    assert len(one) > 4000
    for name in BatchMatches.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


def test_the_gil_is_released_during_a_batch() -> None:
    matcher, reads = big_case()
    many = np.tile(reads, 10)
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0)

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.01)
    before = ticks
    matcher.match(many)
    during = ticks - before
    done.set()
    counter.join()
    # Holding the GIL for the whole call would leave the counter at most a switch or two.
    assert during > 20
