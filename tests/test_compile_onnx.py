"""``--compile onnx``: the model converted, proven on every row set, written with its record,
and served by onnxruntime with the same answers as scikit-learn; refused with nothing written
when the proof fails or a step cannot be converted."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from flask.testing import FlaskClient
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler
from test_serve_end_to_end import DEPLOYML, clean_env, free_port, post, running

import deployml.packaging
from packager import capture
from packager.artefact import file_sha256, read_manifest
from packager.compile import compile_model
from server.runtime.linear import LINEAR_PATH

TOLERANCE = 1e-5
NUMBERS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def _logistic() -> tuple[Any, pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), X, y


def _forest() -> tuple[Any, pd.DataFrame, pd.Series]:
    values, labels = make_classification(n_samples=600, n_features=20, random_state=0)
    X = pd.DataFrame(values, columns=[f"x{i}" for i in range(20)])
    return RandomForestClassifier(n_estimators=100, random_state=0), X, pd.Series(labels)


def _boosting() -> tuple[Any, pd.DataFrame, pd.Series]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return HistGradientBoostingRegressor(random_state=0), X, y


def _penguins() -> tuple[Any, pd.DataFrame, pd.Series]:
    from conftest import make_penguins

    frame = make_penguins()
    frame["sex"] = frame["sex"].fillna("unknown")
    columns = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), NUMBERS),
            ("categories", OneHotEncoder(handle_unknown="ignore"), ["island", "sex"]),
        ]
    )
    model = make_pipeline(columns, LogisticRegression(max_iter=1000))
    return model, frame.drop(columns="species"), frame["species"]


KINDS = {"logistic": _logistic, "forest": _forest, "boosting": _boosting, "penguins": _penguins}


def _capture_file(tmp_path: Path, kind: str) -> tuple[Path, pd.DataFrame]:
    model, X, y = KINDS[kind]()
    train, test = X.iloc[: len(X) * 3 // 4], X.iloc[len(X) * 3 // 4 :]
    model.fit(train, y.iloc[: len(train)])
    captured = capture(model, train, y.iloc[: len(train)], X_test=test, y_test=y.iloc[len(train) :])
    return captured.save(tmp_path / f"{kind}.pkl"), test


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_compiled_artefact_served_by_gunicorn_answers_as_scikit_learn(
    tmp_path: Path, kind: str, runner: Callable[..., Result], client: Callable[..., FlaskClient]
) -> None:
    model_file, test = _capture_file(tmp_path, kind)
    compiled, plain = tmp_path / "compiled", tmp_path / "plain"
    made = runner("package", model_file, "-o", compiled, "--compile", "onnx")
    assert made.exit_code == 0, made.output
    assert "Compiled: model.onnx answers as scikit-learn" in made.output
    assert runner("package", model_file, "-o", plain).exit_code == 0
    manifest, _ = read_manifest(compiled)
    record = manifest.compiled
    assert manifest.format_version == "4.2" and record is not None
    assert manifest.files["model.onnx"].sha256 == file_sha256(compiled / "model.onnx")
    assert record.converter.name == "skl2onnx" and record.runtime.name == "onnxruntime"
    assert record.tolerance == TOLERANCE and record.rows_checked["range_edges"] > 1
    assert all(size <= TOLERANCE for size in record.worst_difference.values())
    shown = runner("inspect", compiled).output
    assert "Compiled:   model.onnx (onnx, skl2onnx " in shown
    assert "Compiled:   no" in runner("inspect", plain).output
    rows = json.loads(test.head(25).to_json(orient="records"))
    expected = client(plain).post("/predict", json={"instances": rows}).get_json()
    port = free_port()
    command = [*DEPLOYML, "serve", str(compiled), "--port", str(port), "--workers", "2"]
    with running(command, port, tmp_path / "serve.log", clean_env()) as base:
        status, metadata, _ = post(base, None, path="/metadata")
        assert status == 200
        assert metadata["inference"]["engine"] == "onnxruntime"
        assert metadata["inference"]["compiled"]["path"] == "model.onnx"
        answers = [post(base, {"instances": rows})[1] for _ in range(4)]  # both workers
        single = post(base, rows[0])[1]
    for answer in [*answers, single]:
        count = len(answer["predictions"])
        if kind == "boosting":  # regression: within the tolerance, relative beyond one
            want = np.array(expected["predictions"][:count])
            scaled = np.abs(np.array(answer["predictions"]) - want) / np.maximum(1, np.abs(want))
            assert scaled.max() <= TOLERANCE
        else:  # labels: identical
            assert answer["predictions"] == expected["predictions"][:count]
        if "probabilities" in answer:
            got = [[p[k] for k in sorted(p)] for p in answer["probabilities"]]
            want = [[p[k] for k in sorted(p)] for p in expected["probabilities"][:count]]
            assert np.allclose(got, want, rtol=0, atol=TOLERANCE)


def test_compiled_model_differing_beyond_the_tolerance_is_refused_with_nothing_written(
    tmp_path: Path, runner: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    model_file, _ = _capture_file(tmp_path, "forest")
    strict = functools.partial(compile_model, tolerance=1e-12)
    monkeypatch.setattr(deployml.packaging, "compile_model", strict)
    refused = runner("package", model_file, "-o", tmp_path / "out", "--compile", "onnx")
    assert refused.exit_code == 1
    assert "Error: the compiled model does not answer as scikit-learn does: on the " in (
        refused.output
    )
    assert "probabilities differ by up to " in refused.output
    assert "(tolerance 1e-12); nothing was written" in refused.output
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_a_step_skl2onnx_cannot_convert_is_refused_by_its_class_name(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :4]
    model = make_pipeline(SplineTransformer(), LogisticRegression(max_iter=1000)).fit(X, y)
    model_file = capture(model, X, y).save(tmp_path / "spline.pkl")
    refused = runner("package", model_file, "-o", tmp_path / "out", "--compile", "onnx")
    assert refused.exit_code == 1
    assert "Error: cannot compile the model: its step SplineTransformer has no converter" in (
        refused.output
    )
    assert not (tmp_path / "out").exists()


def test_without_onnxruntime_the_server_scores_with_scikit_learn_and_says_why(
    tmp_path: Path,
    runner: Callable[..., Result],
    client: Callable[..., FlaskClient],
    logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model_file, _ = _capture_file(tmp_path, "logistic")
    assert runner("package", model_file, "-o", tmp_path / "a", "--compile", "onnx").exit_code == 0
    monkeypatch.setattr("server.runtime.compiled.onnxruntime_version", lambda: None)
    inference = client(tmp_path / "a").get("/metadata").get_json()["inference"]
    assert inference["engine"] == "scikit-learn"
    assert inference["reason"].startswith("onnxruntime is not installed")
    assert inference["compiled"]["path"] == "model.onnx"
    warned = [r for r in logs.records if "not the compiled model" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING


def test_an_artefact_without_a_compiled_model_says_scikit_learn_scores(
    binary_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    inference = client(binary_artefact).get("/metadata").get_json()["inference"]
    assert inference == {
        "engine": "scikit-learn",
        "path": LINEAR_PATH,  # a scaled logistic regression: its own arithmetic
        "compiled": None,
        "reason": None,
    }


def test_train_no_package_refuses_compile(runner: Callable[..., Result], tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.iloc[:, :3].assign(target=y).to_csv(data, index=False)
    refused = runner(
        "train",
        data,
        "--target",
        "target",
        "--no-package",
        "--compile",
        "onnx",
        "-o",
        tmp_path / "o",
    )
    assert refused.exit_code == 2
    assert "--compile apply to packaging, not to --no-package" in refused.output


def test_a_compiled_model_that_disagrees_at_start_up_is_not_used_and_metadata_says_why(
    tmp_path: Path,
    runner: Callable[..., Result],
    client: Callable[..., FlaskClient],
    logs: pytest.LogCaptureFixture,
) -> None:
    model_file, test = _capture_file(tmp_path, "forest")
    artefact = tmp_path / "compiled"
    assert runner("package", model_file, "-o", artefact, "--compile", "onnx").exit_code == 0
    # A record whose tolerance float32 arithmetic cannot meet: the start-up check fails.
    manifest = json.loads((artefact / "manifest.json").read_text())
    manifest["compiled"]["tolerance"] = 1e-20
    (artefact / "manifest.json").write_text(json.dumps(manifest))
    api = client(artefact)
    inference = api.get("/metadata").get_json()["inference"]
    assert inference["engine"] == "scikit-learn"
    assert inference["reason"].startswith(
        "the compiled model does not answer self_test.json as scikit-learn does: probabilities "
        "differ by up to "
    )
    assert inference["reason"].endswith("(tolerance 1e-20)")
    assert any("not the compiled model" in r.getMessage() for r in logs.records)
    rows = json.loads(test.head(5).to_json(orient="records"))
    stored = json.loads((artefact / "self_test.json").read_text())
    answer = api.post("/predict", json={"instances": stored["inputs"]}).get_json()
    assert answer["predictions"] == stored["predictions"]
    assert api.post("/predict", json={"instances": rows}).status_code == 200


def test_train_compile_onnx_writes_a_compiled_artefact(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    from conftest import make_pbc

    data = tmp_path / "pbc.csv"
    make_pbc(300, seed=5).to_csv(data, index=False)
    made = runner(
        "train",
        data,
        "--target",
        "status",
        "--drop",
        "id",
        "--drop",
        "diagnosed",
        "--no-plots",
        "--compile",
        "onnx",
        "-o",
        tmp_path / "a",
    )
    assert made.exit_code == 0, made.output
    manifest, _ = read_manifest(tmp_path / "a")
    assert manifest.compiled is not None and manifest.compiled.inputs == "columns"
    assert "model.onnx" in manifest.files


def test_compile_without_the_extra_is_refused_naming_it_and_writes_nothing(
    tmp_path: Path, runner: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    model_file, _ = _capture_file(tmp_path, "logistic")
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # import skl2onnx now fails
    refused = runner("package", model_file, "-o", tmp_path / "out", "--compile", "onnx")
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        "Error: --compile onnx needs skl2onnx, which is not installed: pip install 'deployml[onnx]'"
    )
    assert not (tmp_path / "out").exists()
