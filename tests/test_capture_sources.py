"""load_model_file: capture files, bare estimators with and without data, unreadable files."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from packager import ModelDetails, capture, load_artefact, load_model_file, model_input, package
from packager.errors import CaptureError, ModelFileError

PatientData = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


def test_bare_pipeline_takes_categories_from_its_encoders(
    pipeline_model: Any, tmp_path: Path
) -> None:
    joblib.dump(pipeline_model, tmp_path / "bare.pkl")
    spec = load_model_file(tmp_path / "bare.pkl").manifest.input
    kinds = {f.name: (f.kind, f.categories, f.nullable) for f in spec.features}
    assert kinds == {
        "age": ("number", None, True),
        "bmi": ("number", None, True),
        "sex": ("category", ["F", "M"], True),
        "ward": ("category", ["a", "b", "c"], True),
        "smoker": ("boolean", None, True),
    }


def test_bare_pipeline_artefact_scores_rows_built_from_its_schema(
    pipeline_model: Any, tmp_path: Path
) -> None:
    joblib.dump(pipeline_model, tmp_path / "bare.pkl")
    out = package(load_model_file(tmp_path / "bare.pkl"), tmp_path / "out")
    artefact = load_artefact(out)
    columns = {"age": [70], "bmi": [None], "sex": ["F"], "ward": [None], "smoker": [True]}
    X = model_input(columns, artefact.manifest.input)
    assert artefact.model.predict(X).tolist()[0] in ("no", "yes")


def test_bare_array_model_gets_generated_names(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(40, 3))
    joblib.dump(LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)), tmp_path / "m.pkl")
    captured = load_model_file(tmp_path / "m.pkl", details=ModelDetails(name="arr", author="A"))
    assert captured.manifest.input.names == ["x0", "x1", "x2"]
    assert captured.manifest.input.names_generated
    assert captured.manifest.model.name == "arr" and captured.manifest.model.author == "A"
    assert captured.manifest.provenance.git_commit is None
    assert not any(m.startswith("model.name:") for m in captured.manifest.missing)
    assert captured.examples.inputs == []
    # No statistics: one row of safe defaults (the edge rows would be the same row).
    assert captured.self_test.inputs == [{"x0": 0.0, "x1": 0.0, "x2": 0.0}]


def test_capture_file_details_can_be_overridden(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    capture(pipeline_model, *patient_data[:2]).save(tmp_path / "c.pkl")
    captured = load_model_file(
        tmp_path / "c.pkl", details=ModelDetails(name="renamed", contact="x@example.org")
    )
    assert captured.manifest.model.name == "renamed"
    assert captured.manifest.model.contact == "x@example.org"
    assert not any(
        m.startswith(("model.name:", "model.contact:")) for m in captured.manifest.missing
    )


def test_plain_estimator_is_captured_from_data_frames(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    X, y, X_test, y_test = patient_data
    joblib.dump(pipeline_model, tmp_path / "m.pkl")
    captured = load_model_file(
        tmp_path / "m.pkl",
        train=X.assign(readmitted=y),
        test=X_test.assign(readmitted=y_test.to_numpy()),
        target="readmitted",
    )
    assert captured.manifest.target is not None and captured.manifest.target.name == "readmitted"
    assert "test" in (captured.manifest.metrics or {})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not a pickle or joblib file"),
        (b"col1,col2\n1,2\n", "is not a pickle or joblib file"),
        (b"\x80\x04\x95", "is corrupt or truncated"),
        (b"\x80\x02cno_such_module_xyz\nThing\nq\x00.", "needs the module 'no_such_module_xyz'"),
    ],
)
def test_unreadable_model_files_are_named(content: bytes, message: str, tmp_path: Path) -> None:
    (tmp_path / "m.pkl").write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load_model_file(tmp_path / "m.pkl")


def test_test_data_without_training_data_is_refused(pipeline_model: Any, tmp_path: Path) -> None:
    joblib.dump(pipeline_model, tmp_path / "m.pkl")
    with pytest.raises(CaptureError, match="test data needs training data too"):
        load_model_file(tmp_path / "m.pkl", test=pd.DataFrame({"a": [1]}), target="a")


def _git_checkout(path: Path) -> None:
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, timeout=30)


@pytest.mark.parametrize("with_data", [True, False])
def test_a_plain_pickle_records_no_git_commit_and_says_its_provenance_is_the_packagers(
    with_data: bool,
    pipeline_model: Any,
    patient_data: PatientData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y, _, _ = patient_data
    joblib.dump(pipeline_model, tmp_path / "m.pkl")
    _git_checkout(tmp_path)  # the packaging directory is a git checkout...
    monkeypatch.chdir(tmp_path)
    # ...whose commit capture() records when it is run where the model is trained.
    assert capture(pipeline_model, X, y).manifest.provenance.git_commit is not None
    data = {"train": X.assign(readmitted=y), "target": "readmitted"} if with_data else {}
    manifest = load_model_file(tmp_path / "m.pkl", **data).manifest
    assert (manifest.provenance.git_commit, manifest.provenance.git_dirty) == (None, None)
    assert "provenance: the git commit of the training code is unknown" in manifest.missing
    assert (
        "provenance: python, platform and package versions are those of the packaging "
        "environment, not recorded at training"
    ) in manifest.missing
    assert "model.created_at: the packaging time; the training time is unknown" in manifest.missing
    assert not any("git checkout" in m for m in manifest.missing)
    assert manifest.provenance.python and manifest.provenance.packages  # still recorded


def test_a_capture_file_from_format_1_gets_synthetic_self_test_rows_and_keeps_its_real_rows(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    X, y, X_test, y_test = patient_data
    old = capture(pipeline_model, X, y, X_test=X_test, y_test=y_test, examples="real").to_dict()
    old["deployml_capture"] = "1.1"
    del old["self_test"], old["manifest"]["example_rows"]
    joblib.dump(old, tmp_path / "old.pkl")
    captured = load_model_file(tmp_path / "old.pkl")
    assert captured.manifest.example_rows == "real"
    assert len(captured.examples.inputs) == 5
    assert len(captured.self_test.inputs) == 4
    artefact = load_artefact(package(captured, tmp_path / "out"))
    assert artefact.published_example() == artefact.examples
