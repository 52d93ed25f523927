"""List definitions: a deployment's lists from TOML, with errors that name list and field."""

from __future__ import annotations

import pytest

from feblam.watchlists.definitions import Action, Category, DefinitionError, parse_definitions

GOOD = """
[[list]]
id = 1
name = "stolen-national"
category = "stolen"
priority = 1
action = "intercept"
kinds = ["exact", "resolved", "ocr", "fuzzy"]
near_max_confidence = 0.85
suppression_s = 120

[[list]]
id = 7
name = "wanted-covert"
category = "wanted"
covert = true
recipients = ["federal-investigation"]
action = "observe_discreetly"

[[list]]
id = 40
name = "lez-brussels"
category = "lez"
zone = "brussels-lez"
max_bad_rows = 25
"""


def test_definitions_parse_with_defaults() -> None:
    lists = parse_definitions(GOOD)
    assert sorted(lists) == [1, 7, 40]
    stolen = lists[1]
    assert stolen.category is Category.STOLEN and stolen.action is Action.INTERCEPT
    assert stolen.kinds == ("exact", "resolved", "ocr", "fuzzy")
    assert stolen.near_max_confidence == 0.85 and stolen.suppression_s == 120
    covert = lists[7]
    assert covert.covert and covert.recipients == ("federal-investigation",)
    assert covert.kinds == ("exact", "resolved") and covert.priority == 3
    assert lists[40].zone == "brussels-lez"
    assert lists[40].bad_row_limit(1_000_000) == 25
    assert stolen.bad_row_limit(1_000_000) == 1000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('category = "stolen"', "field 'category': 'lorry' is not one of"),
        ("priority = 1", "field 'priority': must be an integer from 1"),
        ('kinds = ["exact", "resolved", "ocr", "fuzzy"]', "field 'kinds'"),
        ("near_max_confidence = 0.85", "field 'near_max_confidence'"),
        ('action = "intercept"', "field 'action'"),
    ],
)
def test_bad_fields_are_named(change: str, message: str) -> None:
    bad_value = {
        "category": 'category = "lorry"', "priority": "priority = 0",
        "kinds": 'kinds = ["telepathy"]', "near_max_confidence": "near_max_confidence = 2",
        "action": 'action = "arrest"',
    }[change.split(" ")[0]]
    with pytest.raises(DefinitionError, match=message) as err:
        parse_definitions(GOOD.replace(change, bad_value, 1), "lists.toml")
    assert "lists.toml: list #1 (stolen-national)" in str(err.value)


def test_structural_errors() -> None:
    with pytest.raises(DefinitionError, match="not valid TOML"):
        parse_definitions("[[list]\nid=1")
    with pytest.raises(DefinitionError, match="no \\[\\[list\\]\\] tables"):
        parse_definitions("")
    with pytest.raises(DefinitionError, match="'id': 1 is used twice"):
        parse_definitions(GOOD + '\n[[list]]\nid = 1\nname = "x"\ncategory = "other"\n')
    with pytest.raises(DefinitionError, match="covert list needs its named recipients"):
        parse_definitions('[[list]]\nid = 2\nname = "c"\ncategory = "wanted"\ncovert = true\n')
    with pytest.raises(DefinitionError, match="field 'colour': unknown field"):
        parse_definitions('[[list]]\nid = 2\nname = "c"\ncategory = "wanted"\ncolour = "red"\n')
    with pytest.raises(DefinitionError, match="field 'name': missing"):
        parse_definitions('[[list]]\nid = 2\ncategory = "wanted"\n')
