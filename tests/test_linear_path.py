"""Linear models scored with their own arithmetic: used only when bit-identical to
scikit-learn, and then giving scikit-learn's answers exactly, through a real server too."""

from __future__ import annotations

import logging
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from test_serve_end_to_end import clean_env, free_port, post, running

from packager import capture, package
from server import Settings
from server.runtime import Runtime, load_runtime
from server.runtime.linear import LINEAR_PATH, LinearPath
from server.validation import Payload

DEPLOYML = [sys.executable, "-m", "deployml"]


def runtime_of(artefact: Path) -> Runtime:
    return load_runtime(Settings(artefact=artefact))


def random_rows(runtime: Runtime, n: int, seed: int) -> list[dict[str, Any]]:
    """Rows drawn across each feature's training range, and a little beyond it."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for feature in runtime.artefact.manifest.input.features:
        low, high = feature.min, feature.max
        assert low is not None and high is not None
        spread = high - low
        values = rng.uniform(low - spread / 10, high + spread / 10, n)
        for row, value in zip(rows, values, strict=True):
            row[feature.name] = float(value)
    return rows


def both_ways(runtime: Runtime, rows: list[dict[str, Any]]) -> tuple[Any, Any]:
    """The outputs of the linear path and of scikit-learn for the same validated rows."""
    batch = runtime.validator.validate(Payload(rows=len(rows), records=rows))
    assert batch.matrix is not None
    return runtime.predict(batch), replace(runtime, exact=None).predict(batch)


@pytest.mark.parametrize("name", ["binary_artefact", "multiclass_artefact", "regressor_artefact"])
def test_a_linear_model_is_scored_bit_for_bit_as_scikit_learn_scores_it(
    name: str, request: pytest.FixtureRequest
) -> None:
    runtime = runtime_of(request.getfixturevalue(name))
    assert isinstance(runtime.exact, LinearPath)
    for seed, n in [(1, 1), (2, 7), (3, 1000), (4, 5000)]:
        fast, slow = both_ways(runtime, random_rows(runtime, n, seed))
        assert fast.predictions == slow.predictions
        assert fast.probabilities == slow.probabilities  # floats compared exactly


def test_models_of_other_shapes_are_scored_by_scikit_learn(
    pipeline_artefact: Path, tmp_path: Path
) -> None:
    # A ColumnTransformer with encoders and imputers, and a scaler this path does not compute.
    assert runtime_of(pipeline_artefact).exact is None
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    artefact = package(capture(model, X, y), tmp_path / "minmax")
    assert runtime_of(artefact).exact is None


def test_a_path_that_is_not_bit_identical_is_not_used_and_the_log_says_why(
    binary_artefact: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    exact = LinearPath.predict_proba

    def one_ulp_off(self: LinearPath, X: Any) -> np.ndarray:
        return np.nextafter(exact(self, X), 1.0)

    monkeypatch.setattr(LinearPath, "predict_proba", one_ulp_off)
    with caplog.at_level(logging.INFO, logger="deployml.server"):
        runtime = runtime_of(binary_artefact)
    assert runtime.exact is None
    assert runtime.not_ready is None
    assert "not the linear path: its predict_proba differs" in caplog.text


def test_input_with_a_null_is_left_to_the_model(binary_artefact: Path) -> None:
    runtime = runtime_of(binary_artefact)
    assert isinstance(runtime.exact, LinearPath)
    model = runtime.artefact.model
    X, _ = load_breast_cancer(return_X_y=True)
    matrix = X[:3].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an array has no feature names
        assert np.array_equal(runtime.exact.predict_proba(matrix), model.predict_proba(matrix))
        matrix[1, 4] = np.nan
        with pytest.raises(ValueError, match="NaN") as own:
            model.predict_proba(matrix)
        with pytest.raises(ValueError, match="NaN") as path:
            runtime.exact.predict_proba(matrix)
    assert str(path.value) == str(own.value)


def test_a_served_linear_model_answers_what_the_estimator_itself_gives(
    tmp_path: Path,
) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    artefact = package(capture(model, X, y), tmp_path / "lr")
    rows = X.sample(300, random_state=9).reset_index(drop=True)
    port = free_port()
    command = [*DEPLOYML, "serve", str(artefact), "--port", str(port), "--workers", "1"]
    with running(command, port, tmp_path / "serve.log", clean_env()) as base:
        status, answer, _ = post(base, {"instances": rows.to_dict(orient="records")})
    assert status == 200
    assert LINEAR_PATH in (tmp_path / "serve.log").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an array has no feature names: as the server sends
        own = model.predict_proba(rows.to_numpy(dtype=np.float64))
        labels = model.predict(rows.to_numpy(dtype=np.float64)).tolist()
    served = pd.DataFrame(answer["probabilities"])[[str(c) for c in model.classes_]]
    assert np.array_equal(served.to_numpy(), own)
    assert answer["predictions"] == labels
