"""Reference national plate formats: the spec parser and fit/resolve exactly as docs/core.md says."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass

from feblam.reference.confusion import ConfusionClasses

MAX_PLATE_LEN = 10

LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = frozenset("0123456789")
PLATE_CHARS = LETTERS | DIGITS

_RULE_USAGE = "expected COUNTRY NAME PATTERN [exclude=LETTERS] [max=N]"
_ALIAS_USAGE = "expected alias CODE COUNTRY"


def default_format_spec() -> str:
    """The packaged feblam/data/plate_formats.txt."""
    return importlib.resources.files("feblam.data").joinpath("plate_formats.txt").read_text("utf-8")


def pack_country(code: str) -> int:
    """The 5-bits-per-letter code the C++ core sorts countries by."""
    packed = 0
    for letter in code:
        packed = (packed << 5) | (ord(letter) - ord("A") + 1)
    return packed


def country_code(text: str) -> str:
    """1-3 ASCII letters after trimming spaces, upper-cased; "" for anything else (unknown)."""
    text = text.strip(" ")
    if not 1 <= len(text) <= 3:
        return ""
    if not all(("A" <= c <= "Z") or ("a" <= c <= "z") for c in text):
        return ""
    return text.upper()


def is_canonical_plate(plate: str) -> bool:
    return 1 <= len(plate) <= MAX_PLATE_LEN and all(c in PLATE_CHARS for c in plate)


@dataclass(frozen=True)
class FixedPattern:
    """One expansion of a format rule: a string over L, 9, X and the letters L allows."""

    shape: str
    letters: frozenset[str]


@dataclass(frozen=True)
class FormatRule:
    """One rule line of the spec: its country, its name and its fixed-length expansions."""

    country: str
    name: str
    patterns: tuple[FixedPattern, ...]


class SpecError(ValueError):
    """A plate format spec that does not parse; the message names the line."""

    def __init__(self, line_no: int, what: str) -> None:
        super().__init__(f"plate formats line {line_no}: {what}")


def _is_country_token(token: str) -> bool:
    return 1 <= len(token) <= 3 and all(c in LETTERS for c in token)


def _small_number(text: str) -> int | None:
    if not 1 <= len(text) <= 2 or not all(c in DIGITS for c in text):
        return None
    return int(text)


def _parse_pattern(pattern: str) -> list[tuple[str, int, int]] | None:
    """Units (kind, min, max) of a pattern such as L{2,5}9{1,4}; None when it does not parse."""
    units: list[tuple[str, int, int]] = []
    if not pattern:
        return None
    i = 0
    while i < len(pattern):
        kind = pattern[i]
        if kind not in "L9X":
            return None
        i += 1
        lo = hi = 1
        if i < len(pattern) and pattern[i] == "{":
            close = pattern.find("}", i)
            if close < 0:
                return None
            parts = pattern[i + 1 : close].split(",")
            if len(parts) > 2:
                return None
            numbers = [_small_number(p) for p in parts]
            if any(n is None for n in numbers):
                return None
            lo = numbers[0] or 0
            hi = numbers[-1] or 0
            if not 1 <= lo <= hi <= MAX_PLATE_LEN:
                return None
            i = close + 1
        units.append((kind, lo, hi))
    return units


def _expand(units: list[tuple[str, int, int]], longest: int) -> list[str]:
    shapes: list[str] = []

    def walk(index: int, prefix: str) -> None:
        if len(prefix) > longest:
            return
        if index == len(units):
            shapes.append(prefix)
            return
        kind, lo, hi = units[index]
        for n in range(lo, hi + 1):
            walk(index + 1, prefix + kind * n)

    walk(0, "")
    return shapes


def _split_tokens(line: str) -> list[str]:
    tokens: list[str] = []
    current: list[str] = []
    for ch in line:
        if ch in " \t\r":
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        tokens.append("".join(current))
    return tokens


class ReferenceFormats:
    """The national formats of a spec text, judged with one set of confusion classes."""

    def __init__(self, spec_text: str, classes: ConfusionClasses) -> None:
        self.classes = classes
        self._patterns: dict[str, list[FixedPattern]] = {}
        # Rule lines in spec order, named: the synthetic traffic generator weights them.
        self.rules: list[FormatRule] = []
        self._aliases: dict[str, str] = {}
        alias_lines: list[tuple[int, str, str]] = []
        for line_no, line in enumerate(spec_text.split("\n"), start=1):
            tokens = _split_tokens(line.split("#", 1)[0])
            if not tokens:
                continue
            if tokens[0] == "alias":
                alias_lines.append(self._parse_alias(line_no, tokens))
            else:
                self._parse_rule(line_no, tokens)
        for line_no, code, target in alias_lines:
            if code in self._patterns:
                raise SpecError(line_no, f"alias '{code}' is a country with formats")
            if target not in self._patterns:
                raise SpecError(line_no, f"alias '{code}' names '{target}', which has no formats")
        self.countries: list[str] = sorted(self._patterns, key=pack_country)

    def _parse_alias(self, line_no: int, tokens: list[str]) -> tuple[int, str, str]:
        if len(tokens) != 3:
            raise SpecError(line_no, _ALIAS_USAGE)
        for token in tokens[1:]:
            if not _is_country_token(token):
                raise SpecError(line_no, f"country '{token}' is not 1-3 upper-case letters")
        code, target = tokens[1], tokens[2]
        if code in self._aliases:
            raise SpecError(line_no, f"alias '{code}' given twice")
        self._aliases[code] = target
        return line_no, code, target

    def _parse_rule(self, line_no: int, tokens: list[str]) -> None:
        if len(tokens) < 3:
            raise SpecError(line_no, _RULE_USAGE)
        country, pattern = tokens[0], tokens[2]
        if not _is_country_token(country):
            raise SpecError(line_no, f"country '{country}' is not 1-3 upper-case letters")
        units = _parse_pattern(pattern)
        if units is None:
            raise SpecError(line_no, f"bad pattern '{pattern}'")
        excluded: str | None = None
        longest: int | None = None
        for option in tokens[3:]:
            key, eq, value = option.partition("=")
            if not eq or key not in ("exclude", "max"):
                raise SpecError(line_no, f"unknown option '{option}'")
            if key == "exclude":
                if excluded is not None:
                    raise SpecError(line_no, "option 'exclude' given twice")
                if not value or not all(c in LETTERS for c in value):
                    raise SpecError(line_no, f"bad exclude '{value}'")
                excluded = value
            else:
                if longest is not None:
                    raise SpecError(line_no, "option 'max' given twice")
                number = _small_number(value)
                if number is None or not 1 <= number <= MAX_PLATE_LEN:
                    raise SpecError(line_no, f"bad max '{value}'")
                longest = number
        limit = MAX_PLATE_LEN if longest is None else longest
        shapes = _expand(units, limit)
        if not shapes:
            raise SpecError(
                line_no, f"pattern '{pattern}' has no expansion of at most {limit} characters"
            )
        letters = LETTERS - frozenset(excluded or "")
        patterns = self._patterns.setdefault(country, [])
        expansions = tuple(FixedPattern(shape, letters) for shape in shapes)
        self.rules.append(FormatRule(country, tokens[1], expansions))
        for fixed in expansions:
            if fixed not in patterns:
                patterns.append(fixed)

    # --- countries -------------------------------------------------------------------------

    def canonical_country(self, text: str) -> str:
        """Country code with aliases applied ("b" -> "BE"); "" when unknown."""
        code = country_code(text)
        return self._aliases.get(code, code)

    def has_formats(self, country: str) -> bool:
        return self.canonical_country(country) in self._patterns

    # --- one pattern -----------------------------------------------------------------------

    def _options(self, ch: str, kind: str, letters: frozenset[str]) -> set[str]:
        allowed = DIGITS if kind == "9" else letters if kind == "L" else PLATE_CHARS
        if ch in allowed:
            return {ch}
        return {m for m in self.classes.members(ch) if m in allowed}

    def _position_options(self, plate: str, pattern: FixedPattern) -> list[set[str]] | None:
        """Options per position, or None when the pattern does not fit the plate."""
        if len(pattern.shape) != len(plate):
            return None
        options = [self._options(c, k, pattern.letters) for c, k in zip(plate, pattern.shape)]
        if any(not o for o in options):
            return None
        return options

    # --- the contract ----------------------------------------------------------------------

    def _tried(self, country: str) -> list[str]:
        code = self.canonical_country(country)
        if not code:
            return list(self.countries)
        return [code] if code in self._patterns else []

    def fits(self, plate: str, country: str) -> bool:
        """Some format of the country (of some country when unknown) fits the plate."""
        if not is_canonical_plate(plate):
            return False
        return any(
            self._position_options(plate, p) is not None
            for c in self._tried(country)
            for p in self._patterns[c]
        )

    def fits_exactly(self, plate: str, country: str) -> bool:
        """Some format fits with no confusable read otherwise."""
        if not is_canonical_plate(plate):
            return False
        for c in self._tried(country):
            for p in self._patterns[c]:
                options = self._position_options(plate, p)
                if options is not None and all(o == {ch} for o, ch in zip(options, plate)):
                    return True
        return False

    def resolve(self, plate: str, country: str) -> str | None:
        """The one reading every fitting format of a known country agrees on, if any."""
        code = self.canonical_country(country)
        if not is_canonical_plate(plate) or code not in self._patterns:
            return None
        readings: set[str] = set()
        for p in self._patterns[code]:
            options = self._position_options(plate, p)
            if options is None:
                continue
            if any(len(o) != 1 for o in options):
                return None
            readings.add("".join(next(iter(o)) for o in options))
        if len(readings) != 1:
            return None
        return next(iter(readings))

    def readings(self, plate: str, country: str) -> list[str]:
        """Sorted distinct readings of the fitting formats of a known country that leave no choice."""
        code = self.canonical_country(country)
        if not is_canonical_plate(plate) or code not in self._patterns:
            return []
        found: set[str] = set()
        for p in self._patterns[code]:
            options = self._position_options(plate, p)
            if options is not None and all(len(o) == 1 for o in options):
                found.add("".join(next(iter(o)) for o in options))
        return sorted(found)

    def countries_fitting(self, plate: str) -> list[str]:
        return [c for c in self.countries if self.fits(plate, c)]

    def resolutions(self, plate: str, country: str) -> list[tuple[str, str]]:
        """(country, reading) for each country tried that does not take the plate as it stands."""
        return [
            (c, reading)
            for c in self._tried(country)
            if not self.fits_exactly(plate, c)
            for reading in self.readings(plate, c)
        ]
