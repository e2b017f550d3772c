"""GET /metadata publishes each feature's input contract from format 4.0 on; a format 3.0
artefact's features claim none (they never recorded one)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

FORMAT_3_0 = Path(__file__).parent / "data" / "artefact-format-3.0"
Client = Callable[..., FlaskClient]
# What a feature of /metadata held before 4.0, and what 4.0 adds.
BEFORE_4_0 = {
    "name",
    "kind",
    "nullable",
    "dtype",
    "missing_rate",
    "min",
    "max",
    "quantiles",
    "categories",
    "most_frequent",
    "json_type",
}
CONTRACT = {
    "unit",
    "description",
    "plausible_min",
    "plausible_max",
    "imputed",
    "identifier",
    "declared",
}


def features(api: FlaskClient) -> dict[str, dict[str, Any]]:
    response = api.get("/metadata")
    assert response.status_code == 200
    return {f["name"]: f for f in response.get_json()["input"]["features"]}


def test_metadata_publishes_each_feature_s_unit_limits_and_what_was_declared(
    client: Client, contract_artefact: Path
) -> None:
    found = features(client(contract_artefact))
    assert all(set(f) == BEFORE_4_0 | CONTRACT for f in found.values())
    age = {k: found["age"][k] for k in CONTRACT}
    assert age == {
        "unit": "years",
        "description": "Age at admission",
        "plausible_min": 0,
        "plausible_max": 120,
        "imputed": True,
        "identifier": False,
        "declared": ["unit", "description", "min", "max", "nullable"],
    }
    assert found["age"]["nullable"] is False and found["bmi"]["nullable"] is True
    assert found["bmi"]["plausible_min"] == 10.5 and found["bmi"]["unit"] == "kg/m²"
    assert found["ward"]["identifier"] is True and found["ward"]["declared"] == ["description"]
    assert found["sex"]["unit"] is None and found["sex"]["declared"] == []


def test_metadata_of_an_artefact_without_a_dictionary_says_nothing_was_declared(
    client: Client, binary_artefact: Path
) -> None:
    found = features(client(binary_artefact))
    for feature in found.values():
        assert feature["declared"] == [] and feature["unit"] is None
        assert feature["plausible_min"] is None and feature["plausible_max"] is None


def test_metadata_of_a_format_3_0_artefact_shows_the_features_it_always_did(
    client: Client,
) -> None:
    found = features(client(FORMAT_3_0))
    assert list(found) == ["Pclass", "Sex", "Age", "SibSp", "Fare", "Embarked"]
    assert all(set(f) == BEFORE_4_0 for f in found.values())
    # Fare's pipeline imputes it, but 3.0 did not record that: no "imputed": false is claimed.
    assert found["Fare"]["nullable"] is False and "imputed" not in found["Fare"]
