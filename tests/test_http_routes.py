"""POST /predict through the Flask test client: shapes, outputs, warnings, unseen categories."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from packager import ModelDetails, capture, load_artefact, model_input, model_outputs, package
from server import Settings, create_app

SECRET_TEXT = "ZQXJ-SECRET-7731"
SECRET_NUMBER = 987654.321
PATIENT = {"age": 58, "bmi": 27.5, "sex": "M", "ward": "c", "smoker": True}


def examples(artefact: Path) -> list[dict[str, Any]]:
    data = json.loads((artefact / "self_test.json").read_text())
    inputs: list[dict[str, Any]] = data["inputs"]
    return inputs


@pytest.fixture(scope="module")
def strict_encoder_artefact(tmp_path_factory: pytest.TempPathFactory, patient_data: Any) -> Path:
    """The patient pipeline with OneHotEncoder(handle_unknown="error"): unseen cannot score."""
    X, y, X_test, y_test = patient_data
    columns = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "bmi"]),
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="error")
                ),
                ["sex", "ward", "smoker"],
            ),
        ]
    )
    model = make_pipeline(columns, LogisticRegression(max_iter=1000)).fit(X, y)
    details = ModelDetails(name="strict-encoder")
    captured = capture(model, X, y, X_test=X_test, y_test=y_test, details=details)
    return package(captured, tmp_path_factory.mktemp("strict") / "strict-encoder")


def test_predict_one_instance_returns_prediction_probabilities_and_model(
    binary_artefact: Path,
    client: Callable[..., FlaskClient],
) -> None:
    api = client(binary_artefact)
    row = examples(binary_artefact)[0]
    response = api.post("/predict", json=row)
    assert response.status_code == 200
    body = response.get_json()
    artefact = load_artefact(binary_artefact)
    expected = model_outputs(
        artefact.model,
        model_input({k: [v] for k, v in row.items()}, artefact.manifest.input),
        "binary",
    )
    assert body["predictions"] == expected.predictions
    assert expected.probabilities is not None
    assert body["probabilities"] == [dict(zip(["0", "1"], expected.probabilities[0], strict=True))]
    assert body["model"] == {"name": "breast-cancer", "version": "1.0.0", "sha256": artefact.sha256}
    assert body["warnings"] == []
    assert response.headers["X-Request-ID"] == body["request_id"]


@pytest.mark.parametrize("shape", ["instances", "columns"])
def test_predict_batch_shapes_agree_with_the_model(
    binary_artefact: Path, shape: str, client: Callable[..., FlaskClient]
) -> None:
    rows = examples(binary_artefact)
    rows = (rows * (200 // len(rows) + 1))[:200]  # enough rows for the column-wise path
    names = list(rows[0])
    body: dict[str, Any] = (
        {"instances": rows}
        if shape == "instances"
        else {"columns": names, "data": [[r[n] for n in names] for r in rows]}
    )
    response = client(binary_artefact).post("/predict", json=body)
    assert response.status_code == 200
    artefact = load_artefact(binary_artefact)
    frame = pd.DataFrame(rows)[artefact.manifest.input.names]
    assert response.get_json()["predictions"] == artefact.model.predict(frame).tolist()
    probabilities = [list(p.values()) for p in response.get_json()["probabilities"]]
    np.testing.assert_allclose(probabilities, artefact.model.predict_proba(frame))


def test_predict_multiclass_keys_probabilities_by_every_label(
    multiclass_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    response = client(multiclass_artefact).post(
        "/predict", json={"instances": examples(multiclass_artefact)[:2]}
    )
    body = response.get_json()
    assert [list(p) for p in body["probabilities"]] == [["0", "1", "2"]] * 2
    assert all(abs(sum(p.values()) - 1) < 1e-9 for p in body["probabilities"])


def test_predict_regressor_returns_numbers_without_probabilities(
    regressor_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    body = (
        client(regressor_artefact).post("/predict", json=examples(regressor_artefact)[0]).get_json()
    )
    assert isinstance(body["predictions"][0], float)
    assert "probabilities" not in body


def test_predict_array_model_takes_generated_feature_names(
    array_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    response = client(array_artefact).post(
        "/predict", json={"x0": 0.1, "x1": 0.2, "x2": -0.3, "x3": 1.0}
    )
    assert response.status_code == 200
    assert response.get_json()["predictions"] in ([0], [1])


def test_predict_warns_for_out_of_range_and_unseen_category_without_values(
    pipeline_artefact: Path, logs: pytest.LogCaptureFixture, client: Callable[..., FlaskClient]
) -> None:
    row = {**PATIENT, "age": 1000, "ward": SECRET_TEXT}
    response = client(pipeline_artefact).post("/predict", json={"instances": [PATIENT, row]})
    assert response.status_code == 200
    assert response.get_json()["warnings"] == [
        {"row": 1, "feature": "age", "problem": "above the largest value seen in training"},
        {"row": 1, "feature": "ward", "problem": "a category not seen in training"},
    ]
    assert SECRET_TEXT not in response.get_data(as_text=True)
    assert SECRET_TEXT not in logs.text


def test_predict_accepts_null_for_features_missing_in_training(
    pipeline_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    row = {**PATIENT, "bmi": None, "ward": None}
    response = client(pipeline_artefact).post("/predict", json=row)
    assert response.status_code == 200
    assert response.get_json()["predictions"][0] in ("no", "yes")


def test_predict_refuses_unseen_category_the_model_cannot_score(
    strict_encoder_artefact: Path,
    logs: pytest.LogCaptureFixture,
    client: Callable[..., FlaskClient],
) -> None:
    api = client(strict_encoder_artefact)
    assert api.post("/predict", json=PATIENT).status_code == 200
    response = api.post("/predict", json={"instances": [PATIENT, {**PATIENT, "sex": SECRET_TEXT}]})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "unseen_category"
    assert "sex" in error["message"] and "cannot score" in error["message"]
    assert error["details"] == [
        {"row": 1, "feature": "sex", "problem": "a category not seen in training"}
    ]
    assert SECRET_TEXT not in response.get_data(as_text=True) + logs.text


def test_predict_strict_categories_refuses_unseen_category_the_model_could_score(
    pipeline_artefact: Path,
    client: Callable[..., FlaskClient],
) -> None:
    api = client(pipeline_artefact, strict_categories=True)
    response = api.post("/predict", json={**PATIENT, "ward": "z"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unseen_category"
    assert "configured to refuse" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("given", "kept"),
    [("client-id-42", True), ("bad id with spaces", False), ("x" * 200, False), ("", False)],
)
def test_predict_takes_sane_request_ids_from_the_client(
    binary_artefact: Path, given: str, kept: bool, client: Callable[..., FlaskClient]
) -> None:
    response = client(binary_artefact).post(
        "/predict", json=examples(binary_artefact)[0], headers={"X-Request-ID": given}
    )
    assert (response.headers["X-Request-ID"] == given) is kept
    assert response.get_json()["request_id"] == response.headers["X-Request-ID"]


def test_predict_writes_one_json_access_line_without_values(
    pipeline_artefact: Path, logs: pytest.LogCaptureFixture, client: Callable[..., FlaskClient]
) -> None:
    api = client(pipeline_artefact)
    logs.clear()
    bad = {**PATIENT, "bmi": SECRET_TEXT, "age": SECRET_NUMBER}
    api.post("/predict", json={"instances": [PATIENT, bad]}, headers={"X-Request-ID": "r-1"})
    lines = [r.getMessage() for r in logs.records if r.name == "deployml.access"]
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert set(line) == {
        "time",
        "request_id",
        "method",
        "route",
        "status",
        "rows",
        "latency_ms",
        "model_sha256",
        "client",
        "profile",
        "imputed",
        "refused",
    }
    assert (line["imputed"], line["refused"]) == ({}, 0)
    assert (line["request_id"], line["route"], line["status"], line["rows"]) == (
        "r-1",
        "/predict",
        422,
        2,
    )
    assert line["client"] is None  # no API keys file: nobody is named
    assert line["profile"] is None  # refused: no decision was made
    assert line["model_sha256"] == load_artefact(pipeline_artefact).sha256
    assert SECRET_TEXT not in logs.text and str(SECRET_NUMBER) not in logs.text


def test_predict_model_refusing_validated_input_is_a_422_without_its_message(
    binary_artefact: Path, monkeypatch: pytest.MonkeyPatch, logs: pytest.LogCaptureFixture
) -> None:
    app: Flask = create_app(Settings(artefact=binary_artefact))
    state = app.extensions["deployml"]
    # The model's own predict_proba, not an exact path, scores the row.
    app.extensions["deployml"] = replace(state, runtime=replace(state.runtime, exact=None))
    model = state.runtime.artefact.model

    def refuse(X: Any) -> Any:
        raise ValueError(f"cannot handle {SECRET_TEXT}")

    monkeypatch.setattr(model, "predict_proba", refuse)
    response = app.test_client().post("/predict", json=examples(binary_artefact)[0])
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unscorable_input"
    assert SECRET_TEXT not in response.get_data(as_text=True) + logs.text


def test_predict_model_that_refuses_arrays_keeps_getting_dataframes(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    y = (X["a"] + X["c"] > 0).astype(int)
    by_name = ColumnTransformer([("scale", StandardScaler(), ["c", "a"])])
    model = make_pipeline(by_name, LogisticRegression()).fit(X, y)
    captured = capture(model, X, y, details=ModelDetails(name="by-name"))
    artefact = package(captured, tmp_path / "by-name")
    app = create_app(Settings(artefact=artefact))
    assert app.extensions["deployml"].runtime.takes_arrays is False
    rows = X.iloc[:70].to_dict("records")  # enough rows for the column-wise path too
    for body in (rows[0], {"instances": rows}):
        response = app.test_client().post("/predict", json=body)
        assert response.status_code == 200
    assert response.get_json()["predictions"] == model.predict(X.iloc[:70]).tolist()


def test_predict_feeds_arrays_only_to_models_that_score_them_identically(
    binary_artefact: Path, pipeline_artefact: Path
) -> None:
    numbers = create_app(Settings(artefact=binary_artefact))
    assert numbers.extensions["deployml"].runtime.takes_arrays is True
    pipeline = create_app(Settings(artefact=pipeline_artefact))
    assert pipeline.extensions["deployml"].runtime.takes_arrays is False


@pytest.mark.parametrize(
    "fixture", ["binary_artefact", "multiclass_artefact", "pipeline_artefact", "array_artefact"]
)
def test_predict_matches_the_models_own_predict_and_predict_proba(
    fixture: str, request: pytest.FixtureRequest, client: Callable[..., FlaskClient]
) -> None:
    path: Path = request.getfixturevalue(fixture)
    rows = examples(path)
    body = client(path).post("/predict", json={"instances": rows}).get_json()
    artefact = load_artefact(path)
    columns = {name: [row[name] for row in rows] for name in artefact.manifest.input.names}
    X = model_input(columns, artefact.manifest.input)
    assert body["predictions"] == artefact.model.predict(X).tolist()
    got = [list(p.values()) for p in body["probabilities"]]
    np.testing.assert_allclose(got, artefact.model.predict_proba(X), rtol=1e-12)


def test_the_root_is_the_model_card_page_under_a_policy_that_loads_nothing(
    binary_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    response = client(binary_artefact).get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = response.headers["Content-Security-Policy"]
    assert policy == "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    page = response.get_data(as_text=True)
    assert f"<code>{load_artefact(binary_artefact).sha256}</code>" in page
    assert "<h1>breast-cancer 1.0.0</h1>" in page
