"""Plate normalisation through the public facade: the cases an integrator sends every day."""

from feblam import PlateStatus, normalise_plate


def test_human_styles_fold_to_one_canonical_plate() -> None:
    for raw in ["1-abc-123", "1 ABC 123", "1.ABC.123", "1abc123"]:
        assert normalise_plate(raw) == ("1ABC123", PlateStatus.OK)


def test_failures_give_a_reason_not_an_exception() -> None:
    assert normalise_plate("") == ("", PlateStatus.EMPTY)
    assert normalise_plate("   ") == ("", PlateStatus.EMPTY)
    assert normalise_plate("--") == ("", PlateStatus.NOTHING_LEFT)
    assert normalise_plate("ABC\x00123") == ("", PlateStatus.CONTROL_CHARACTER)
    assert normalise_plate("ABCDEFGHIJK") == ("", PlateStatus.TOO_LONG)
