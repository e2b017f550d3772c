"""GET /openapi.json: an OpenAPI 3.1 document made from the served model's own schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from packager import read_manifest


def _document(client: FlaskClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    document: dict[str, Any] = answer.get_json()
    return document


@pytest.mark.parametrize(
    "fixture", ["binary_artefact", "multiclass_artefact", "regressor_artefact", "contract_artefact"]
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


def test_dump(contract_artefact: Path, client: Callable[..., FlaskClient]) -> None:
    import json
    served = client(contract_artefact, api_keys_file=None)
    d = _document(served)
    print(json.dumps(d["components"]["schemas"]["Features"], indent=1, ensure_ascii=False))
    print(json.dumps(d["info"], indent=1))
    print(sorted(d["paths"]))
    print(json.dumps(d["paths"]["/predict"]["post"]["requestBody"], indent=1)[:1500])
    assert False
