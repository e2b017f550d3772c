"""``deployml inspect`` prints one line per feature: kind, unit, plausible limits and training
range, whether it may be missing and whether the model fills it in, identifiers (with a
warning), what the author declared, and the description. Format 3.0 prints what it always did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from click.testing import Result

from packager import read_manifest, summarise
from packager.artefact import Manifest, model_card

FORMAT_3_0 = Path(__file__).parent / "data" / "artefact-format-3.0"
Runner = Callable[..., Result]


def feature_lines(text: str) -> list[str]:
    """The lines under ``Inputs (...)``, and a warning right after them."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Inputs ("))
    following = lines[start + 1 :]
    end = next(
        i for i, line in enumerate(following) if not line.startswith(("  ", "WARNING:    '"))
    )
    return following[:end]


def with_feature(manifest: Manifest, name: str, **changes: Any) -> Manifest:
    features = tuple(
        replace(f, **changes) if f.name == name else f for f in manifest.input.features
    )
    return replace(manifest, input=replace(manifest.input, features=features))


def test_inspect_prints_each_feature_s_input_contract_on_one_line(
    runner: Runner, contract_artefact: Path
) -> None:
    result = runner("inspect", contract_artefact)
    assert result.exit_code == 0, result.output
    assert feature_lines(result.output) == [
        "  age     number    unit years; plausible 0 to 120; 18 to 94 in training; required, "
        "though the model could fill it in; declared: unit, description, min, max, not nullable; "
        '"Age at admission"',
        "  bmi     number    unit kg/m²; plausible 10.5 to 80; 15.2 to 36.1 in training; nullable, "
        "filled in by the model; 14% missing; declared: unit, min, max",
        "  sex     category  F, M; nullable, filled in by the model",
        "  ward    category  a, b, c; nullable, filled in by the model; 9% missing; looks like an "
        'identifier; declared: description; "Ward code <script>alert("x")</script> | of the '
        'admission"',
        "  smoker  boolean   nullable, filled in by the model",
        "WARNING:    'ward' looks like a record identifier, yet the model uses it",
    ]


def test_a_yes_or_no_declared_no_reads_not_so_in_inspect_and_the_card(
    contract_artefact: Path,
) -> None:
    # --date enters "identifier: false" for its days: a bare "identifier" would read as a yes.
    manifest = read_manifest(contract_artefact)[0]
    manifest = with_feature(manifest, "smoker", declared=["description", "identifier"])
    lines = feature_lines(summarise(manifest))
    assert lines[4].endswith("declared: description, not identifier")
    assert "| description, not identifier |" in model_card(manifest)
    declared_yes = with_feature(manifest, "smoker", identifier=True)
    assert feature_lines(summarise(declared_yes))[4].endswith("declared: description, identifier")


def test_inspect_says_whether_an_identifier_was_declared_and_names_every_one(
    contract_artefact: Path,
) -> None:
    manifest = read_manifest(contract_artefact)[0]
    manifest = with_feature(manifest, "ward", declared=["identifier"])
    manifest = with_feature(manifest, "smoker", identifier=True)
    lines = feature_lines(summarise(manifest))
    assert (
        "a, b, c; nullable, filled in by the model; 9% missing; an identifier (declared)"
        in (lines[3])
    )
    assert lines[4].endswith("nullable, filled in by the model; looks like an identifier")
    assert (
        lines[5]
        == "WARNING:    'ward', 'smoker' look like record identifiers, yet the model uses them"
    )


def test_a_long_or_multiline_description_stays_on_its_feature_s_line(
    contract_artefact: Path,
) -> None:
    manifest = read_manifest(contract_artefact)[0]
    text = "Body mass index\n\tmeasured at\x1b[31m admission, " + "in detail " * 20
    lines = feature_lines(summarise(with_feature(manifest, "bmi", description=text)))
    assert len(lines) == 6
    described = lines[1].split("; ")[-1]
    assert described.startswith('"Body mass index measured at [31m admission, in detail')
    assert described.endswith('..."') and len(described) <= 2 + 80
    assert "\x1b" not in lines[1]


def test_one_sided_limits_are_shown_exactly_as_set(contract_artefact: Path) -> None:
    manifest = read_manifest(contract_artefact)[0]
    lower = feature_lines(summarise(with_feature(manifest, "age", plausible_max=None)))
    assert lower[0].startswith("  age     number    unit years; plausible at least 0; 18 to 94")
    upper = with_feature(manifest, "age", plausible_min=None, plausible_max=100.25)
    assert "; plausible at most 100.25; " in feature_lines(summarise(upper))[0]


def test_inspect_of_a_format_3_0_artefact_prints_its_features_as_it_always_did(
    runner: Runner,
) -> None:
    result = runner("inspect", FORMAT_3_0)
    assert result.exit_code == 0, result.output
    assert feature_lines(result.output) == [
        "  Pclass    integer   1 to 3",
        "  Sex       category  female, male",
        "  Age       number    nullable; 20% missing; 0.5 to 67",
        "  SibSp     integer   0 to 3",
        "  Fare      number    1.24 to 329.2",
        "  Embarked  category  nullable; 3% missing; C, Q, S",
    ]


def test_a_4_0_artefact_without_a_dictionary_prints_what_was_inferred(
    runner: Runner, pipeline_artefact: Path
) -> None:
    lines = feature_lines(runner("inspect", pipeline_artefact).output)
    assert [line.split()[0] for line in lines] == ["age", "bmi", "sex", "ward", "smoker"]
    assert not any("declared" in line or "unit " in line or "plausible" in line for line in lines)
    assert "in training" in lines[0]
