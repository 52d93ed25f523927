"""Property tests: the C++ normaliser behind the facade equals the pure-Python reference."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from feblam import _core
from feblam.plates import normalise_pattern, normalise_plate
from feblam.reference import normalise as reference
from tests import unicode_drift

# Characters chosen to hit every branch of the fold: separators, look-alikes, marks, controls,
# compatibility forms, wildcards, symbols, and code points outside the BMP.
INTERESTING = list(
    "AZaz09 -._/()'?*+#$%\u00a0\u3000\u2010\u2014"
    "\u0410\u0430\u0412\u0432\u0416\u0391\u03b1\u039d\u03bd\u03a9"
    "\u00d8\u00f8\u0141\u0142\u0110\u0111\u00d0\u0131\u00df\u00c6"
    "\u00c9\u00e9\u0301\u0308\u20dd\u0000\t\n\u007f\u0085\u200b\u200d\u202e\ufeff"
    "\uff21\uff41\uff10\uff0d\u2460\u216b\u2474\u00bd\u00b2\u3392\ufb01"
    "\U0001d400\U0001f697\ue000\U000e0041\U0010ffff\ufffd"
)
SURROGATES = st.characters(categories=["Cs"])
ANY_CODE_POINT = unicode_drift.characters(codec=None, categories=None)

interesting_text = st.lists(
    st.one_of(st.sampled_from(INTERESTING), SURROGATES), max_size=70
).map("".join)
garbage = st.text(alphabet=st.one_of(ANY_CODE_POINT, SURROGATES), max_size=70)
plate_like = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabc0123456789 -.", max_size=80)


@st.composite
def near_limits(draw: st.DrawFn) -> str:
    """Texts whose kept length is around 10 or whose raw length is around 64."""
    kept = draw(st.integers(8, 12))
    chars = draw(st.lists(st.sampled_from("AB12Ⅻ①"), min_size=kept, max_size=kept))
    text = "".join(chars)
    if draw(st.booleans()):
        pad = draw(st.integers(60, 68)) - len(text)
        filler = draw(st.sampled_from(["-", " ", "\u0301", "."]))
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + filler * max(pad, 0) + text[cut:]
    return text


def check(raw: str) -> None:
    assert normalise_plate(raw) == reference.normalise_plate(raw)
    assert normalise_pattern(raw) == reference.normalise_pattern(raw)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(interesting_text, plate_like, near_limits()))
def test_adversarial_text_matches_reference(raw: str) -> None:
    check(raw)


@settings(max_examples=1500, deadline=None)
@given(garbage)
def test_unicode_garbage_matches_reference(raw: str) -> None:
    check(raw)


@settings(max_examples=1000, deadline=None)
@given(unicode_drift.text(max_size=80))
def test_random_text_matches_reference(raw: str) -> None:
    check(raw)


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=40) | interesting_text.map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_bytes_are_utf8_or_invalid_utf8(raw: bytes) -> None:
    """Bytes Python decodes (surrogates allowed) normalise like the text; others are INVALID_UTF8."""
    try:
        text = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        expected_plate = expected_pattern = ("", reference.INVALID_UTF8)
    else:
        expected_plate = reference.normalise_plate(text)
        expected_pattern = reference.normalise_pattern(text)
    assert _core.normalise_plate(raw) == expected_plate
    assert _core.normalise_pattern(raw) == expected_pattern
