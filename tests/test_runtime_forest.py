"""Forests scored tree by tree: every bit the same as scikit-learn's own answers, over random
rows, missing values, pipelines, binary and multiclass; used by the server only when start-up
shows it exact, and scikit-learn's own predict otherwise."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import make_patients, make_pipeline_model
from flask.testing import FlaskClient
from scipy.sparse import issparse
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from test_serve_end_to_end import served_answer

from packager import ModelDetails, capture, load_artefact, model_input, package
from server import Settings
from server.runtime import load_runtime
from server.runtime.exact import exact_path, synthetic_records
from server.runtime.forest import FOREST_PATH, ClassifierPath, ForestPath
from server.validation import Payload

CLASSIFIERS = [RandomForestClassifier, ExtraTreesClassifier]
REGRESSORS = [RandomForestRegressor, ExtraTreesRegressor]


def numbers(seed: int, rows: int, classes: int, nan_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Random features (some missing) and a label of ``classes`` values that depends on them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 6))
    y = np.digitize(X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(0, 0.5, rows), [-1, 0, 1, 2])
    X[rng.random(X.shape) < nan_share] = np.nan
    return X, y % classes


def query(seed: int, rows: int = 2000) -> np.ndarray:
    """Rows unlike training: wider, with a tenth of the values missing."""
    X, _ = numbers(seed + 1000, rows, 2, 0.1)
    return X * 1.5


@pytest.mark.parametrize("kind", CLASSIFIERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("classes", [2, 3, 5])
@pytest.mark.parametrize("depth", [None, 3])
def test_forest_classifier_probabilities_equal_scikit_learn_bit_for_bit(
    kind: Any, seed: int, classes: int, depth: int | None
) -> None:
    X, y = numbers(seed, 400, classes, nan_share=0.05)
    model = kind(n_estimators=30, max_depth=depth, random_state=seed).fit(X, y)
    path = ClassifierPath(model)
    Q = query(seed)
    assert np.array_equal(path.predict_proba(Q), model.predict_proba(Q))
    assert np.array_equal(path.predict(Q), model.predict(Q))
    assert np.array_equal(path.predict_proba(Q[:1]), model.predict_proba(Q[:1]))


@pytest.mark.parametrize("kind", REGRESSORS)
@pytest.mark.parametrize("seed", [0, 1])
def test_forest_regressor_values_equal_scikit_learn_bit_for_bit(kind: Any, seed: int) -> None:
    X, _ = numbers(seed, 400, 2, nan_share=0.05)
    y = np.nan_to_num(X[:, 0]) * 3.7 + np.random.default_rng(seed).normal(size=400)
    model = kind(n_estimators=40, random_state=seed).fit(X, y)
    Q = query(seed)
    assert np.array_equal(ForestPath(model).predict(Q), model.predict(Q))


def test_forest_in_a_pipeline_with_categories_equals_scikit_learn_bit_for_bit() -> None:
    X, y = make_patients(400, seed=4)
    model = make_pipeline_model()
    model.steps[-1] = ("forest", RandomForestClassifier(n_estimators=25, random_state=0))
    model.fit(X, y)
    Q, _ = make_patients(1000, seed=5)
    assert np.array_equal(ClassifierPath(model).predict_proba(Q), model.predict_proba(Q))
    scaled = make_pipeline(StandardScaler(), ExtraTreesClassifier(20, random_state=1))
    Xn, yn = numbers(3, 300, 3, nan_share=0.0)
    scaled.fit(Xn, yn)
    assert np.array_equal(
        ClassifierPath(scaled).predict_proba(query(3)), scaled.predict_proba(query(3))
    )


def test_forest_behind_a_sparse_one_hot_encoder_equals_scikit_learn_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.choice(list("abcdefghij"), 500), "b": rng.choice(list("pqrs"), 500)})
    y = (X["a"] < "e").astype(int) ^ (rng.random(500) < 0.2)
    encoder = OneHotEncoder(handle_unknown="ignore")
    model = make_pipeline(encoder, RandomForestClassifier(30, random_state=0)).fit(X, y)
    assert issparse(model[:-1].transform(X))
    Q = pd.DataFrame(
        {"a": rng.choice(list("abcdefghijz"), 2000), "b": rng.choice(list("pqrs"), 2000)}
    )
    assert np.array_equal(ClassifierPath(model).predict_proba(Q), model.predict_proba(Q))


def test_forest_fitted_with_two_jobs_equals_its_own_answers() -> None:
    X, y = numbers(7, 400, 3, nan_share=0.0)
    model = RandomForestClassifier(n_estimators=60, n_jobs=2, random_state=0).fit(X, y)
    assert np.array_equal(
        ClassifierPath(model).predict_proba(query(7)), model.predict_proba(query(7))
    )


def test_synthetic_rows_all_pass_the_request_checks(pipeline_artefact: Path) -> None:
    runtime = load_runtime(Settings(artefact=pipeline_artefact))
    rows = synthetic_records(runtime.artefact.manifest.input.features, 200)
    batch = runtime.validator.validate(Payload(rows=len(rows), records=rows))
    assert batch.rows == 200 and any(None in row.values() for row in rows)


def build(folder: Path, name: str, model: Any, X: Any, y: Any) -> Path:
    return package(capture(model, X, y, details=ModelDetails(name=name)), folder / name)


@pytest.fixture(scope="module")
def forest_artefacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A forest pipeline on patients (binary), a forest on iris (multiclass, numbers only)
    and extra trees on diabetes (regression)."""
    folder = tmp_path_factory.mktemp("forests")
    X, y = make_patients(300, seed=7)
    pipeline = make_pipeline_model()
    pipeline.steps[-1] = ("forest", RandomForestClassifier(n_estimators=40, random_state=0))
    iris_X, iris_y = load_iris(return_X_y=True, as_frame=True)
    diabetes_X, diabetes_y = load_diabetes(return_X_y=True, as_frame=True)
    return {
        "binary": build(folder, "readmission-forest", pipeline.fit(X, y), X, y),
        "multiclass": build(
            folder,
            "iris-forest",
            RandomForestClassifier(50, random_state=1).fit(iris_X, iris_y),
            iris_X,
            iris_y,
        ),
        "regression": build(
            folder,
            "diabetes-trees",
            ExtraTreesRegressor(30, random_state=2).fit(diabetes_X, diabetes_y),
            diabetes_X,
            diabetes_y,
        ),
    }


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_server_scores_forests_tree_by_tree_and_says_so_in_metadata(
    forest_artefacts: dict[str, Path],
    task: str,
    client: Callable[..., FlaskClient],
    logs: pytest.LogCaptureFixture,
) -> None:
    artefact = forest_artefacts[task]
    runtime = load_runtime(Settings(artefact=artefact))
    assert runtime.exact is not None and runtime.not_ready is None
    assert FOREST_PATH in logs.text
    inference = client(artefact).get("/metadata").get_json()["inference"]
    assert inference == {
        "engine": "scikit-learn",
        "path": FOREST_PATH,
        "compiled": None,
        "reason": None,
    }


def test_server_keeps_scikit_learn_when_the_forest_path_would_differ(
    forest_artefacts: dict[str, Path],
    client: Callable[..., FlaskClient],
    logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mean = ForestPath._mean

    def off_by_a_bit(self: ForestPath, X: Any, width: int | None) -> np.ndarray:
        found = mean(self, X, width)
        return np.nextafter(found, np.inf)

    monkeypatch.setattr(ForestPath, "_mean", off_by_a_bit)
    artefact = forest_artefacts["multiclass"]
    runtime = load_runtime(Settings(artefact=artefact))
    assert runtime.exact is None and runtime.not_ready is None
    said = [r for r in logs.records if "not the forest path" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.INFO]
    assert "predict_proba differs" in said[0].getMessage()
    inference = client(artefact).get("/metadata").get_json()["inference"]
    assert inference["path"] != FOREST_PATH


def test_multi_output_forest_keeps_scikit_learn(logs: pytest.LogCaptureFixture) -> None:
    X, y = numbers(1, 200, 3, nan_share=0.0)
    model = RandomForestClassifier(10, random_state=0).fit(X, np.column_stack([y, 2 - y]))
    artefact = SimpleNamespace(model=model)
    assert exact_path(artefact, "binary", lambda rows: rows) is None  # type: ignore[arg-type]
    assert "has 2 outputs" in logs.text


def test_models_other_than_forests_are_not_offered_the_forest_path(
    pipeline_artefact: Path, binary_artefact: Path, logs: pytest.LogCaptureFixture
) -> None:
    assert load_runtime(Settings(artefact=pipeline_artefact)).exact is None
    # A scaled logistic regression has its own exact path (server.runtime.linear).
    assert not isinstance(load_runtime(Settings(artefact=binary_artefact)).exact, ForestPath)
    assert "forest" not in logs.text


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_gunicorn_answers_exactly_what_scikit_learn_answers(
    forest_artefacts: dict[str, Path], task: str, tmp_path: Path
) -> None:
    artefact = forest_artefacts[task]
    loaded = load_artefact(artefact, allow_pickle=False)
    spec = loaded.manifest.input
    rows = synthetic_records(spec.features, 300, seed=9)
    columns = {name: [row[name] for row in rows] for name in spec.names}
    expected = loaded.model.predict_proba(model_input(columns, spec))
    status, answer, metadata = served_answer(artefact, rows, tmp_path / "serve.log")
    assert status == 200 and metadata["inference"]["path"] == FOREST_PATH
    keys = metadata["probability_keys"]
    got = np.array([[p[key] for key in keys] for p in answer["probabilities"]])
    assert np.array_equal(got, expected)
