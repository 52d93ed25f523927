"""Normalisation and plate formats on the cases integrators send every day, core and reference."""

from __future__ import annotations

import pytest

from feblam import _core
from feblam.plates import (
    DEFAULT_CONFUSION_CLASSES,
    PlateFormats,
    PlateStatus,
    default_format_spec,
    normalise_pattern,
    normalise_plate,
)
from feblam.reference import normalise as reference
from feblam.reference.confusion import DEFAULT_CONFUSION_CLASSES as REFERENCE_DEFAULT_CLASSES
from feblam.reference.confusion import ConfusionClasses
from feblam.reference.formats import ReferenceFormats

NORMALISED = [
    ("1-abc-123", "1ABC123"),
    ("1 ABC 123", "1ABC123"),
    ("1.abc.123", "1ABC123"),
    ("(AB) 12'34", "AB1234"),
    ("\u00a01ABC123\u3000", "1ABC123"),  # no-break and ideographic spaces
    ("А123ВС", "A123BC"),  # Cyrillic А В С
    ("ΑΒΕ-123", "ABE123"),  # Greek capitals
    ("авс123", "ABC123"),  # Cyrillic lower case
    ("ＡＢ－１２３", "AB123"),  # fullwidth forms
    ("ŠKODA 1", "SKODA1"),
    ("Ärzte1", "ARZTE1"),
    ("GØL-12", "GOL12"),
    ("ŁÓDŹ9", "LODZ9"),
    ("ÐĐ-1", "DD1"),
    ("A\u03011", "A1"),  # a combining acute after A
    ("①②Ⅻ", "12XII"),
    ("ı1", "I1"),
]


@pytest.mark.parametrize(("raw", "canonical"), NORMALISED)
def test_human_and_foreign_styles_fold_to_one_plate(raw: str, canonical: str) -> None:
    assert normalise_plate(raw) == (canonical, PlateStatus.OK)
    assert reference.normalise_plate(raw) == (canonical, reference.OK)


FAILURES = [
    ("", PlateStatus.EMPTY),
    ("  \u00a0 ", PlateStatus.EMPTY),
    ("--", PlateStatus.NOTHING_LEFT),
    ("\u0301", PlateStatus.NOTHING_LEFT),  # a combining mark alone
    ("AB\x00123", PlateStatus.CONTROL_CHARACTER),
    ("AB\t12", PlateStatus.CONTROL_CHARACTER),
    ("AB\u202e12", PlateStatus.CONTROL_CHARACTER),  # right-to-left override
    ("AB\u200b12", PlateStatus.CONTROL_CHARACTER),  # zero-width space is a format character
    ("ABCDEFGHIJK", PlateStatus.TOO_LONG),
    ("A" * 65, PlateStatus.TOO_LONG),
    ("-" * 65, PlateStatus.TOO_LONG),
    ("AB\U0001f697", PlateStatus.INVALID_CHARACTER),  # a car emoji
    ("AB+12", PlateStatus.INVALID_CHARACTER),  # math symbol
    ("Ж123", PlateStatus.INVALID_CHARACTER),  # Cyrillic that looks like no Latin letter
    ("AB\ud80012", PlateStatus.INVALID_CHARACTER),  # lone surrogate
    ("AB\ue000", PlateStatus.INVALID_CHARACTER),  # private use
]


@pytest.mark.parametrize(("raw", "status"), FAILURES)
def test_each_failure_gives_its_reason(raw: str, status: PlateStatus) -> None:
    assert normalise_plate(raw) == ("", status)
    assert reference.normalise_plate(raw) == ("", int(status))


def test_leftmost_failure_decides() -> None:
    assert normalise_plate("A\x00B\U0001f697")[1] == PlateStatus.CONTROL_CHARACTER
    assert normalise_plate("A\U0001f697B\x00")[1] == PlateStatus.INVALID_CHARACTER
    # Too many characters is judged only after every code point was classified.
    assert normalise_plate("ABCDEFGHIJKL\x00")[1] == PlateStatus.CONTROL_CHARACTER


def test_length_limits_are_inclusive() -> None:
    assert normalise_plate("ABCDEFGHIJ") == ("ABCDEFGHIJ", PlateStatus.OK)
    assert normalise_plate("A" + "-" * 63) == ("A", PlateStatus.OK)
    # A code point that folds to several characters counts as one raw code point, each as a kept one.
    assert normalise_plate("Ⅻ" * 3) == ("XIIXIIXII", PlateStatus.OK)
    assert normalise_plate("Ⅻ" * 4)[1] == PlateStatus.TOO_LONG


def test_bytes_that_are_not_utf8() -> None:
    for raw in [b"\xff", b"AB\xc3", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\x80AB", b"AB\xe2\x82"]:
        assert _core.normalise_plate(raw) == ("", int(PlateStatus.INVALID_UTF8))
        assert _core.normalise_pattern(raw) == ("", int(PlateStatus.INVALID_UTF8))


def test_patterns_keep_wildcards_and_need_a_letter_or_digit() -> None:
    assert normalise_pattern("1-ab?-1*") == ("1AB?1*", PlateStatus.OK)
    assert normalise_plate("1-ab?-1*") == ("1AB1", PlateStatus.OK)
    assert normalise_pattern("?*?") == ("", PlateStatus.NOTHING_LEFT)
    assert normalise_pattern("AB???????**") == ("", PlateStatus.TOO_LONG)
    assert reference.normalise_pattern("?*?") == ("", reference.NOTHING_LEFT)


def test_default_classes_agree() -> None:
    assert DEFAULT_CONFUSION_CLASSES == REFERENCE_DEFAULT_CLASSES


@pytest.fixture(scope="module")
def formats() -> PlateFormats:
    return PlateFormats()


@pytest.fixture(scope="module")
def reference_formats() -> ReferenceFormats:
    return ReferenceFormats(default_format_spec(), ConfusionClasses())


def test_belgian_letter_position_reads_8_as_b(
    formats: PlateFormats, reference_formats: ReferenceFormats
) -> None:
    for table in (formats, reference_formats):
        assert table.resolve("1A8C123", "BE") == "1ABC123"
        assert table.resolve("1A8C123", "b") == "1ABC123"
        assert table.resolve("1ABC123", "BE") == "1ABC123"
        assert table.resolutions("1A8C123", "BEL") == [("BE", "1ABC123")]
        assert table.resolutions("1ABC123", "BE") == []
        assert table.fits("1A8C123", "BE") and not table.fits_exactly("1A8C123", "BE")


def test_french_letters_exclude_i_o_u(
    formats: PlateFormats, reference_formats: ReferenceFormats
) -> None:
    for table in (formats, reference_formats):
        # 1 and I are read as L, the one letter of their class that SIV plates use.
        assert table.resolve("AI123BC", "FR") == "AL123BC"
        assert table.resolve("A1123BC", "F") == "AL123BC"
        # O may be D or Q, both SIV letters: fits, but no single reading.
        assert table.fits("AB123OC", "FR")
        assert table.resolve("AB123OC", "FR") is None
        assert not table.fits_exactly("AI123BC", "FR")
        assert table.fits("AX123BC", "FR") and table.fits_exactly("AX123BC", "FR")
        # X has no look-alike digit.
        assert not table.fits("AB12XBC", "FR")


def test_dutch_sidecodes(formats: PlateFormats, reference_formats: ReferenceFormats) -> None:
    for table in (formats, reference_formats):
        assert table.fits_exactly("XB1234", "NL")  # sidecode 1
        assert table.fits_exactly("12XBXB", "NL")  # sidecode 6
        assert table.fits_exactly("1XXX23", "NL")  # sidecode 8
        assert not table.fits("XXXXXX", "NL")
        # Sidecodes 1 (LL9999) and 5 (LLLL99) both fit with different readings: no resolution.
        assert table.fits("XB1Z34", "NL")
        assert table.resolve("XB1Z34", "NL") is None
        # Sidecode 5 leaves I or L for the 1, so only sidecode 1 gives a reading.
        assert table.readings("XB1Z34", "NL") == ["XB1234"]
        # Sidecodes 2, 6, 10 and 12 each leave no choice, but 12 takes the plate as it stands:
        # NL has no resolution of it; BE 999LLL has, reading the Z as 2.
        assert table.readings("Z72SUC", "NL") == ["2725UC", "27ZSUC", "Z725UC", "Z72SUC"]
        assert table.resolutions("Z72SUC", "NL") == []
        assert table.resolutions("Z72SUC", "") == [("BE", "272SUC")]
        assert table.readings("Z72SUC", "") == [] and table.readings("Z72SUC", "PL") == []


def test_german_lengths(formats: PlateFormats, reference_formats: ReferenceFormats) -> None:
    for table in (formats, reference_formats):
        # LLLL9999 reads the G as 6, LLLLL999 the 8 as B too: two readings, no one resolution.
        assert table.readings("ZKEE8G80", "DE") == ["ZKEE8680", "ZKEEB680"]
        assert table.resolve("ZKEE8G80", "DE") is None
        assert table.resolutions("ZKEE8G80", "") == [("DE", "ZKEE8680"), ("DE", "ZKEEB680")]
        assert table.fits_exactly("MAB1", "DE")
        assert table.fits_exactly("MXAB1234", "DE")
        assert not table.fits("MXAB12345", "DE")  # nine characters: over max=8
        assert not table.fits("M1", "DE")  # at least two letters
        assert not table.fits("AB", "DE")


def test_countries(formats: PlateFormats, reference_formats: ReferenceFormats) -> None:
    assert formats.countries == reference_formats.countries
    assert formats.countries == ["BE", "DE", "ES", "FR", "IT", "LU", "NL", "UK"]
    assert formats.countries_fitting("AB123CD") == ["FR", "IT"]
    assert reference_formats.countries_fitting("AB123CD") == ["FR", "IT"]
    # 8 in a letter position is B, 1 may be I or L, Z a digit 2: BE LLL999, DE, LU LL9999, NL.
    assert formats.countries_fitting("A8123Z") == ["BE", "DE", "LU", "NL"]
    assert reference_formats.countries_fitting("A8123Z") == ["BE", "DE", "LU", "NL"]
    for table in (formats, reference_formats):
        assert table.canonical_country(" gb ") == "UK"
        assert table.canonical_country("PL") == "PL"
        assert table.canonical_country("B3") == ""
        assert not table.fits("1ABC123", "PL")  # no formats: nothing fits
        assert table.resolve("1ABC123", "") is None
        assert table.fits_exactly("1ABC123", "")
        assert not table.fits_exactly("1A8C123", "")


def test_non_canonical_plates_fit_nothing(formats: PlateFormats) -> None:
    for plate in ["", "1abc123", "1-ABC-123", "ABCDEFGHIJK"]:
        assert not formats.fits(plate, "")
        assert formats.countries_fitting(plate) == []
        assert formats.resolutions(plate, "") == []


BAD_SPECS = [
    ("BE x 9LLL999\nBE y 9LLQ", 2, "bad pattern '9LLQ'"),
    ("BE x", 1, "expected COUNTRY NAME PATTERN [exclude=LETTERS] [max=N]"),
    ("be x 9L", 1, "country 'be' is not 1-3 upper-case letters"),
    ("BE x L{0,2}", 1, "bad pattern 'L{0,2}'"),
    ("BE x L{2", 1, "bad pattern 'L{2'"),
    ("BE x L{3,2}", 1, "bad pattern 'L{3,2}'"),
    ("BE x L9 exclude=io", 1, "bad exclude 'io'"),
    ("BE x L9 colour=red", 1, "unknown option 'colour=red'"),
    ("BE x L9 max=11", 1, "bad max '11'"),
    ("BE x L9 max=2 max=3", 1, "option 'max' given twice"),
    ("BE x L{5}9{6}", 1, "pattern 'L{5}9{6}' has no expansion of at most 10 characters"),
    ("BE x L{2,5}9 max=2", 1, "pattern 'L{2,5}9' has no expansion of at most 2 characters"),
    ("BE x L9\nalias B", 2, "expected alias CODE COUNTRY"),
    ("BE x L9\nalias B BE\nalias B BE", 3, "alias 'B' given twice"),
    ("alias B NL\nBE x L9", 1, "alias 'B' names 'NL', which has no formats"),
    ("BE x L9\nNL x 9L\nalias NL BE", 3, "alias 'NL' is a country with formats"),
]


@pytest.mark.parametrize(("spec", "line", "what"), BAD_SPECS)
def test_spec_errors_name_the_line(spec: str, line: int, what: str) -> None:
    with pytest.raises(ValueError) as core_error:
        PlateFormats(spec)
    with pytest.raises(ValueError) as reference_error:
        ReferenceFormats(spec, ConfusionClasses())
    assert str(core_error.value) == str(reference_error.value)
    assert str(core_error.value) == f"plate formats line {line}: {what}"


def test_confusion_classes_of_the_core_and_reference_agree() -> None:
    for spec in ["0ODQ 1IL 2Z 5S 8B 6G", "0O\t1I\n", ""]:
        core_classes = _core.ConfusionClasses(spec)
        ref = ConfusionClasses(spec)
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
            assert core_classes.representative(c) == ref.representative(c)
            assert core_classes.members(c) == ref.members(c)
        assert core_classes.ocr_key("O1LB8Q") == ref.ocr_key("O1LB8Q")
    assert ConfusionClasses().ocr_key("O1LB8Q") == "011880"
    for bad in ["0O O1", "0o"]:
        with pytest.raises(ValueError) as core_error:
            _core.ConfusionClasses(bad)
        with pytest.raises(ValueError) as reference_error:
            ConfusionClasses(bad)
        assert str(core_error.value) == str(reference_error.value)
