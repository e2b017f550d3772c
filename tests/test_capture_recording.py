"""capture(): the schema, target, metrics, provenance and examples it records, and bad input."""

from __future__ import annotations

import importlib
import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier

from packager import FORMAT_VERSION, ModelDetails, capture, load_model_file
from packager.errors import CaptureError, NotAnEstimatorError, NotFittedError

PatientData = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


@pytest.fixture(scope="module")
def numbers() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_capture_records_each_feature_kind(pipeline_model: Any, patient_data: PatientData) -> None:
    X, y, _, _ = patient_data
    spec = capture(pipeline_model, X, y).manifest.input
    by_name = {f.name: f for f in spec.features}
    assert spec.format == "dataframe" and not spec.names_generated
    assert spec.names == ["age", "bmi", "sex", "ward", "smoker"]
    assert {n: f.kind for n, f in by_name.items()} == {
        "age": "number",  # whole numbers in training, an int64 column: fractions are valid
        "bmi": "number",
        "sex": "category",
        "ward": "category",
        "smoker": "boolean",
    }
    assert by_name["sex"].categories == ["F", "M"]
    assert by_name["ward"].categories == ["a", "b", "c"]
    assert by_name["bmi"].nullable and by_name["ward"].nullable
    # age had no gaps, but the pipeline imputes it, as it does every feature
    assert by_name["age"].dtype == "int64" and by_name["age"].imputed and by_name["age"].nullable
    assert [n for n, f in by_name.items() if f.imputed] == ["age", "bmi", "sex", "ward", "smoker"]
    assert by_name["bmi"].missing_rate == pytest.approx(X["bmi"].isna().mean())
    assert by_name["age"].min == X["age"].min() and by_name["age"].max == X["age"].max()
    assert set(by_name["age"].quantiles or {}) == {"0.01", "0.25", "0.5", "0.75", "0.99"}


def test_capture_generates_names_for_arrays(numbers: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = numbers
    captured = capture(LogisticRegression().fit(X, y), X, y)
    spec = captured.manifest.input
    assert spec.format == "array" and spec.names_generated
    assert spec.names == ["x0", "x1", "x2"]
    assert any("generated" in m for m in captured.manifest.missing)


def test_capture_uses_given_feature_names_for_arrays(
    numbers: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = numbers
    spec = capture(LogisticRegression().fit(X, y), X, y, feature_names=["a", "b", "c"]).manifest
    assert spec.input.names == ["a", "b", "c"] and not spec.input.names_generated


def test_capture_marks_features_nullable_when_the_estimator_allows_nan(
    numbers: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = numbers
    spec = capture(DecisionTreeClassifier().fit(X, y), X, y).manifest.input
    assert all(f.nullable for f in spec.features)


def test_capture_records_the_target_and_class_balance(
    pipeline_model: Any, patient_data: PatientData
) -> None:
    X, y, _, _ = patient_data
    target = capture(pipeline_model, X, y).manifest.target
    assert target is not None
    assert (target.task, target.name, target.classes) == ("binary", "readmitted", ["no", "yes"])
    assert target.class_balance == pytest.approx(y.value_counts(normalize=True).to_dict())


def test_capture_evaluates_a_binary_classifier_on_test_data(
    pipeline_model: Any, patient_data: PatientData
) -> None:
    manifest = capture(
        pipeline_model, *patient_data[:2], X_test=patient_data[2], y_test=patient_data[3]
    ).manifest
    test = (manifest.metrics or {})["test"]
    assert test["n_rows"] == len(patient_data[2])
    expected_accuracy = float(np.mean(pipeline_model.predict(patient_data[2]) == patient_data[3]))
    assert test["accuracy"] == pytest.approx(expected_accuracy)
    for key in ("balanced_accuracy", "roc_auc", "log_loss"):
        assert 0 <= test[key] <= (1 if key != "log_loss" else 10)
    assert set(test["per_class"]) == {"no", "yes"}
    assert sum(c["support"] for c in test["per_class"].values()) == test["n_rows"]
    matrix = test["confusion_matrix"]
    assert matrix["labels"] == ["no", "yes"] and sum(map(sum, matrix["matrix"])) == test["n_rows"]
    points = test["operating_points"]
    assert [p["threshold"] for p in points] == sorted(p["threshold"] for p in points)
    # Raising the threshold never flags more rows.
    assert all(a["flagged"] >= b["flagged"] for a, b in itertools.pairwise(points))
    json.dumps(manifest.to_dict(), allow_nan=False)


CLINICAL_KEYS = {"intervals", "bootstrap", "baseline", "worse_than_baseline", "uncalibrated"}


class CountingClassifier(LogisticRegression):
    """Counts the rows it is asked to predict, call by call."""

    predicted: list[int]

    def predict(self, X: Any) -> Any:
        self.predicted.append(len(X))
        return super().predict(X)


def test_capture_scores_the_test_rows_with_one_call_to_predict() -> None:
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"a": rng.normal(size=257), "b": rng.normal(size=257)})
    y = (X["a"] > 0).astype(int)
    model = CountingClassifier().fit(X[:100], y[:100])
    model.predicted = []
    capture(model, X[:100], y[:100], X_test=X[100:], y_test=y[100:])
    assert model.predicted.count(157) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"subgroups": ["sex:0,1"]}, "column 'sex' is not numeric"),
        ({"thresholds": ["strict:specificity>=1"]}, "cannot be met on these rows"),
    ],
)
def test_what_the_test_rows_refuse_is_refused_before_the_bootstrap(
    options: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(*args: Any) -> None:
        raise AssertionError("the bootstrap of the headline metrics started")

    assessment = importlib.import_module("packager.capture.assessment")
    monkeypatch.setattr(assessment, "clinical_metrics", slow)
    rng = np.random.default_rng(6)
    X = pd.DataFrame({"a": rng.normal(size=200), "sex": rng.choice(["F", "M"], 200)})
    y = (X["a"] + rng.normal(size=200) > 0).astype(int)
    model = LogisticRegression().fit(X[["a"]], y)
    # The highest score is a negative row's, so no threshold clears every negative row.
    y.iloc[int(np.argmax(X["a"]))] = 0
    X_test = X if "subgroups" in options else X[["a"]]
    with pytest.raises(CaptureError, match=message):
        capture(model, X[["a"]], y, X_test=X_test, y_test=y, **options)


def test_capture_evaluates_a_regressor() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=150), "b": rng.normal(size=150)})
    y = pd.Series(2 * X["a"] - X["b"] + rng.normal(0, 0.1, 150), name="score")
    model = Ridge().fit(X[:100], y[:100])
    manifest = capture(model, X[:100], y[:100], X_test=X[100:], y_test=y[100:], cv=3).manifest
    metrics = manifest.metrics or {}
    assert set(metrics["test"]) == {"n_rows", "mae", "rmse", "r2", *CLINICAL_KEYS}
    assert metrics["test"]["baseline"]["strategy"] == "training mean"
    assert metrics["test"]["worse_than_baseline"] == []
    assert metrics["test"]["r2"] > 0.9
    assert metrics["cross_validation"]["folds"] == 3
    assert len(metrics["cross_validation"]["scores"]) == 3
    assert manifest.target is not None and manifest.target.task == "regression"
    assert manifest.target.summary is not None and "mean" in manifest.target.summary


def test_capture_records_provenance_and_the_estimator(
    numbers: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = numbers
    model = LogisticRegression(C=0.5).fit(X, y)
    manifest = capture(model, X, y, details=ModelDetails(name="m", author="A")).manifest
    assert {"scikit-learn", "numpy", "scipy", "joblib", "pandas"} <= set(
        manifest.provenance.packages
    )
    assert manifest.estimator.class_name.endswith("LogisticRegression")
    assert manifest.estimator.params["C"] == 0.5
    assert manifest.estimator.n_training_rows == len(X)
    assert manifest.model.name == "m" and manifest.model.author == "A"
    assert manifest.model.created_at.endswith("Z")
    assert "metrics: no test data was given" in manifest.missing


def test_capture_stores_real_examples_from_the_test_data_only_when_chosen(
    pipeline_model: Any, patient_data: PatientData
) -> None:
    X, y, X_test, y_test = patient_data
    captured = capture(
        pipeline_model, X, y, X_test=X_test, y_test=y_test, examples="real", n_examples=4
    )
    assert captured.manifest.example_rows == "real"
    examples = captured.examples
    assert len(examples.inputs) == 4
    assert examples.inputs[0]["age"] == int(X_test["age"].iloc[0])
    assert examples.predictions == pipeline_model.predict(X_test.head(4)).tolist()
    assert examples.probabilities is not None and len(examples.probabilities[0]) == 2
    assert capture(pipeline_model, X, y).examples.inputs == []


def test_capture_file_is_a_plain_dict_that_loads_back(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    captured = capture(pipeline_model, *patient_data[:2], details=ModelDetails(name="readmission"))
    captured = replace(captured, attachments={"plots/roc.png": b"\x89PNG"})
    path = captured.save(tmp_path / "model.pkl")
    raw = joblib.load(path)
    assert type(raw) is dict and raw["deployml_capture"] == FORMAT_VERSION
    loaded = load_model_file(path)
    assert loaded.manifest == captured.manifest
    assert loaded.examples == captured.examples
    assert loaded.attachments == {"plots/roc.png": b"\x89PNG"}
    assert list(tmp_path.iterdir()) == [path]


def _unfitted(_: Any) -> tuple[Any, ...]:
    return LogisticRegression(), np.zeros((4, 2)), [0, 1, 0, 1]


def _not_estimator(_: Any) -> tuple[Any, ...]:
    return {"weights": [1, 2]}, np.zeros((4, 2)), [0, 1, 0, 1]


def _lengths(d: Any) -> tuple[Any, ...]:
    return d["model"], d["X"], d["y"][:-1]


def _one_class(d: Any) -> tuple[Any, ...]:
    return d["model"], d["X"], pd.Series(["no"] * len(d["X"]))


def _columns(d: Any) -> tuple[Any, ...]:
    return d["model"], d["X"].drop(columns=["ward"]).assign(floor=1), d["y"]


def _unknown_label(d: Any) -> tuple[Any, ...]:
    return d["model"], d["X"], d["y"].replace("yes", "maybe")


def _one_dimensional(d: Any) -> tuple[Any, ...]:
    return LogisticRegression().fit(np.zeros((4, 1)), [0, 1, 0, 1]), np.zeros(4), [0, 1, 0, 1]


def _clusterer(_: Any) -> tuple[Any, ...]:
    X = np.arange(20.0).reshape(10, 2)
    return KMeans(n_clusters=2, n_init=1, random_state=0).fit(X), X, None


def _feature_count(_: Any) -> tuple[Any, ...]:
    model = LogisticRegression().fit(np.arange(16.0).reshape(4, 4), [0, 1, 0, 1])
    return model, np.zeros((4, 3)), [0, 1, 0, 1]


BAD_CAPTURES = [
    (_unfitted, NotFittedError, "the LogisticRegression has not been fitted"),
    (_not_estimator, NotAnEstimatorError, "holds a builtins.dict, not a scikit-learn estimator"),
    (_lengths, CaptureError, "X has 220 rows but y has 219"),
    (_one_class, CaptureError, "the target y has one class"),
    (_columns, CaptureError, "do not match the model's: missing ward; unexpected floor"),
    (_unknown_label, CaptureError, "y holds 1 label(s) the model was not fitted on"),
    (_one_dimensional, CaptureError, "X must be 2-D (rows by features), not 1-D"),
    (_clusterer, CaptureError, "the KMeans is neither a classifier nor a regressor"),
    (_feature_count, CaptureError, "X has 3 columns but the model was fitted on 4"),
]


@pytest.mark.parametrize(
    ("make", "error", "message"), BAD_CAPTURES, ids=lambda v: getattr(v, "__name__", "")
)
def test_capture_rejects_bad_input(
    make: Any, error: type[Exception], message: str, pipeline_model: Any, patient_data: PatientData
) -> None:
    data = {"model": pipeline_model, "X": patient_data[0], "y": patient_data[1]}
    model, X, y = make(data)
    with pytest.raises(error) as raised:
        capture(model, X, y)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"X_test": "X"}, "give X_test and y_test together"),
        ({"cv": 1}, "cv must be a whole number of folds of at least 2"),
        ({"cv": True}, "cv must be a whole number of folds"),
        ({"cv": 10_000}, "cross-validation with 10000 folds needs at least 10000 rows of every"),
    ],
)
def test_capture_rejects_bad_options(
    options: dict[str, Any], message: str, pipeline_model: Any, patient_data: PatientData
) -> None:
    X, y = patient_data[:2]
    resolved = {k: (X if v == "X" else v) for k, v in options.items()}
    with pytest.raises(CaptureError, match=message):
        capture(pipeline_model, X, y, **resolved)


def test_capture_cross_validates_as_train_does(
    pipeline_model: Any, patient_data: PatientData
) -> None:
    X, y = patient_data[:2]
    recorded = (capture(pipeline_model, X, y, cv=4).manifest.metrics or {})["cross_validation"]
    folds = StratifiedKFold(4, shuffle=True, random_state=0)
    expected = cross_val_score(clone(pipeline_model), X, y, cv=folds, scoring="roc_auc")
    assert (recorded["folds"], recorded["scoring"], recorded["on"]) == (
        4,
        "roc_auc",
        "training data",
    )
    assert recorded["scores"] == pytest.approx(expected.tolist())
    assert recorded["mean"] == pytest.approx(expected.mean())


def test_capture_errors_never_quote_feature_values(patient_data: PatientData) -> None:
    X, y = patient_data[:2]
    model = LogisticRegression().fit(X[["age"]], y)
    wrong = pd.DataFrame({"age": ["SECRET-VALUE"] * 3})
    with pytest.raises(CaptureError) as raised:
        capture(model, wrong, y[:3])
    assert "SECRET-VALUE" not in str(raised.value)


def test_capture_rejects_a_text_target_for_a_regressor() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    model = Ridge().fit(X, [1.0, 2.0, 3.0])
    with pytest.raises(CaptureError, match="y must be numeric for a regressor"):
        capture(model, X, ["low", "mid", "high"])


def test_capture_accepts_a_nullable_integer_target_for_a_regressor() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    y = pd.Series([1, 2, 3, 5], dtype="Int64")
    target = capture(Ridge().fit(X, y.astype(float)), X, y).manifest.target
    assert target is not None and target.summary is not None and target.summary["max"] == 5.0


def test_capture_rejects_test_data_with_other_columns(
    pipeline_model: Any, patient_data: PatientData
) -> None:
    X, y, X_test, y_test = patient_data
    with pytest.raises(
        CaptureError, match="columns of X_test do not match the model's: missing bmi"
    ):
        capture(pipeline_model, X, y, X_test=X_test.drop(columns=["bmi"]), y_test=y_test)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"examples": "all"}, "examples must be one of synthetic, real, none, not 'all'"),
        ({"examples": "real", "n_examples": 0}, "real examples need n_examples of at least 1"),
    ],
)
def test_capture_refuses_an_unknown_examples_choice(
    options: dict[str, Any], message: str, pipeline_model: Any, patient_data: PatientData
) -> None:
    X, y, _, _ = patient_data
    with pytest.raises(CaptureError, match=message):
        capture(pipeline_model, X, y, **options)
