"""The synthetic self-test rows: made from the schema, valid requests, and never a real row."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from packager import capture, load_artefact
from packager.artefact import FeatureSpec, InputSpec
from packager.capture import TYPICAL, synthetic_rows
from packager.errors import CaptureError, DeploymlWarning

PatientData = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]
ARTEFACTS = [
    "binary_artefact",
    "pipeline_artefact",
    "multiclass_artefact",
    "regressor_artefact",
    "array_artefact",
]


@pytest.mark.parametrize("fixture", ARTEFACTS)
def test_self_test_rows_pass_the_servers_own_validation_without_warnings(
    fixture: str, request: pytest.FixtureRequest, client: Callable[..., FlaskClient]
) -> None:
    path: Path = request.getfixturevalue(fixture)
    stored = json.loads((path / "self_test.json").read_text())
    api = client(path)
    assert api.get("/readyz").status_code == 200
    response = api.post("/predict", json={"instances": stored["inputs"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    # Within the self-test's tolerance: the server may feed the model an array, not a frame.
    task = load_artefact(path).manifest.target
    if task is not None and task.task == "regression":
        assert body["predictions"] == pytest.approx(stored["predictions"], rel=1e-6)
    else:
        assert body["predictions"] == stored["predictions"]
    assert body.get("warnings", []) == []


def test_rows_are_the_median_the_edges_and_the_most_frequent_values() -> None:
    X = pd.DataFrame(
        {
            "age": [20, 30, 31, 40, 90],
            "bmi": [18.5, np.nan, 25.0, 27.5, 40.0],
            "ward": ["b", "a", "b", "c", "b"],
            "smoker": [True, True, False, True, True],
        }
    )
    # Only the text is encoded: numbers an encoder reads would be category codes.
    encode = ColumnTransformer([("ward", OneHotEncoder(), ["ward"])], remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression())
    model.fit(X.fillna(0), [0, 1, 0, 1, 1])
    spec = capture(model, X.fillna(0), [0, 1, 0, 1, 1]).manifest.input
    rows = synthetic_rows(spec)
    assert rows[TYPICAL] == {"age": 31, "bmi": 25.0, "ward": "b", "smoker": True}
    assert rows["minimum"] == {"age": 20, "bmi": 0.0, "ward": "a", "smoker": False}
    assert rows["maximum"] == {"age": 90, "bmi": 40.0, "ward": "c", "smoker": True}
    assert "missing" not in rows  # nothing is nullable
    features = {f.name: f for f in spec.features}
    assert (features["ward"].most_frequent, features["smoker"].most_frequent) == ("b", True)


def test_nullable_features_get_a_row_of_nulls() -> None:
    spec = InputSpec(
        "dataframe",
        False,
        (
            FeatureSpec("a", "number", True, "float64"),
            FeatureSpec("b", "category", False, "object", categories=["x", "y"]),
        ),
    )
    rows = synthetic_rows(spec)
    # Without statistics: safe defaults, the edges differing only in their category.
    assert list(rows.values()) == [
        {"a": 0.0, "b": "x"},
        {"a": 0.0, "b": "y"},
        {"a": None, "b": "x"},
    ]


def test_no_training_or_test_row_is_a_self_test_row(
    pipeline_artefact: Path, patient_data: PatientData
) -> None:
    X, _, X_test, _ = patient_data
    real = {
        json.dumps(row, sort_keys=True)
        for frame in (X, X_test)
        for row in json.loads(frame.to_json(orient="records"))
    }
    artefact = load_artefact(pipeline_artefact)
    assert artefact.examples.inputs == []
    assert not (pipeline_artefact / "examples.json").exists()
    assert len(artefact.self_test.inputs) == 4
    assert not real & {json.dumps(row, sort_keys=True) for row in artefact.self_test.inputs}


def test_free_text_is_recorded_as_most_frequent_only_when_many_rows_share_it() -> None:
    names = [f"patient {i}" for i in range(60)]
    X = pd.DataFrame({"name": names, "note": ["none"] * 50 + names[:10]})
    model = make_pipeline(
        OneHotEncoder(handle_unknown="ignore"), LogisticRegression(max_iter=200)
    ).fit(X, [0, 1] * 30)
    with pytest.warns(DeploymlWarning, match="'name' looks like a record identifier"):
        captured = capture(model, X, [0, 1] * 30)
    features = {f.name: f for f in captured.manifest.input.features}
    assert features["name"].kind == "string" and features["name"].most_frequent is None
    assert features["note"].most_frequent == "none"


def test_packaging_refuses_a_model_that_cannot_score_its_typical_row_naming_no_value() -> None:
    codes = [f"code-{i:03d}" for i in range(60)]  # free text: the typical row gets ""
    X = pd.DataFrame({"code": codes})
    model = make_pipeline(OneHotEncoder(handle_unknown="error"), LogisticRegression())
    model.fit(X, [0, 1] * 30)
    with pytest.raises(CaptureError) as caught, pytest.warns(DeploymlWarning, match="'code'"):
        capture(model, X, [0, 1] * 30)
    message = caught.value.message
    assert message == (
        "the Pipeline cannot score the typical row made from the schema for its self-test "
        "(ValueError); the server could never be ready"
    )


def test_an_edge_row_the_model_refuses_is_left_out_and_said(
    client: Callable[..., FlaskClient], tmp_path: Path
) -> None:
    from packager import package

    # Never a smoker in training, and an encoder that refuses what it has not seen.
    X = pd.DataFrame({"smoker": [False] * 6, "ward": ["a", "b", "a", "b", "a", "b"]})
    model = make_pipeline(OneHotEncoder(handle_unknown="error"), LogisticRegression())
    y = [0, 1, 0, 1, 0, 1]
    model.fit(X, y)
    captured = capture(model, X, y)
    assert captured.self_test.inputs == [{"smoker": False, "ward": "a"}]
    assert any(
        m.startswith("self-test: the model cannot score the row at the training maximum")
        for m in captured.manifest.missing
    )
    api = client(package(captured, tmp_path / "out"))
    assert api.get("/readyz").status_code == 200


def test_a_dataframe_of_floats_scores_its_synthetic_rows_from_any_schema() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    captured = capture(LogisticRegression(max_iter=5000).fit(X, y), X, y)
    rows: list[dict[str, Any]] = captured.self_test.inputs
    assert [rows[1][name] for name in X.columns] == [float(X[c].min()) for c in X.columns]
    assert [rows[2][name] for name in X.columns] == [float(X[c].max()) for c in X.columns]
    assert captured.manifest.example_rows == "synthetic"
