"""Imputation is visible: every /predict answer lists, per row, the features sent as null that
the model filled in; the access line counts them by feature, the audit line names them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from flask.testing import FlaskClient
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from packager import ModelDetails, capture, package

PATIENT = {"age": 58, "bmi": 27.5, "sex": "M", "ward": "c", "smoker": True}
Client = Callable[..., FlaskClient]


@pytest.fixture(scope="module")
def lab_artefact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An all-number model (served from the float matrix) with gaps in two of its labs."""
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(240, 3)), columns=["creatinine", "sodium", "lactate"])
    y = pd.Series((X["creatinine"] + X["lactate"] > 0).astype(int), name="deteriorated")
    X.loc[X.index % 5 == 1, "sodium"] = np.nan
    X.loc[X.index % 7 == 2, "lactate"] = np.nan
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X[:200], y[:200])
    captured = capture(
        model, X[:200], y[:200], X_test=X[200:], y_test=y[200:], details=ModelDetails(name="labs")
    )
    return package(captured, tmp_path_factory.mktemp("labs") / "labs")


def predict(api: FlaskClient, body: Any) -> Any:
    response = api.post("/predict", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("copies", [1, 40], ids=["row path", "column path"])
def test_each_row_lists_the_features_it_sent_as_null_in_feature_order(
    pipeline_artefact: Path, client: Client, copies: int
) -> None:
    rows = [PATIENT, {**PATIENT, "ward": None, "bmi": None}, {**PATIENT, "ward": None}] * copies
    api = client(pipeline_artefact)
    expected = [[], ["bmi", "ward"], ["ward"]] * copies
    assert predict(api, {"instances": rows})["imputed"] == expected
    columns = list(reversed(PATIENT))
    columnar = {"columns": columns, "data": [[row[c] for c in columns] for row in rows]}
    assert predict(api, columnar)["imputed"] == expected


def test_a_null_changes_the_answer_and_the_answer_says_it_was_filled_in(
    pipeline_artefact: Path, client: Client
) -> None:
    api = client(pipeline_artefact)
    sent = predict(api, {**PATIENT, "bmi": 45.0})
    filled = predict(api, {**PATIENT, "bmi": None})
    assert (sent["imputed"], filled["imputed"]) == ([[]], [["bmi"]])
    assert sent["probabilities"] != filled["probabilities"]


@pytest.mark.parametrize("copies", [1, 40], ids=["small", "large"])
def test_an_all_number_model_lists_its_imputed_labs_too(
    lab_artefact: Path, client: Client, copies: int
) -> None:
    full = {"creatinine": 0.1, "sodium": -0.3, "lactate": 1.2}
    rows = [full, {**full, "lactate": None, "sodium": None}, {**full, "lactate": None}] * copies
    answer = predict(client(lab_artefact), {"instances": rows})
    assert answer["imputed"] == [[], ["sodium", "lactate"], ["lactate"]] * copies
    assert len(answer["predictions"]) == 3 * copies


def test_an_answer_without_nulls_has_an_empty_list_per_row(
    binary_artefact: Path, client: Client
) -> None:
    rows = json.loads((binary_artefact / "self_test.json").read_text())["inputs"]
    answer = predict(client(binary_artefact), {"instances": rows * 30})
    assert answer["imputed"] == [[]] * (len(rows) * 30)


def test_the_access_line_counts_imputed_features_and_the_audit_line_names_them(
    pipeline_artefact: Path, client: Client, logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    api = client(pipeline_artefact, audit_log=log, audit_key="k" * 32)
    logs.clear()
    rows = [{**PATIENT, "bmi": None, "ward": None}, PATIENT, {**PATIENT, "bmi": None}]
    predict(api, {"instances": rows})
    predict(api, PATIENT)
    access = [json.loads(r.getMessage()) for r in logs.records if r.name == "deployml.access"]
    assert [(line["imputed"], line["refused"]) for line in access] == [
        ({"bmi": 2, "ward": 1}, 0),
        ({}, 0),
    ]
    first, second = (orjson.loads(line) for line in log.read_bytes().splitlines())
    assert first["imputed"] == [
        {"row": 0, "features": ["bmi", "ward"]},
        {"row": 2, "features": ["bmi"]},
    ]
    assert (first["refused_rows"], second["imputed"]) == ([], [])
    assert first["v"] == 2
