"""Plate normalisation and national plate formats (docs/core.md)."""

from __future__ import annotations

from enum import IntEnum

from feblam._native import core
from feblam.reference.formats import default_format_spec

MAX_PLATE_LEN: int = core.MAX_PLATE_LEN
MAX_RAW_CODEPOINTS: int = core.MAX_RAW_CODEPOINTS
DEFAULT_CONFUSION_CLASSES: str = core.DEFAULT_CONFUSION_CLASSES

__all__ = [
    "DEFAULT_CONFUSION_CLASSES",
    "MAX_PLATE_LEN",
    "MAX_RAW_CODEPOINTS",
    "PlateFormats",
    "PlateStatus",
    "STATUS_REASONS",
    "default_format_spec",
    "normalise_pattern",
    "normalise_plate",
]


class PlateStatus(IntEnum):
    """Why a raw plate text did (or did not) give a canonical plate."""

    OK = 0
    EMPTY = 1
    CONTROL_CHARACTER = 2
    TOO_LONG = 3
    NOTHING_LEFT = 4
    INVALID_CHARACTER = 5
    INVALID_UTF8 = 6


# What each failure means, in the words reports and read acknowledgements give operators.
STATUS_REASONS: dict[PlateStatus, str] = {
    PlateStatus.EMPTY: "plate is empty",
    PlateStatus.CONTROL_CHARACTER: "plate holds a control character",
    PlateStatus.TOO_LONG: "plate is longer than any plate",
    PlateStatus.NOTHING_LEFT: "plate has no letter or digit",
    PlateStatus.INVALID_CHARACTER: "plate holds a character that is not a plate character",
    PlateStatus.INVALID_UTF8: "plate is not valid UTF-8",
}


def normalise_plate(raw: str) -> tuple[str, PlateStatus]:
    """Canonical plate and status; the plate is "" unless the status is OK. Never raises."""
    text, status = core.normalise_plate(raw.encode("utf-8", "surrogatepass"))
    return text, PlateStatus(status)


def normalise_pattern(raw: str) -> tuple[str, PlateStatus]:
    """As normalise_plate, keeping '?' (one character) and '*' (any run) of partial plates."""
    text, status = core.normalise_pattern(raw.encode("utf-8", "surrogatepass"))
    return text, PlateStatus(status)


class PlateFormats:
    """National plate formats (feblam/data/plate_formats.txt syntax) judged with confusion classes.

    Countries are text as cameras send them ("BE", "b", "BEL"; "" is unknown); aliases apply.
    Raises ValueError naming the line when the spec does not parse.
    """

    def __init__(
        self, spec: str | None = None, confusion_classes: str = DEFAULT_CONFUSION_CLASSES
    ) -> None:
        self._table = core.FormatTable(
            default_format_spec() if spec is None else spec, confusion_classes
        )

    @property
    def countries(self) -> list[str]:
        """Countries that have formats, sorted as the core sorts packed codes."""
        return self._table.countries

    def canonical_country(self, country: str) -> str:
        """The country code with aliases applied; "" when unknown."""
        return self._table.canonical_country(country)

    def has_formats(self, country: str) -> bool:
        """True when the country (after aliases) has formats."""
        return self._table.has_formats(country)

    def fits(self, plate: str, country: str) -> bool:
        """Some format of the country (some country when unknown) fits, confusables allowed."""
        return self._table.fits(plate, country)

    def fits_exactly(self, plate: str, country: str) -> bool:
        """Some format fits with every character read as written."""
        return self._table.fits_exactly(plate, country)

    def resolve(self, plate: str, country: str) -> str | None:
        """The one reading the country's formats allow (docs/core.md), or None."""
        return self._table.resolve(plate, country)

    def readings(self, plate: str, country: str) -> list[str]:
        """Sorted readings that some fitting format of a known country leaves no choice in."""
        return self._table.readings(plate, country)

    def countries_fitting(self, plate: str) -> list[str]:
        """Countries whose formats fit the plate."""
        return self._table.countries_fitting(plate)

    def resolutions(self, plate: str, country: str) -> list[tuple[str, str]]:
        """(country, reading) for each reading of each country tried that cannot take the plate as read."""
        return self._table.resolutions(plate, country)
