"""GET /openapi.json: an OpenAPI 3.1 document made from the served model's own schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import make_pbc, make_penguins
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from deployml.cli import cli

PBC_DICTIONARY = """\
age: {unit: years, description: Age at registration, min: 18, max: 100}
bili: {unit: mg/dL, description: Serum bilirubin, min: 0, max: 50}
albumin: {unit: g/dL, min: 0.5, max: 7}
"""


def train_pbc(folder: Path) -> Path:
    """A PBC model trained with its data dictionary (units, descriptions, limits) and its
    codes named as categories: a binary classifier with profiles, strings and numbers."""
    make_pbc(300, seed=11).to_csv(folder / "pbc.csv", index=False)
    (folder / "pbc.yaml").write_text(PBC_DICTIONARY)
    args = ["train", folder / "pbc.csv", "--target", "status", "--categorical", "edema"]
    args += ["--categorical", "stage", "--features", folder / "pbc.yaml", "--drop", "diagnosed"]
    args += ["--no-plots", "--model", "logistic-regression", "-o", folder / "artefact"]
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"DEPLOYML_ARTEFACT": None})
    assert result.exit_code == 0, result.output
    return folder / "artefact"


@pytest.fixture(scope="module")
def pbc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_pbc(tmp_path_factory.mktemp("pbc"))


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Penguins' species (three classes) from measurements with gaps and strings."""
    folder = tmp_path_factory.mktemp("penguins")
    make_penguins().to_csv(folder / "penguins.csv", index=False)
    args = ["train", folder / "penguins.csv", "--target", "species", "--no-plots"]
    args += ["--model", "logistic-regression", "-o", folder / "artefact"]
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"DEPLOYML_ARTEFACT": None})
    assert result.exit_code == 0, result.output
    return folder / "artefact"


def _document(client: FlaskClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    document: dict[str, Any] = answer.get_json()
    return document


@pytest.mark.parametrize(
    "fixture", ["pbc", "penguins", "binary_artefact", "regressor_artefact", "contract_artefact"]
)
def test_the_document_is_valid_openapi_3_1_and_its_docs_rendition_valid_3_0(
    fixture: str, request: pytest.FixtureRequest, client: Callable[..., FlaskClient]
) -> None:
    served = client(request.getfixturevalue(fixture))
    document = _document(served)
    assert document["openapi"] == "3.1.0"
    validate(document)
    rendition = served.get("/docs/openapi-3.0.json").get_json()
    assert rendition["openapi"] == "3.0.3"
    validate(rendition)

