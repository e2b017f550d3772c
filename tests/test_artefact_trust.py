"""skops model files: every train family packages out of the box, other types need --trust,
and a file holding a type its manifest did not approve is never loaded."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from click.testing import Result
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from packager import Examples, capture, load_artefact, package, read_manifest, verify
from packager.artefact import KNOWN_TYPES, file_sha256
from packager.errors import ManifestError, RoundTripError, UntrustedTypesError
from packager.training import MODELS
from server import Settings, create_app


def double(X: Any) -> Any:
    """A function of this module: skops does not trust it unless told to."""
    return X * 2


def halve(X: Any) -> Any:
    """double's inverse, a second type skops does not trust."""
    return X / 2


def _custom_model(patient_data: Any) -> Any:
    X, y, _, _ = patient_data
    numbers = X[["age", "bmi"]].fillna(0.0)
    transformer = FunctionTransformer(double, inverse_func=halve, check_inverse=False)
    model = make_pipeline(transformer, _logistic()).fit(numbers, y)
    return model, numbers, y


def _logistic() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _rehash(artefact: Path, name: str) -> None:
    manifest = json.loads((artefact / "manifest.json").read_text())
    path = artefact / name
    manifest["files"][name] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    (artefact / "manifest.json").write_text(json.dumps(manifest))


def _train_csv(tmp_path: Path, regression: bool) -> Path:
    rng = np.random.default_rng(0)
    n = 80
    frame = pd.DataFrame(
        {
            "age": rng.integers(20, 90, n).astype(float),
            "bmi": rng.normal(27, 4, n).round(1),
            "ward": rng.choice(["a", "b", "c"], n),
        }
    )
    frame.loc[::9, "bmi"] = np.nan  # a gap, so the imputer keeps its numpy.dtype
    score = frame["age"] / 30 + frame["bmi"].fillna(27) / 10 + rng.normal(0, 0.3, n)
    frame["outcome"] = score.round(2) if regression else np.where(score > 5.4, "yes", "no")
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


FAMILIES = [
    pytest.param(model, task, id=f"{model}-{task}")
    for model in MODELS
    for task in ("classification", "regression")
    if (model, task)
    not in {("logistic-regression", "regression"), ("linear-regression", "classification")}
]


@pytest.mark.parametrize(("model", "task"), FAMILIES)
def test_every_train_family_packages_as_skops_and_round_trips(
    model: str, task: str, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    data = _train_csv(tmp_path, regression=task == "regression")
    out = tmp_path / "out"
    result = runner(
        "train",
        data,
        "--target",
        "outcome",
        "--task",
        task,
        "--model",
        model,
        "--no-plots",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    manifest, _ = read_manifest(out)
    assert manifest.model_file.path == "model.skops"
    assert manifest.model_file.serializer == "skops"
    assert set(manifest.model_file.trusted_types) <= KNOWN_TYPES
    assert not (out / "model.joblib").exists()
    report = verify(out)
    assert [(c.name, c.status) for c in report.checks if c.status != "ok"] == []
    assert next(c for c in report.checks if c.name == "self-test").detail.endswith(
        "re-scored identically"
    )


def test_the_imputer_and_forest_types_are_approved_and_recorded(tmp_path: Path) -> None:
    # A forest behind an imputer holds both kinds: numpy.dtype and the trees' Tree.
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    X.loc[::5, "a"] = np.nan
    y = (X["b"] > 0).astype(int)
    model = make_pipeline(SimpleImputer(), RandomForestClassifier(n_estimators=3, random_state=0))
    out = package(capture(model.fit(X, y), X, y), tmp_path / "forest")
    manifest, _ = read_manifest(out)
    assert manifest.model_file.trusted_types == ["numpy.dtype", "sklearn.tree._tree.Tree"]


def test_a_skops_artefact_pins_the_skops_that_wrote_it_and_a_pickle_does_not(
    pipeline_model: Any, patient_data: Any, tmp_path: Path
) -> None:
    from importlib import metadata

    captured = capture(pipeline_model, *patient_data[:2])
    skops = package(captured, tmp_path / "skops")
    pickle = package(captured, tmp_path / "pickle", model_format="pickle")
    assert f"skops=={metadata.version('skops')}" in (skops / "requirements.txt").read_text()
    assert read_manifest(skops)[0].provenance.packages["skops"] == metadata.version("skops")
    assert "skops" not in (pickle / "requirements.txt").read_text()


def test_packaging_refuses_each_unapproved_type_by_name_and_writes_nothing(
    patient_data: Any, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    model, X, y = _custom_model(patient_data)
    capture(model, X, y).save(tmp_path / "custom.pkl")
    before = _leftovers(tmp_path)
    result = runner("package", tmp_path / "custom.pkl", "-o", tmp_path / "out")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    for name in (f"{__name__}.double", f"{__name__}.halve"):
        assert name in lines[0] and f"--trust {name}" in lines[0]
    assert lines[0].startswith(f"Error: {tmp_path / 'out' / 'model.skops'}: holds types")
    assert _leftovers(tmp_path) == before


def test_trust_approves_other_types_and_records_them(
    patient_data: Any, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    model, X, y = _custom_model(patient_data)
    capture(model, X, y).save(tmp_path / "custom.pkl")
    out = tmp_path / "out"
    trusted = [f"{__name__}.double", f"{__name__}.halve"]
    result = runner(
        "package", tmp_path / "custom.pkl", "-o", out, "--trust", trusted[0], "--trust", trusted[1]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model_file"] == {
        "path": "model.skops",
        "serializer": "skops",
        "trusted_types": trusted,
    }
    assert verify(out).ok


@pytest.fixture
def hostile_skops(binary_artefact: Path, tmp_path: Path) -> Path:
    """binary_artefact whose model.skops now refers to os.system, its hash updated to match."""
    artefact = Path(shutil.copytree(binary_artefact, tmp_path / "hostile"))
    model = make_pipeline(FunctionTransformer(os.system), _logistic())
    skops.io.dump(model, artefact / "model.skops")
    _rehash(artefact, "model.skops")
    return artefact


def test_a_skops_file_with_an_unapproved_type_is_refused_even_with_its_hash_updated(
    hostile_skops: Path, runner: Callable[..., Result]
) -> None:
    system = f"{os.system.__module__}.system"
    with pytest.raises(UntrustedTypesError, match="its manifest does not approve") as caught:
        load_artefact(hostile_skops)
    assert caught.value.types == [system]
    model = next(c for c in verify(hostile_skops).checks if c.name == "model")
    assert model.status == "fail" and system in model.detail
    with pytest.raises(UntrustedTypesError):
        create_app(Settings(artefact=hostile_skops))
    result = runner("verify", hostile_skops)
    assert result.exit_code == 1 and f"types that its manifest does not approve: {system}" in (
        result.output
    )


def test_a_manifest_whose_recorded_types_are_not_a_list_is_refused(
    binary_artefact: Path, tmp_path: Path
) -> None:
    artefact = Path(shutil.copytree(binary_artefact, tmp_path / "odd"))
    manifest = json.loads((artefact / "manifest.json").read_text())
    manifest["model_file"]["trusted_types"] = "posix.system"
    (artefact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match=r"model_file\.trusted_types must be a list"):
        read_manifest(artefact)


def test_a_round_trip_that_answers_differently_refuses_and_leaves_nothing(
    pipeline_model: Any, patient_data: Any, tmp_path: Path
) -> None:
    # The fake is in the stored outputs: the reloaded model cannot reproduce flipped labels.
    captured = capture(pipeline_model, *patient_data[:2])
    flipped = ["no" if p == "yes" else "yes" for p in captured.self_test.predictions]
    captured = replace(captured, self_test=replace(captured.self_test, predictions=flipped))
    with pytest.raises(RoundTripError, match="does not reproduce the stored example outputs"):
        package(captured, tmp_path / "out")
    assert _leftovers(tmp_path) == []


def test_a_round_trip_is_checked_for_a_pickle_too(
    pipeline_model: Any, patient_data: Any, tmp_path: Path
) -> None:
    captured = capture(pipeline_model, *patient_data[:2])
    broken = replace(captured, self_test=Examples(captured.self_test.inputs[:1], [None], None))
    with pytest.raises(RoundTripError, match="example 0: the prediction differs"):
        package(broken, tmp_path / "out", model_format="pickle")
    assert _leftovers(tmp_path) == []
