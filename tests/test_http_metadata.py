"""GET /metadata documents the model; /livez and /readyz answer orchestrators."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient

from packager import load_artefact


def test_metadata_documents_schema_target_metrics_provenance_and_example(
    pipeline_artefact: Path,
    client: Callable[..., FlaskClient],
) -> None:
    api = client(pipeline_artefact, max_rows=77)
    response = api.get("/metadata")
    assert response.status_code == 200
    body = response.get_json()
    artefact = load_artefact(pipeline_artefact)
    assert body["model"]["name"] == "readmission"
    assert body["artefact"]["sha256"] == artefact.sha256
    assert body["task"] == "binary"
    assert body["target"]["classes"] == ["no", "yes"]
    assert body["target"]["positive_class"] == body["metrics"]["test"]["positive_class"] == "yes"
    assert set(body["metrics"]["test"]["intervals"]) >= {"roc_auc", "sensitivity", "brier"}
    assert body["probability_keys"] == ["no", "yes"]
    features = {f["name"]: f for f in body["input"]["features"]}
    assert list(features) == ["age", "bmi", "sex", "ward", "smoker"]
    assert features["ward"]["categories"] == ["a", "b", "c"] and features["ward"]["nullable"]
    assert features["age"]["kind"] == "number" and features["age"]["min"] is not None
    assert features["age"]["dtype"] == "int64"
    assert body["input"]["max_rows"] == 77
    assert body["input"]["unseen_categories"] == {"refused": False, "refused_for": []}
    assert body["metrics"] == artefact.manifest.metrics
    assert body["provenance"]["packages"]["scikit-learn"]
    assert body["version_differences"] == []
    assert body["example"]["rows"] == "synthetic"
    assert body["example"]["request"]["instances"] == artefact.self_test.inputs[:1]
    assert body["ready"] is True


def test_metadata_example_request_is_accepted_by_predict(
    binary_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    api = client(binary_artefact)
    example = api.get("/metadata").get_json()["example"]
    response = api.post("/predict", json=example["request"])
    assert response.status_code == 200
    assert response.get_json()["predictions"] == example["predictions"]


def test_health_endpoints_report_live_and_ready(
    binary_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    api = client(binary_artefact)
    live, ready = api.get("/livez"), api.get("/readyz")
    assert (live.status_code, json.loads(live.data)) == (200, {"status": "alive"})
    assert (ready.status_code, json.loads(ready.data)) == (200, {"status": "ready"})
