"""Property tests: the C++ FormatTable behind the facade equals the reference, plates and specs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from feblam.plates import DEFAULT_CONFUSION_CLASSES, PlateFormats, default_format_spec
from feblam.reference.confusion import ConfusionClasses
from feblam.reference.formats import ReferenceFormats
from tests import unicode_drift

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
CONFUSABLE = "0ODQ1IL2Z5S8B6G"
# Shapes of the packaged formats, so random plates are mostly plausible ones.
SHAPES = [
    "9LLL999", "LLL999", "999LLL", "LL9999", "9999LL", "99LL99", "LL99LL", "99LLL9", "9LL999",
    "LL999LL", "LL99LLL", "9999LLL", "LL9", "LLLLL9999", "LLL99", "LLLL9",
]
COUNTRIES = ["", "BE", "b", "nl", "FRA", "DE", " d ", "LU", "GB", "UK", "IT", "E", "PL", "X1"]

CORE = PlateFormats()
REFERENCE = ReferenceFormats(default_format_spec(), ConfusionClasses())


@st.composite
def plausible_plates(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(SHAPES))
    chars = [draw(st.sampled_from(LETTERS if k == "L" else DIGITS)) for k in shape]
    # A reader's mistakes: some positions become confusable characters.
    for i in draw(st.lists(st.integers(0, len(shape) - 1), max_size=3)):
        chars[i] = draw(st.sampled_from(CONFUSABLE))
    return "".join(chars)


random_plates = st.text(alphabet=LETTERS + DIGITS, min_size=1, max_size=10)
plates = st.one_of(plausible_plates(), random_plates, unicode_drift.text(max_size=12))


def check(core: PlateFormats, ref: ReferenceFormats, plate: str, country: str) -> None:
    assert core.fits(plate, country) == ref.fits(plate, country)
    assert core.fits_exactly(plate, country) == ref.fits_exactly(plate, country)
    assert core.resolve(plate, country) == ref.resolve(plate, country)
    assert core.readings(plate, country) == ref.readings(plate, country)
    assert core.resolutions(plate, country) == ref.resolutions(plate, country)
    assert core.countries_fitting(plate) == ref.countries_fitting(plate)
    assert core.canonical_country(country) == ref.canonical_country(country)
    assert core.has_formats(country) == ref.has_formats(country)


@settings(max_examples=1500, deadline=None)
@given(plates, st.sampled_from(COUNTRIES) | unicode_drift.text(max_size=4))
def test_packaged_formats_match_reference(plate: str, country: str) -> None:
    check(CORE, REFERENCE, plate, country)


# Random specs: mostly valid rule lines, now and then a broken one; errors must read the same.
GOOD_REPEATS = ["", "", "{1}", "{2}", "{1,3}", "{2,4}"]
BAD_REPEATS = ["{0,2}", "{3,2}", "{1,11}", "{", "{1,2,3}"]
GOOD_OPTIONS = ["", "", "exclude=IOU", "exclude=AEIOUQ", "max=8", "max=6"]
BAD_OPTIONS = ["exclude=io", "exclude=", "max=0", "max=7 max=7", "exclude=I exclude=O", "colour=red"]
GOOD_CODES = ["AA", "BE", "B", "NL", "ZZZ"]
BAD_CODES = ["be", "ABCD"]


@st.composite
def spec_lines(draw: st.DrawFn) -> str:
    def pick(good: list[str], bad: list[str]) -> str:
        # One part in twenty is broken, so most specs parse and a few fail on some line.
        return draw(st.sampled_from(bad if draw(st.integers(0, 19)) == 0 else good))

    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from(["", "# comment", "   ", "\t# indented", "alias X", "BE x"]))
    if kind == 1:
        return f"alias {pick(GOOD_CODES, BAD_CODES)} {pick(GOOD_CODES, BAD_CODES)}"
    n_units = draw(st.integers(1, 4))
    pattern = "".join(draw(st.sampled_from("L9X")) + pick(GOOD_REPEATS, BAD_REPEATS) for _ in range(n_units))
    return f"{pick(GOOD_CODES, BAD_CODES)} rule {pattern} {pick(GOOD_OPTIONS, BAD_OPTIONS)}"


specs = st.lists(spec_lines(), max_size=6).map("\n".join)
class_specs = st.sampled_from([DEFAULT_CONFUSION_CLASSES, "0O 1I", "", "8B3 X5S", "0ODQ 1IL 2Z"])


@settings(max_examples=600, deadline=None)
@given(specs, class_specs, st.lists(st.tuples(plates, st.sampled_from(COUNTRIES)), max_size=8))
def test_random_specs_match_reference(
    spec: str, classes: str, probes: list[tuple[str, str]]
) -> None:
    core_error = reference_error = None
    try:
        core = PlateFormats(spec, classes)
    except ValueError as exc:
        core_error = str(exc)
    try:
        ref = ReferenceFormats(spec, ConfusionClasses(classes))
    except ValueError as exc:
        reference_error = str(exc)
    assert core_error == reference_error
    if core_error is not None:
        return
    assert core.countries == ref.countries
    for plate, country in probes:
        check(core, ref, plate, country)
    for code in ["AA", "BE", "B", "NL", "ZZZ"]:
        for plate in ["AB", "A1", "ABC123", "1ABC123", "AI12O"]:
            check(core, ref, plate, code)
