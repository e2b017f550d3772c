"""Histogram gradient boosting with all its trees walked together: every bit the same as
scikit-learn's own answers, over random rows, nulls either way, losses, early stopping, depths,
pipelines, binary and multiclass, on both sides of the batch size handed to scikit-learn; used
by the server only when start-up shows it exact, and scikit-learn's own predict otherwise."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import make_patients, make_pipeline_model
from flask.testing import FlaskClient
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_serve_end_to_end import served_answer

from packager import ModelDetails, capture, load_artefact, model_input, package
from server import Settings
from server.runtime import load_runtime
from server.runtime.boosting import (
    BOOSTING_PATH,
    LARGEST_WALK,
    BoostingPath,
    ClassifierPath,
    _Forest,
    boosting_candidate,
)
from server.runtime.exact import SYNTHETIC_ROWS, exact_path, synthetic_records

# Batch sizes on both sides of the one handed to scikit-learn.
SIZES = [1, 2, 7, LARGEST_WALK, LARGEST_WALK + 1, 2000]


def numbers(seed: int, rows: int, nan_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Random features (some missing, the missing ones telling) and a score that depends on
    them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 6))
    X[rng.random(X.shape) < nan_share] = np.nan
    score = np.nan_to_num(X[:, 0], nan=2.0) + np.nan_to_num(X[:, 1] * X[:, 2], nan=-1.0)
    return X, score + rng.normal(0, 0.5, rows)


def query(seed: int, rows: int = 2000) -> np.ndarray:
    """Rows unlike training: wider, with a tenth of the values missing."""
    X, _ = numbers(seed + 1000, rows, 0.1)
    return X * 1.5


def same(own: np.ndarray, fast: np.ndarray) -> bool:
    return own.dtype == fast.dtype and bool(np.array_equal(own, fast))


def assert_exact(model: Any, path: Any, Q: np.ndarray) -> None:
    methods = [m for m in ("predict", "predict_proba") if hasattr(model, m)]
    for size in SIZES:
        for method in methods:
            own, fast = getattr(model, method)(Q[:size]), getattr(path, method)(Q[:size])
            assert same(np.asarray(own), fast), (method, size)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("depth", [None, 3])
def test_boosted_regressor_values_equal_scikit_learn_bit_for_bit(
    seed: int, loss: str, early_stopping: bool, depth: int | None
) -> None:
    X, y = numbers(seed, 600, nan_share=0.08)
    y = np.exp(y / 4) if loss == "poisson" else y
    model = HistGradientBoostingRegressor(
        loss=loss, max_iter=60, max_depth=depth, early_stopping=early_stopping, random_state=seed
    ).fit(X, y)
    path, reason = boosting_candidate(model)
    assert isinstance(path, BoostingPath) and reason == ""
    assert_exact(model, path, query(seed))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("classes", [2, 3, 5])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_boosted_classifier_probabilities_and_classes_equal_scikit_learn_bit_for_bit(
    seed: int, classes: int, early_stopping: bool
) -> None:
    X, y = numbers(seed, 600, nan_share=0.08)
    labels = np.digitize(y, np.quantile(y, np.linspace(0, 1, classes + 1)[1:-1]))
    model = HistGradientBoostingClassifier(
        max_iter=40, early_stopping=early_stopping, random_state=seed
    ).fit(X, np.array(list("abcde"))[labels])
    path, _ = boosting_candidate(model)
    assert isinstance(path, ClassifierPath)
    assert_exact(model, path, query(seed))


def test_nulls_go_each_way_their_node_sends_them() -> None:
    X, y = numbers(5, 800, nan_share=0.2)
    model = HistGradientBoostingRegressor(max_iter=80, random_state=0).fit(X, y)
    nodes = np.concatenate([p.nodes for it in model._predictors for p in it])
    split = nodes[nodes["is_leaf"] == 0]
    # Both ways, and splits on nulls alone (threshold +inf, nulls right), are walked.
    assert set(split["missing_go_to_left"].tolist()) == {0, 1}
    assert np.isinf(split["num_threshold"]).any()
    Q = query(5)
    Q[:, :3] = np.nan  # rows mostly null as well
    assert_exact(model, BoostingPath(model), Q)


def test_boosting_in_pipelines_equals_scikit_learn_bit_for_bit() -> None:
    X, y = make_patients(400, seed=4)
    model = make_pipeline_model()
    model.steps[0][1].set_params(sparse_threshold=0)
    model.steps[-1] = ("boosting", HistGradientBoostingClassifier(max_iter=30, random_state=0))
    model.fit(X, y)
    Q, _ = make_patients(300, seed=5)
    path = ClassifierPath(model)
    for size in (1, 9, 300):
        assert same(model.predict_proba(Q[:size]), path.predict_proba(Q[:size]))
        assert same(model.predict(Q[:size]), path.predict(Q[:size]))
    Xn, yn = numbers(3, 400, nan_share=0.05)
    scaled = make_pipeline(StandardScaler(), HistGradientBoostingRegressor(max_iter=30))
    scaled.fit(Xn, yn)
    assert_exact(scaled, BoostingPath(scaled), query(3))


def test_native_categorical_features_keep_scikit_learn(logs: pytest.LogCaptureFixture) -> None:
    X, y = numbers(1, 300, nan_share=0.0)
    X[:, 0] = np.arange(300) % 4
    model = HistGradientBoostingRegressor(categorical_features=[0], max_iter=10).fit(X, y)
    assert exact_path(SimpleNamespace(model=model), "regression", lambda r: r) is None  # type: ignore[arg-type]
    said = {(r.levelno, r.getMessage()) for r in logs.records if "boosting" in r.getMessage()}
    assert said == {
        (
            logging.INFO,
            "inference: scikit-learn's own predict, not the boosting path: "
            "the HistGradientBoostingRegressor has native categorical features",
        )
    }


# A native-categorical model's preprocessor holds these, which skops does not trust by default.
CATEGORICAL_TYPES = ("functools.partial", "sklearn.utils.validation.check_array")


def build(folder: Path, name: str, model: Any, X: Any, y: Any, trust: Any = ()) -> Path:
    captured = capture(model, X, y, details=ModelDetails(name=name))
    return package(captured, folder / name, trust=trust)


@pytest.fixture(scope="module")
def boosting_artefacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Boosting behind the patients' pipeline (binary), on iris (multiclass, numbers only),
    on diabetes (regression), and on diabetes with its sex a native category (declined)."""
    folder = tmp_path_factory.mktemp("boosting")
    X, y = make_patients(300, seed=7)
    pipeline = make_pipeline_model()
    pipeline.steps[0][1].set_params(sparse_threshold=0)
    pipeline.steps[-1] = ("boosting", HistGradientBoostingClassifier(max_iter=40, random_state=0))
    iris_X, iris_y = load_iris(return_X_y=True, as_frame=True)
    diabetes_X, diabetes_y = load_diabetes(return_X_y=True, as_frame=True)
    categorical = HistGradientBoostingRegressor(categorical_features=["sex"], random_state=0)
    return {
        "binary": build(folder, "readmission-boosting", pipeline.fit(X, y), X, y),
        "multiclass": build(
            folder,
            "iris-boosting",
            HistGradientBoostingClassifier(max_iter=30, random_state=1).fit(iris_X, iris_y),
            iris_X,
            iris_y,
        ),
        "regression": build(
            folder,
            "diabetes-boosting",
            HistGradientBoostingRegressor(random_state=2).fit(diabetes_X, diabetes_y),
            diabetes_X,
            diabetes_y,
        ),
        "categorical": build(
            folder,
            "diabetes-categorical",
            categorical.fit(diabetes_X.assign(sex=diabetes_X["sex"] > 0), diabetes_y),
            diabetes_X.assign(sex=diabetes_X["sex"] > 0),
            diabetes_y,
            trust=CATEGORICAL_TYPES,
        ),
    }


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_server_walks_boosted_trees_and_says_so_in_metadata(
    boosting_artefacts: dict[str, Path],
    task: str,
    client: Callable[..., FlaskClient],
    logs: pytest.LogCaptureFixture,
) -> None:
    artefact = boosting_artefacts[task]
    runtime = load_runtime(Settings(artefact=artefact))
    assert isinstance(runtime.exact, BoostingPath) and runtime.not_ready is None
    assert BOOSTING_PATH in logs.text
    inference = client(artefact).get("/metadata").get_json()["inference"]
    assert inference == {
        "engine": "scikit-learn",
        "path": BOOSTING_PATH,
        "compiled": None,
        "reason": None,
    }


def test_start_up_proves_the_walk_on_every_synthetic_row(
    boosting_artefacts: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    walked: list[int] = []
    leaves = _Forest.leaves

    def counted(self: _Forest, X: np.ndarray) -> np.ndarray:
        walked.append(X.shape[0])
        return leaves(self, X)

    monkeypatch.setattr(_Forest, "leaves", counted)
    assert load_runtime(Settings(artefact=boosting_artefacts["regression"])).exact is not None
    # The whole synthetic batch goes to scikit-learn; its slices and the lone row are walked.
    assert max(walked) <= LARGEST_WALK and sum(walked) >= SYNTHETIC_ROWS + 1


def test_start_up_log_counts_each_row_compared_once(
    boosting_artefacts: dict[str, Path], logs: pytest.LogCaptureFixture
) -> None:
    runtime = load_runtime(Settings(artefact=boosting_artefacts["binary"]))
    stored = [r.inputs for r in runtime.artefact.stored_rows().values() if r.inputs]
    # The lone row and the slices score the synthetic rows again; they are not counted twice.
    assert f"({sum(map(len, stored)) + SYNTHETIC_ROWS} rows compared)" in logs.text


def test_server_keeps_scikit_learn_when_the_walk_would_differ(
    boosting_artefacts: dict[str, Path],
    client: Callable[..., FlaskClient],
    logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leaves = _Forest.leaves

    def one_leaf_off(self: _Forest, X: np.ndarray) -> np.ndarray:
        found = leaves(self, X)
        if found.shape[0] > 1:  # the lone row is right: only the slices show it
            found[1, -1] += 1e-12
        return found

    monkeypatch.setattr(_Forest, "leaves", one_leaf_off)
    artefact = boosting_artefacts["multiclass"]
    runtime = load_runtime(Settings(artefact=artefact))
    assert runtime.exact is None and runtime.not_ready is None
    said = [r for r in logs.records if "not the boosting path" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.INFO]
    assert "predict_proba differs" in said[0].getMessage()
    inference = client(artefact).get("/metadata").get_json()["inference"]
    assert inference["path"] != BOOSTING_PATH


def test_served_model_with_native_categories_uses_scikit_learn_and_says_why(
    boosting_artefacts: dict[str, Path],
    client: Callable[..., FlaskClient],
    logs: pytest.LogCaptureFixture,
) -> None:
    artefact = boosting_artefacts["categorical"]
    runtime = load_runtime(Settings(artefact=artefact))
    assert runtime.exact is None and runtime.not_ready is None
    assert "not the boosting path: the HistGradientBoostingRegressor has native" in logs.text
    inference = client(artefact).get("/metadata").get_json()["inference"]
    assert inference["path"] != BOOSTING_PATH


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_gunicorn_answers_exactly_what_scikit_learn_answers(
    boosting_artefacts: dict[str, Path], task: str, tmp_path: Path
) -> None:
    artefact = boosting_artefacts[task]
    loaded = load_artefact(artefact, allow_pickle=False)
    spec = loaded.manifest.input
    rows = synthetic_records(spec.features, 40, seed=9)
    columns = {name: [row[name] for row in rows] for name in spec.names}
    X = model_input(columns, spec)
    model = loaded.model
    expected = model.predict_proba(X) if task == "binary" else model.predict(X)
    status, answer, metadata = served_answer(artefact, rows, tmp_path / "serve.log")
    assert status == 200 and metadata["inference"]["path"] == BOOSTING_PATH
    if task == "binary":
        keys = metadata["probability_keys"]
        got = np.array([[p[key] for key in keys] for p in answer["probabilities"]])
    else:
        got = np.array(answer["predictions"], dtype=np.float64)
    assert np.array_equal(got, expected)


def test_frames_and_other_dtypes_go_through_the_models_own_checks() -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    framed = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X, y)
    for rows in (X.iloc[:1], X.iloc[:50]):
        assert same(framed.predict(rows), BoostingPath(framed).predict(rows))
    model = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X.to_numpy(), y)
    path = BoostingPath(model)
    numbers = X.to_numpy()
    for rows in (numbers.astype(np.float32)[:5], numbers[:3].tolist(), numbers[:9:2]):
        assert same(model.predict(rows), path.predict(rows))
    for bad in (numbers[:2, :5], numbers[:0], numbers[0]):
        with pytest.raises(ValueError):
            model.predict(bad)
        with pytest.raises(ValueError):
            path.predict(bad)
