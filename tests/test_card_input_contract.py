"""The model card shows the input contract: each feature's unit, description and plausible
limits, what the model does when it is missing, identifiers (warned of first), and which
facts its author declared. A card of format 3.0 or older is the one it always was.

``contract_artefact`` (tests/conftest.py) writes the contract into a real capture's features,
so the card is tested apart from the code that infers the contract.
"""

from __future__ import annotations

import json
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import HOSTILE_DESCRIPTION

from packager import load_artefact, read_manifest
from packager.artefact import Manifest, card_files, card_page, model_card
from packager.errors import ManifestError

FORMAT_3_0 = Path(__file__).parent / "data" / "artefact-format-3.0"
CONTRACT_HEAD = (
    "| Feature | Kind | Unit | Plausible limits | Missing in training | Range or values "
    "| Description | Notes | Declared by the author |"
)
OLD_HEAD = ("Feature", "Kind", "Missing in training", "Range or values")
UNREAD = "The inputs: recorded in a shape this deployml does not read; see manifest.json."


class _Tables(HTMLParser):
    """The text of every table cell of a page, table by table, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def inputs_table(page: str) -> list[list[str]]:
    """The rows (head first) of the page's table whose head starts Feature, Kind."""
    parsed = _Tables()
    parsed.feed(page)
    [table] = [t for t in parsed.tables if t and t[0][:2] == ["Feature", "Kind"]]
    return table


def with_feature(manifest: Manifest, name: str, **changes: Any) -> Manifest:
    features = tuple(
        replace(f, **changes) if f.name == name else f for f in manifest.input.features
    )
    return replace(manifest, input=replace(manifest.input, features=features))


def test_the_card_shows_units_limits_descriptions_and_what_the_author_declared(
    contract_artefact: Path,
) -> None:
    card = (contract_artefact / "MODEL_CARD.md").read_text()
    assert CONTRACT_HEAD in card
    assert (
        "| age | number, required | years | 0 to 120 | 0.0% | 18 to 94 | Age at admission "
        "| refused when missing, though the model could fill it in "
        "| unit, description, min, max, not nullable |"
    ) in card
    # Limits are the author's, shown as set (not to four figures as measured values are).
    assert "| bmi | number | kg/m² | 10.5 to 80 | 14.1% |" in card
    assert "| filled in by the model when missing | unit, min, max |" in card
    assert (
        "| sex | category |  |  | 0.0% | F, M |  | filled in by the model when missing | none |"
        in (card)
    )
    assert "Everything else was inferred from the training data and the model's pipeline." in card
    assert "outside a feature's plausible limits is refused" in card


def test_a_feature_that_looks_like_an_identifier_is_marked_and_warned_of_first(
    contract_artefact: Path,
) -> None:
    artefact = load_artefact(contract_artefact)
    card = model_card(artefact.manifest)
    warnings = card.split("## Warnings", 1)[1].split("## Model details", 1)[0]
    assert "Feature `ward` looks like a record identifier, yet the model uses it" in warnings
    assert (
        "filled in by the model when missing; looks like a record identifier | description |"
        in (card)
    )
    page = card_page(artefact.manifest, card_files(artefact.path, artefact.manifest))
    first = page.split('id="warnings"', 1)[1].split("</section>", 1)[0]
    assert "Feature <code>ward</code> looks like a record identifier" in first
    # Declared by its author rather than inferred: said so.
    declared = with_feature(artefact.manifest, "ward", declared=["description", "identifier"])
    assert "a record identifier, as its author declared |" in model_card(declared)


def test_the_page_shows_the_same_table_with_the_author_s_text_escaped(
    contract_artefact: Path,
) -> None:
    artefact = load_artefact(contract_artefact)
    page = card_page(artefact.manifest, card_files(artefact.path, artefact.manifest))
    assert "<script" not in page.lower()
    assert "Ward code &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    rows = {row[0]: row for row in inputs_table(page)}
    assert tuple(rows["Feature"]) == tuple(c.strip() for c in CONTRACT_HEAD.strip("|").split("|"))
    assert rows["ward"][6] == HOSTILE_DESCRIPTION
    assert rows["age"][2:4] == ["years", "0 to 120"]
    assert rows["age"][8] == "unit, description, min, max, not nullable"
    # The Markdown keeps the text as text too, on one line of its table.
    card = (contract_artefact / "MODEL_CARD.md").read_text()
    assert '| Ward code \\<script>alert("x")\\</script> \\| of the admission |' in card


def test_one_sided_limits_and_a_missing_dictionary_are_said_as_such(
    contract_artefact: Path, binary_artefact: Path
) -> None:
    manifest = load_artefact(contract_artefact).manifest
    lower = with_feature(manifest, "age", plausible_max=None)
    assert "| years | at least 0 |" in model_card(lower)
    upper = with_feature(manifest, "age", plausible_min=None, plausible_max=100.25)
    assert "| years | at most 100.25 |" in model_card(upper)
    # A 4.0 artefact captured without a dictionary: nothing declared, no empty columns.
    plain = model_card(read_manifest(binary_artefact)[0])
    assert "No data dictionary was given: every fact below was inferred" in plain
    assert "| Feature | Kind | Missing in training | Range or values |" in plain
    assert "Declared by the author" not in plain and "plausible limits" not in plain


def test_a_format_3_0_card_is_the_one_it_was_written_with() -> None:
    manifest, sha256 = read_manifest(FORMAT_3_0)
    files = [p.relative_to(FORMAT_3_0).as_posix() for p in FORMAT_3_0.rglob("*") if p.is_file()]
    assert model_card(manifest, files) == (FORMAT_3_0 / "MODEL_CARD.md").read_text()
    page = card_page(manifest, {}, sha256)
    assert tuple(inputs_table(page)[0]) == OLD_HEAD
    for said in ("data dictionary", "record identifier", "filled in by the model", "Unit"):
        assert said not in page


@pytest.mark.parametrize(
    "changes",
    [
        {"unit": 5},
        {"description": ["a", "b"]},
        {"plausible_min": "0"},
        {"plausible_max": True},
        {"imputed": "yes"},
        {"declared": "unit"},
        {"declared": [1, 2]},
    ],
    ids=lambda c: next(iter(c)),
)
def test_a_contract_field_of_the_wrong_type_degrades_the_inputs_section_only(
    contract_artefact: Path, changes: dict[str, Any]
) -> None:
    manifest = with_feature(load_artefact(contract_artefact).manifest, "age", **changes)
    card = model_card(manifest)
    assert UNREAD in card
    assert "## Inputs" in card and "## Performance" in card and "## Target" in card
    assert "Feature `ward` looks like a record identifier" in card  # the warning stands
    assert UNREAD.replace("'", "&#x27;") in card_page(manifest)


def test_a_manifest_file_with_a_contract_field_of_the_wrong_type_is_refused_naming_it(
    contract_artefact: Path,
) -> None:
    data = json.loads((contract_artefact / "manifest.json").read_text())
    data["input"]["features"][0]["plausible_min"] = "zero"
    with pytest.raises(ManifestError, match=r"input\.features\[0\]\.plausible_min must be"):
        Manifest.from_dict(data)
