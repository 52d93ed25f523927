"""Seeded synthetic national traffic: vehicles, watchlists and noisy camera reads with ground truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from feblam.bench.formats import DIGITS, LETTERS, FixedFormat, parse_formats

PLATE_WIDTH = 10  # MAX_PLATE_LEN of the core
RAW_WIDTH = 16  # a styled read: plate plus a few separators
COUNTRIES: tuple[str, ...] = ("BE", "NL", "FR", "DE", "LU", "UK", "IT", "ES")
# Cameras send either ISO codes or vehicle registration codes; reads use both.
REGISTRATION_CODES: Mapping[str, str] = {
    "BE": "B", "NL": "NL", "FR": "F", "DE": "D", "LU": "L", "UK": "GB", "IT": "I", "ES": "E"
}
CONFUSION_CLASSES = "0ODQ 1IL 2Z 5S 8B 6G"
ALPHABET = DIGITS + LETTERS

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


class Noise(IntEnum):
    """What the reader got wrong in a read's characters (at most one kind per read)."""

    CLEAN = 0
    CLASS_SUB = 1  # one character read as another of its confusion class (8 -> B)
    CLASS_SUB2 = 2  # two such characters
    OTHER_SUB = 3  # one character read as one outside its class (H -> N)
    DROPPED = 4  # one character missed
    ADDED = 5  # one character too many (a bolt, a sticker, a doubled glyph)


class CountryNoise(IntEnum):
    """What the reader reported as the country of the plate."""

    CORRECT = 0
    MISSING = 1
    WRONG = 2


@dataclass(frozen=True)
class NoiseRates:
    """Every noise rate of the synthetic ANPR reader, in one place (shares of all reads).

    Character errors are exclusive: a read has at most one of class_sub, class_sub2, other_sub,
    dropped, added. Styling (separators, case) never changes the canonical plate. Confidence is
    drawn from Beta(clean_confidence) on reads without character errors and Beta(error_confidence)
    on reads with one: the two overlap, as real OCR confidences do.
    """

    human_style: float = 0.55  # separators where a person would put them: 1-ABC-123, AB12 CDE
    stray_separator: float = 0.03  # one separator in an odd place
    lower_case: float = 0.08
    class_sub: float = 0.05
    class_sub2: float = 0.008
    other_sub: float = 0.008
    dropped: float = 0.006
    added: float = 0.004
    country_missing: float = 0.45
    country_wrong: float = 0.02
    country_as_registration_code: float = 0.3  # of correct countries: "B" instead of "BE"
    clean_confidence: tuple[float, float] = (14.0, 1.2)
    error_confidence: tuple[float, float] = (5.0, 2.5)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrafficMix:
    """Who drives past Belgian cameras: country shares and, per country, format rule weights.

    Rules missing from `rules` weigh 1 within their country. Within a rule, fixed-length expansions
    (German plates) weigh the square root of their plate count, so short rare forms appear without
    dominating.
    """

    countries: Mapping[str, float] = field(
        default_factory=lambda: {"BE": 0.775, "NL": 0.07, "FR": 0.06, "DE": 0.05, "LU": 0.02, "UK": 0.015, "IT": 0.005, "ES": 0.005}
    )
    rules: Mapping[str, float] = field(
        default_factory=lambda: {
            "BE/current": 0.86,
            "BE/old-lll999": 0.09,
            "BE/old-999lll": 0.05,
            "NL/sidecode-1": 0.2,
            "NL/sidecode-2": 0.2,
            "NL/sidecode-3": 0.3,
            "NL/sidecode-4": 0.5,
            "NL/sidecode-5": 0.8,
            "NL/sidecode-6": 1.0,
            "NL/sidecode-7": 1.5,
            "NL/sidecode-8": 1.5,
            "NL/sidecode-9": 1.5,
            "NL/sidecode-10": 1.0,
            "NL/sidecode-11": 1.0,
            "NL/sidecode-12": 0.5,
            "NL/sidecode-13": 0.5,
            "NL/sidecode-14": 0.2,
        }
    )


@dataclass(frozen=True)
class FormatCatalogue:
    """The fixed-length formats the generator draws from, with their draw weights."""

    formats: tuple[FixedFormat, ...]
    weights: npt.NDArray[np.float64]

    @staticmethod
    def build(mix: TrafficMix | None = None, text: str | None = None) -> FormatCatalogue:
        mix = mix or TrafficMix()
        rules = parse_formats(text)
        formats: list[FixedFormat] = []
        weights: list[float] = []
        for country, share in mix.countries.items():
            own = [r for r in rules if r.country == country]
            if not own:
                raise ValueError(f"no plate formats for country {country}")
            rule_w = np.array([mix.rules.get(f"{country}/{r.name}", 1.0) for r in own])
            rule_w = rule_w / rule_w.sum() * share
            for rule, rw in zip(own, rule_w):
                sizes = np.array([np.prod([float(len(o)) for o in f.options]) for f in rule.expansions])
                exp_w = np.sqrt(sizes)
                exp_w = exp_w / exp_w.sum() * rw
                formats.extend(rule.expansions)
                weights.extend(exp_w.tolist())
        w = np.array(weights)
        return FormatCatalogue(tuple(formats), w / w.sum())

    def country_index(self) -> U8:
        return np.array([COUNTRIES.index(f.country) for f in self.formats], dtype=np.uint8)


@dataclass
class Vehicles:
    """A population of vehicles: canonical plate, country (index into COUNTRIES), format index."""

    plates: npt.NDArray[np.bytes_]  # 'S10'
    country: U8
    fmt: npt.NDArray[np.uint16]

    def __len__(self) -> int:
        return len(self.plates)

    def take(self, index: npt.NDArray[np.integer[Any]]) -> Vehicles:
        return Vehicles(self.plates[index], self.country[index], self.fmt[index])

    def country_codes(self) -> npt.NDArray[np.bytes_]:
        return np.array(COUNTRIES, dtype="S2")[self.country]


def as_matrix(plates: npt.NDArray[np.bytes_], width: int = PLATE_WIDTH) -> U8:
    """A zero-copy (n, width) byte view of a fixed-width bytes array."""
    arr = np.ascontiguousarray(plates.astype(f"S{width}", copy=False))
    return arr.view(np.uint8).reshape(len(arr), width)


def as_plates(matrix: U8) -> npt.NDArray[np.bytes_]:
    """The fixed-width bytes array of an (n, width) byte matrix (zero bytes are padding)."""
    m = np.ascontiguousarray(matrix)
    return m.view(f"S{m.shape[1]}").reshape(len(m))


def plate_lengths(matrix: U8) -> npt.NDArray[np.int64]:
    return np.asarray(np.count_nonzero(matrix, axis=1), dtype=np.int64)


_CODE = np.zeros(256, dtype=np.uint64)
for _i, _c in enumerate(ALPHABET):
    _CODE[ord(_c)] = _i + 1


def pack_keys(plates: npt.NDArray[np.bytes_], country: U8 | None = None) -> npt.NDArray[np.uint64]:
    """Lossless 64-bit keys: six bits per character, the country in the top four bits."""
    matrix = as_matrix(plates)
    keys = np.zeros(len(matrix), dtype=np.uint64)
    for j in range(PLATE_WIDTH):
        keys |= _CODE[matrix[:, j]] << np.uint64(6 * j)
    if country is not None:
        keys |= country.astype(np.uint64) << np.uint64(60)
    return keys


def generate_plates(rng: np.random.Generator, n: int, catalogue: FormatCatalogue) -> Vehicles:
    """n plates drawn format by format, one column at a time (duplicates possible)."""
    counts = rng.multinomial(n, catalogue.weights)
    out = np.zeros((n, PLATE_WIDTH), dtype=np.uint8)
    fmt = np.empty(n, dtype=np.uint16)
    start = 0
    for fi, (f, k) in enumerate(zip(catalogue.formats, counts)):
        if k == 0:
            continue
        block = out[start : start + k]
        for j, options in enumerate(f.options):
            table = np.frombuffer(options.encode(), dtype=np.uint8)
            block[:, j] = table[rng.integers(0, len(table), size=k)]
        fmt[start : start + k] = fi
        start += k
    order = rng.permutation(n)
    fmt = fmt[order]
    return Vehicles(as_plates(out[order]), catalogue.country_index()[fmt], fmt)


def generate_vehicles(rng: np.random.Generator, n: int, catalogue: FormatCatalogue) -> Vehicles:
    """n distinct vehicles: no two share plate and country (the same plate may exist in two countries)."""
    have: Vehicles | None = None
    while have is None or len(have) < n:
        missing = n if have is None else n - len(have)
        extra = generate_plates(rng, int(missing * 1.15) + 16, catalogue)
        if have is not None:
            extra = Vehicles(
                np.concatenate([have.plates, extra.plates]),
                np.concatenate([have.country, extra.country]),
                np.concatenate([have.fmt, extra.fmt]),
            )
        keys = pack_keys(extra.plates, extra.country)
        order = np.argsort(keys)
        ordered = keys[order]
        distinct = np.ones(len(keys), dtype=bool)
        distinct[1:] = ordered[1:] != ordered[:-1]
        # Rows are in random order already, so which copy of a duplicate survives does not matter.
        have = extra.take(np.sort(order[distinct]))
    return have.take(np.arange(n))


# --- watchlists -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListSpec:
    """A synthetic watchlist: its size and how many entries carry a country."""

    name: str
    list_id: int
    size: int
    country_share: float = 0.7
    partial: bool = False  # witness partial plates ('?' one character, '*' a run)


@dataclass
class Watchlists:
    """Entries of several lists as parallel arrays, each with the vehicle it truly names."""

    plates: npt.NDArray[np.bytes_]  # canonical plates, or patterns for partial lists
    countries: npt.NDArray[np.bytes_]  # 'S2', b"" when the entry carries no country
    list_ids: npt.NDArray[np.uint16]
    entry_nos: npt.NDArray[np.uint32]
    vehicle: I64
    specs: tuple[ListSpec, ...]

    def __len__(self) -> int:
        return len(self.plates)


def _partial_patterns(rng: np.random.Generator, plates: npt.NDArray[np.bytes_]) -> npt.NDArray[np.bytes_]:
    """What witnesses remember: one or two characters unknown, or a run in the middle."""
    original = as_matrix(plates)
    m = original.copy()
    lengths = plate_lengths(m)
    n = len(m)
    rows = np.arange(n)
    m[rows, rng.integers(0, lengths)] = ord("?")
    two = rng.random(n) < 0.5
    m[rows[two], rng.integers(0, lengths)[two]] = ord("?")
    star = (rng.random(n) < 0.3) & (lengths >= 5)
    start = rng.integers(1, np.maximum(lengths - 3, 2))
    out: list[bytes] = []
    for i in range(n):
        length, a = int(lengths[i]), int(start[i])
        if star[i]:
            out.append(bytes(original[i, :a]) + b"*" + bytes(original[i, a + 2 : length]))
        else:
            out.append(bytes(m[i, :length]))
    return np.array(out, dtype=f"S{PLATE_WIDTH}")


def generate_watchlists(
    rng: np.random.Generator, population: Vehicles, listed_pool: I64, specs: Sequence[ListSpec]
) -> Watchlists:
    """Each list names distinct vehicles of `listed_pool`; lists overlap as real ones do."""
    parts: list[tuple[Any, ...]] = []
    for spec in specs:
        size = min(spec.size, len(listed_pool))
        vehicle = rng.choice(listed_pool, size=size, replace=False)
        chosen = population.take(vehicle)
        plates = _partial_patterns(rng, chosen.plates) if spec.partial else chosen.plates
        countries = chosen.country_codes()
        countries[rng.random(size) >= spec.country_share] = b""
        parts.append((plates, countries, np.full(size, spec.list_id, np.uint16), vehicle))
    plates = np.concatenate([p[0] for p in parts]).astype(f"S{PLATE_WIDTH}")
    countries = np.concatenate([p[1] for p in parts]).astype("S2")
    list_ids = np.concatenate([p[2] for p in parts])
    vehicle = np.concatenate([p[3] for p in parts]).astype(np.int64)
    entry_nos = np.arange(len(plates), dtype=np.uint32) + np.uint32(1)
    return Watchlists(plates, countries, list_ids, entry_nos, vehicle, tuple(specs))


# --- reads ----------------------------------------------------------------------------------


@dataclass
class Traffic:
    """Camera reads as a reader sends them, each with its ground truth."""

    raw: npt.NDArray[np.bytes_]  # 'S16' raw OCR text: separators, case, errors
    country: npt.NDArray[np.bytes_]  # 'S3' reported country, b"" when the reader gave none
    confidence: npt.NDArray[np.float32]
    vehicle: I64  # ground truth: index into the population
    emitted: npt.NDArray[np.bytes_]  # canonical plate of what the reader emitted
    noise: U8  # Noise
    country_noise: U8  # CountryNoise
    styled: npt.NDArray[np.bool_]  # separators or lower case (never changes the canonical plate)

    def __len__(self) -> int:
        return len(self.raw)


def _class_tables(spec: str) -> tuple[U8, U8, U8, U8]:
    """Per byte: the other members of its class, and the characters outside its class."""
    partners = np.zeros((256, 4), dtype=np.uint8)
    partner_count = np.zeros(256, dtype=np.uint8)
    outside = np.zeros((256, len(ALPHABET)), dtype=np.uint8)
    outside_count = np.zeros(256, dtype=np.uint8)
    groups = spec.split()
    for c in ALPHABET:
        group = next((g for g in groups if c in g), c)
        others = [g for g in group if g != c]
        partners[ord(c), : len(others)] = np.frombuffer("".join(others).encode(), np.uint8)
        partner_count[ord(c)] = len(others)
        rest = "".join(x for x in ALPHABET if x not in group)
        outside[ord(c), : len(rest)] = np.frombuffer(rest.encode(), np.uint8)
        outside_count[ord(c)] = len(rest)
    return partners, partner_count, outside, outside_count


def _pick_position(rng: np.random.Generator, allowed: npt.NDArray[np.bool_]) -> tuple[I64, npt.NDArray[np.bool_]]:
    """One random allowed position per row, and whether the row had any."""
    r = rng.random(allowed.shape)
    r[~allowed] = -1.0
    return np.argmax(r, axis=1).astype(np.int64), np.asarray(allowed.any(axis=1), dtype=bool)


def _substitute(
    rng: np.random.Generator, m: U8, rows: I64, allowed: npt.NDArray[np.bool_], table: U8, count: U8
) -> npt.NDArray[np.bool_]:
    """Replace one allowed character of each row in `rows` by a random entry of its table row."""
    pos, ok = _pick_position(rng, allowed[rows])
    rows, pos = rows[ok], pos[ok]
    old = m[rows, pos]
    pick = (rng.random(len(rows)) * count[old]).astype(np.int64)
    m[rows, pos] = table[old, pick]
    return ok


def apply_noise(
    rng: np.random.Generator, plates: npt.NDArray[np.bytes_], country: U8, rates: NoiseRates
) -> Traffic:
    """Turn true canonical plates into reads; `vehicle` of the result is left for the caller."""
    n = len(plates)
    m = as_matrix(plates).copy()
    cols = np.arange(PLATE_WIDTH).reshape(1, -1)
    partners, partner_count, outside, outside_count = _class_tables(CONFUSION_CLASSES)

    error_p = [rates.class_sub, rates.class_sub2, rates.other_sub, rates.dropped, rates.added]
    noise = rng.choice(6, size=n, p=[1.0 - sum(error_p), *error_p]).astype(np.uint8)

    lengths = plate_lengths(m)
    inside = cols < lengths[:, None]
    for kind, times in ((Noise.CLASS_SUB, 1), (Noise.CLASS_SUB2, 2)):
        rows = np.flatnonzero(noise == kind)
        done = np.ones(len(rows), dtype=bool)
        before = m[rows].copy()
        for _ in range(times):
            # Only positions not changed yet, so two substitutions hit two places.
            allowed = (partner_count[m] > 0) & inside
            allowed[rows] &= m[rows] == before
            done &= _substitute(rng, m, rows, allowed, partners, partner_count)
        noise[rows[~done]] = Noise.CLEAN
        m[rows[~done]] = before[~done]
    rows = np.flatnonzero(noise == Noise.OTHER_SUB)
    _substitute(rng, m, rows, inside, outside, outside_count)

    rows = np.flatnonzero((noise == Noise.DROPPED) & (lengths >= 2))
    noise[(noise == Noise.DROPPED) & (lengths < 2)] = Noise.CLEAN
    p = rng.integers(0, lengths[rows])
    src = np.minimum(cols + (cols >= p[:, None]), PLATE_WIDTH - 1)
    dropped = np.take_along_axis(m[rows], src, axis=1)
    dropped[cols >= (lengths[rows] - 1)[:, None]] = 0
    m[rows] = dropped

    rows = np.flatnonzero((noise == Noise.ADDED) & (lengths < PLATE_WIDTH))
    noise[(noise == Noise.ADDED) & (lengths >= PLATE_WIDTH)] = Noise.CLEAN
    p = rng.integers(0, lengths[rows] + 1)
    src = np.maximum(cols - (cols > p[:, None]), 0)
    added = np.take_along_axis(m[rows], src, axis=1)
    random_char = np.frombuffer(ALPHABET.encode(), np.uint8)[rng.integers(0, len(ALPHABET), len(rows))]
    neighbour = m[rows, np.maximum(p - 1, 0)]
    # Half the added characters repeat a neighbour (a doubled glyph), half come from nowhere.
    added[np.arange(len(rows)), p] = np.where(rng.random(len(rows)) < 0.5, neighbour, random_char)
    added[cols > lengths[rows][:, None]] = 0
    m[rows] = added

    emitted = as_plates(m.copy())
    raw, styled = _style(rng, m, country, rates)

    country_noise = rng.choice(
        3, size=n, p=[1.0 - rates.country_missing - rates.country_wrong, rates.country_missing, rates.country_wrong]
    ).astype(np.uint8)
    shown = country.astype(np.int64)
    wrong = country_noise == CountryNoise.WRONG
    shown[wrong] = (shown[wrong] + rng.integers(1, len(COUNTRIES), int(wrong.sum()))) % len(COUNTRIES)
    iso = np.array(COUNTRIES, dtype="S3")
    reg = np.array([REGISTRATION_CODES[c] for c in COUNTRIES], dtype="S3")
    use_reg = rng.random(n) < rates.country_as_registration_code
    reported = np.where(use_reg, reg[shown], iso[shown])
    reported[country_noise == CountryNoise.MISSING] = b""

    conf = np.where(
        noise == Noise.CLEAN,
        rng.beta(*rates.clean_confidence, size=n),
        rng.beta(*rates.error_confidence, size=n),
    ).astype(np.float32)
    return Traffic(
        raw=raw,
        country=reported.astype("S3"),
        confidence=conf,
        vehicle=np.full(n, -1, dtype=np.int64),
        emitted=emitted,
        noise=noise,
        country_noise=country_noise,
        styled=styled,
    )


def _style(rng: np.random.Generator, m: U8, country: U8, rates: NoiseRates) -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.bool_]]:
    """Raw text as readers send it: separators where a person puts them, sometimes lower case."""
    n = len(m)
    cols = np.arange(PLATE_WIDTH).reshape(1, -1)
    lengths = plate_lengths(m)
    letter = m >= ord("A")
    # gap[:, j]: a separator after character j.
    inner = cols < (lengths - 1)[:, None]
    nxt = np.roll(letter, -1, axis=1)
    transition = (letter != nxt) & inner
    uk = country == COUNTRIES.index("UK")
    gap = transition.copy()
    gap[uk] &= ~letter[uk]  # AB12 CDE: only the digit-to-letter gap
    sep = np.full((n, PLATE_WIDTH), ord("-"), dtype=np.uint8)
    for code in ("LU", "UK", "DE"):
        sep[country == COUNTRIES.index(code)] = ord(" ")
    de = np.flatnonzero(country == COUNTRIES.index("DE"))
    if len(de):
        # District and letters: the separator a German plate carries, lost in canonical form.
        lead = np.argmin(letter[de], axis=1)
        lead[letter[de].all(axis=1)] = 0
        split = np.clip(lead - rng.integers(1, 3, len(de)), 1, 3) - 1
        ok = lead >= 2
        gap[de[ok], split[ok]] = True
        sep[de[ok], split[ok]] = ord("-")
    odd = rng.random(n) < 0.1
    sep[odd] = np.array([ord(" "), ord("."), ord("-")], np.uint8)[rng.integers(0, 3, int(odd.sum()))][:, None]

    human = rng.random(n) < rates.human_style
    gap &= human[:, None]
    stray = rng.random(n) < rates.stray_separator
    pos, ok = _pick_position(rng, inner)
    stray &= ok
    gap[np.flatnonzero(stray), pos[stray]] = True

    before = np.cumsum(gap, axis=1) - gap
    out_pos = cols + before
    if int((lengths + gap.sum(axis=1)).max(initial=0)) > RAW_WIDTH:
        raise AssertionError("styled read wider than RAW_WIDTH")
    raw = np.zeros((n, RAW_WIDTH), dtype=np.uint8)
    r, c = np.nonzero(cols < lengths[:, None])
    raw[r, out_pos[r, c]] = m[r, c]
    r, c = np.nonzero(gap)
    raw[r, out_pos[r, c] + 1] = sep[r, c]

    lower = rng.random(n) < rates.lower_case
    raw[lower] = np.where(raw[lower] >= ord("A"), raw[lower] + 32, raw[lower])
    return as_plates(raw), human | stray | lower


def generate_traffic(
    rng: np.random.Generator,
    population: Vehicles,
    listed: I64,
    unlisted: I64,
    n_reads: int,
    listed_share: float,
    rates: NoiseRates,
) -> Traffic:
    """n_reads reads: a `listed_share` of them of vehicles drawn from `listed`, the rest from `unlisted`."""
    n_listed = int(rng.binomial(n_reads, listed_share)) if len(listed) else 0
    vehicle = np.concatenate(
        [listed[rng.integers(0, len(listed), n_listed)], unlisted[rng.integers(0, len(unlisted), n_reads - n_listed)]]
    ).astype(np.int64)
    vehicle = vehicle[rng.permutation(n_reads)]
    truth = population.take(vehicle)
    traffic = apply_noise(rng, truth.plates, truth.country, rates)
    traffic.vehicle = vehicle
    return traffic
