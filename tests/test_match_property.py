"""The C++ matcher and the pure-Python reference agree on every column, order included."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feblam.matching import BatchMatches, ListPolicy, Matcher, MatchKind
from feblam.reference.match import ReferenceMatcher

# Characters chosen so confusion classes, formats and collisions come up often.
CONFUSABLE = "0ODQ1IL2Z5S8B6G"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
SHAPES = ["9LLL999", "LLL999", "999LLL", "LL999LL", "LL9999", "LL99LLL", "LL99"]
COUNTRIES = ["", "BE", "B", "be ", "NL", "FR", "UK", "GB", "PL", "XX", "1A", "DE"]
CONFIDENCES = [0.0, 0.2, 0.5, 0.85, 0.95, 1.0, 1.4, -0.3]
MIN_SCORES = [0.0, 0.0, 0.3, 0.5, 0.6, 0.75, 0.95]
NEAR_MAX = [1.0, 1.0, 0.9, 0.5, 0.0]

SMALL_SPEC = "BE current 9LLL999\nBE old LLL999\nXX test LL99 exclude=O\nalias B BE\nalias GB XX\n"
SPECS = [
    pytest.param("", id="no-formats"),
    pytest.param(None, id="packaged"),
    pytest.param(SMALL_SPEC, id="small"),
]


@st.composite
def plate_texts(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 3)) > 0:
        shape = draw(st.sampled_from(SHAPES))
        out = []
        for unit in shape:
            pool = LETTERS if unit == "L" else DIGITS
            if draw(st.integers(0, 4)) == 0:
                pool = CONFUSABLE
            out.append(draw(st.sampled_from(pool)))
        return "".join(out)
    return draw(st.text(alphabet=CONFUSABLE + "AXY", min_size=1, max_size=10))


@st.composite
def entry_texts(draw: st.DrawFn) -> str:
    roll = draw(st.integers(0, 19))
    if roll == 0:  # bad entries, reported not indexed
        return draw(st.sampled_from(["", "  ", "--", "AB\x01C", "ABCDEFGHIJK", "A\x7fB"]))
    plate = draw(plate_texts())
    if roll <= 3:  # witness partial plates
        chars = list(plate)
        for _ in range(draw(st.integers(1, 2))):
            pos = draw(st.integers(0, len(chars) - 1))
            chars[pos] = draw(st.sampled_from("?*"))
        if all(c in "?*" for c in chars):  # wildcards alone are no pattern (a bad entry)
            chars.append(draw(st.sampled_from(CONFUSABLE)))
        return "".join(chars)
    if roll == 4:  # raw text a person typed
        return plate.lower()[:3] + "-" + plate[3:]
    return plate


def mutate(draw: st.DrawFn, plate: str) -> str:
    s = list(plate)
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from([0, 0, 0, 1, 2, 3]))
        pos = draw(st.integers(0, max(0, len(s) - 1)))
        if op == 0 and s:  # a confusable misread
            group = next((g for g in "0ODQ 1IL 2Z 5S 8B 6G".split() if s[pos] in g), s[pos])
            s[pos] = draw(st.sampled_from(group))
        elif op == 1 and len(s) < 10:
            s.insert(pos, draw(st.sampled_from(CONFUSABLE + "AX")))
        elif op == 2 and len(s) > 1:
            del s[pos]
        elif op == 3 and s:
            s[pos] = draw(st.sampled_from(LETTERS + DIGITS))
    return "".join(s)


def misread(draw: st.DrawFn, plate: str) -> str:
    """One confusable read as another member of its class, where the plate has one."""
    groups = "0ODQ 1IL 2Z 5S 8B 6G".split()
    spots = [i for i, c in enumerate(plate) if any(c in g for g in groups)]
    if not spots:
        return plate
    i = draw(st.sampled_from(spots))
    group = next(g for g in groups if plate[i] in g)
    return plate[:i] + draw(st.sampled_from(group.replace(plate[i], ""))) + plate[i + 1 :]


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    list_ids = draw(st.lists(st.integers(0, 65535), min_size=1, max_size=4, unique=True))
    policies = {
        lid: ListPolicy(
            kinds=MatchKind(draw(st.integers(1, 31))),
            min_score=draw(st.sampled_from(MIN_SCORES)),
            near_max_confidence=draw(st.sampled_from(NEAR_MAX)),
            fuzzy_max_confidence=draw(st.sampled_from(NEAR_MAX)),
        )
        for lid in list_ids
    }
    entries = draw(st.lists(entry_texts(), min_size=1, max_size=20))
    n = len(entries)
    entry_lists = [draw(st.sampled_from(list_ids)) for _ in range(n)]
    entry_countries = [draw(st.sampled_from(COUNTRIES)) for _ in range(n)]
    entry_nos = [draw(st.integers(0, 2**32 - 1)) for _ in range(n)]
    reads: list[str] = []
    for _ in range(draw(st.integers(1, 25))):
        roll = draw(st.integers(0, 9))
        if roll <= 6:
            base = draw(st.sampled_from(entries)).replace("?", "A").replace("*", "")
            reads.append(misread(draw, base) if roll <= 2 else mutate(draw, base))
        elif roll <= 8:
            reads.append(draw(plate_texts()))
        else:
            reads.append(draw(st.text(alphabet="ab-. \x01?1", max_size=12)))
    m = len(reads)
    read_countries: Any = draw(
        st.one_of(
            st.none(),
            st.sampled_from(COUNTRIES),
            st.lists(st.sampled_from(COUNTRIES), min_size=m, max_size=m),
        )
    )
    confidences = draw(
        st.one_of(st.none(), st.lists(st.sampled_from(CONFIDENCES), min_size=m, max_size=m))
    )
    classes = draw(st.sampled_from(["0ODQ 1IL 2Z 5S 8B 6G", "0ODQ 1IL 2Z 5S 8B 6G", "0O 8B I1"]))
    return {
        "build": dict(
            plates=entries,
            list_ids=entry_lists,
            policies=policies,
            entry_nos=entry_nos,
            countries=entry_countries,
            confusion_classes=classes,
        ),
        "reads": reads,
        "countries": read_countries,
        "confidences": confidences,
    }


def assert_same(got: BatchMatches, want: BatchMatches) -> None:
    for f in fields(BatchMatches):
        a, b = getattr(got, f.name), getattr(want, f.name)
        assert a.dtype == b.dtype or len(a) == 0 == len(b), f.name
        if f.name == "score":
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=f.name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=f.name)


@pytest.mark.parametrize("spec", SPECS)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_core_matcher_agrees_with_reference(spec: str | None, case: dict[str, Any]) -> None:
    core = Matcher.build(**case["build"], formats=spec)
    reference = ReferenceMatcher.build(**case["build"], formats=spec)
    assert core.report.entries == reference.report.entries
    assert core.report.indexed == reference.report.indexed
    assert core.report.patterns == reference.report.patterns
    np.testing.assert_array_equal(core.report.rejected_entry, reference.report.rejected_entry)
    np.testing.assert_array_equal(core.report.rejected_status, reference.report.rejected_status)
    got = core.match(case["reads"], case["countries"], case["confidences"])
    want = reference.match(case["reads"], case["countries"], case["confidences"])
    assert_same(got, want)
    for entry in range(len(case["build"]["plates"])):
        assert core.entry_plate(entry) == reference.entry_plate(entry)


# National plates read with one character crossed between letters and digits (8/B, 0/O, 1/I, 5/S,
# 2/Z, 6/G): the reads position-wise resolution exists for, and the gate decides on.
NATIONAL_SHAPES = {"BE": ["9LLL999", "LLL999"], "FR": ["LL999LL"],
                   "NL": ["99LLL9", "LL99LL", "L999LL", "L99LLL"], "UK": ["LL99LLL"]}
CROSS = {"8": "B", "B": "8", "0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5",
         "2": "Z", "Z": "2", "6": "G", "G": "6"}


@st.composite
def national_cases(draw: st.DrawFn) -> dict[str, Any]:
    entries, entry_countries, reads, read_countries = [], [], [], []
    for _ in range(draw(st.integers(1, 12))):
        country = draw(st.sampled_from(sorted(NATIONAL_SHAPES)))
        shape = draw(st.sampled_from(NATIONAL_SHAPES[country]))
        plate = "".join(draw(st.sampled_from("BOISZG" + "ACEHKMNPRTUVWXY" if u == "L" else
                                              "8015260347"))
                        for u in shape)
        entries.append(plate)
        entry_countries.append(draw(st.sampled_from([country, country, ""])))
        crossable = [i for i, c in enumerate(plate) if c in CROSS]
        read = plate
        if crossable and draw(st.integers(0, 3)) > 0:  # else a clean read, for wrong countries
            i = draw(st.sampled_from(crossable))
            read = plate[:i] + CROSS[plate[i]] + plate[i + 1:]
        reads.append(read)
        # NL and DE are often wrong guesses the plate fits only re-read (or exactly, for DE).
        read_countries.append(draw(st.sampled_from([country, "", "NL", "DE", country.lower()])))
    kinds = draw(st.sampled_from([MatchKind.EXACT | MatchKind.RESOLVED,
                                  MatchKind.EXACT | MatchKind.RESOLVED | MatchKind.OCR,
                                  MatchKind.RESOLVED | MatchKind.FUZZY]))
    policy = ListPolicy(kinds, near_max_confidence=draw(st.sampled_from(NEAR_MAX)),
                        fuzzy_max_confidence=draw(st.sampled_from(NEAR_MAX)))
    confidences = [draw(st.sampled_from(CONFIDENCES)) for _ in reads]
    return {"build": dict(plates=entries, list_ids=7, policies={7: policy},
                          countries=entry_countries),
            "reads": reads, "countries": read_countries, "confidences": confidences}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=national_cases())
def test_position_wise_resolution_agrees_with_reference(case: dict[str, Any]) -> None:
    core = Matcher.build(**case["build"])
    reference = ReferenceMatcher.build(**case["build"])
    got = core.match(case["reads"], case["countries"], case["confidences"])
    want = reference.match(case["reads"], case["countries"], case["confidences"])
    assert_same(got, want)


def test_the_national_cases_do_exercise_resolution() -> None:
    """Guards the strategy above: its reads must mostly resolve to their entry."""
    entries = ["1ABC123", "AB123CD", "ABC123"]
    core = Matcher.build(entries, list_ids=7, countries=["BE", "FR", "BE"],
                         policies={7: ListPolicy(MatchKind.EXACT | MatchKind.RESOLVED)})
    got = core.match(["1A8C123", "A8123CD", "A8C123"], ["BE", "FR", "BE"], [0.5, 0.5, 0.5])
    assert got.kind.tolist() == [int(MatchKind.RESOLVED)] * 3
    assert got.entry.tolist() == [0, 1, 2]
