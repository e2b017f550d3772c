"""`deployml package`, `inspect` and `verify` end to end for every estimator family; bad input."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
from click.testing import Result
from flask.testing import FlaskClient
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from packager import ModelDetails, capture

PatientData = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


def _split(X: pd.DataFrame, y: pd.Series, n: int) -> tuple[Any, ...]:
    return X.iloc[:n], y.iloc[:n], X.iloc[n:], y.iloc[n:]


def _alternate(X: pd.DataFrame, y: pd.Series) -> tuple[Any, ...]:
    # Iris is sorted by class: alternate rows give every class to both halves.
    return X.iloc[::2], y.iloc[::2], X.iloc[1::2], y.iloc[1::2]


def _cancer() -> tuple[Any, ...]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return _split(X.iloc[:300], y.iloc[:300], 200)


def _scaled(model: Any) -> Any:
    return make_pipeline(StandardScaler(), model)


MODELS: dict[str, tuple[Callable[[], Any], Callable[[], tuple[Any, ...]]]] = {
    "logistic-regression": (lambda: _scaled(LogisticRegression(max_iter=1000)), _cancer),
    # SVC(probability=True) is deprecated in scikit-learn 1.9 in favour of this.
    "svm": (lambda: _scaled(CalibratedClassifierCV(SVC(), ensemble=False)), _cancer),
    "svm-without-probabilities": (lambda: _scaled(SVC()), _cancer),
    "mlp": (
        lambda: _scaled(MLPClassifier((8,), max_iter=2000, random_state=0)),
        _cancer,
    ),
    "decision-tree": (lambda: DecisionTreeClassifier(max_depth=4, random_state=0), _cancer),
    "random-forest": (lambda: RandomForestClassifier(n_estimators=15, random_state=0), _cancer),
    "gradient-boosting": (
        lambda: GradientBoostingClassifier(n_estimators=15, random_state=0),
        _cancer,
    ),
    "hist-gradient-boosting": (lambda: HistGradientBoostingClassifier(max_iter=15), _cancer),
    "multiclass": (
        lambda: RandomForestClassifier(n_estimators=10, random_state=0),
        lambda: _alternate(*load_iris(return_X_y=True, as_frame=True)),
    ),
    "regressor": (
        lambda: Ridge(),
        lambda: _split(*load_diabetes(return_X_y=True, as_frame=True), 300),
    ),
    "forest-regressor": (
        lambda: RandomForestRegressor(n_estimators=10, random_state=0),
        lambda: _split(*load_diabetes(return_X_y=True, as_frame=True), 300),
    ),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_package_inspect_verify_round_trip(
    kind: str, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    make_model, make_data = MODELS[kind]
    X, y, X_test, y_test = make_data()
    model = make_model().fit(X, y)
    details = ModelDetails(name=kind)
    capture(model, X, y, X_test=X_test, y_test=y_test, details=details).save(tmp_path / "model.pkl")

    packaged = runner("package", tmp_path / "model.pkl", "-o", tmp_path / "out")
    assert packaged.exit_code == 0, packaged.output
    assert f"Packaged {kind} 1.0.0 into" in packaged.stdout

    inspected = runner("inspect", tmp_path / "out")
    assert inspected.exit_code == 0, inspected.output
    assert inspected.stdout.startswith(f"{kind} 1.0.0 (")
    assert f"Inputs ({X.shape[1]}, as dataframe)" in inspected.stdout

    verified = runner("verify", tmp_path / "out")
    assert verified.exit_code == 0, verified.output
    # Every model family scores its synthetic self-test rows, and they re-score identically.
    assert "OK    self-test: " in verified.stdout
    assert "examples" not in verified.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pkl", "out"]


def test_package_round_trips_the_column_transformer_pipeline(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    X, y, X_test, y_test = patient_data
    capture(pipeline_model, X, y, X_test=X_test, y_test=y_test).save(tmp_path / "m.pkl")
    assert runner("package", tmp_path / "m.pkl", "-o", tmp_path / "out").exit_code == 0
    inspected = runner("inspect", tmp_path / "out")
    assert "ward" in inspected.stdout and "a, b, c" in inspected.stdout
    verified = runner("verify", tmp_path / "out")
    assert verified.exit_code == 0, verified.output


def test_package_captures_a_plain_pickle_from_csv_data(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    X, y, X_test, y_test = patient_data
    joblib.dump(pipeline_model, tmp_path / "plain.pkl")
    X.assign(readmitted=y).to_csv(tmp_path / "train.csv", index=False)
    X_test.assign(readmitted=y_test.to_numpy()).to_csv(tmp_path / "test.csv", index=False)
    result = runner(
        "package",
        tmp_path / "plain.pkl",
        "-o",
        tmp_path / "out",
        "--train",
        tmp_path / "train.csv",
        "--test",
        tmp_path / "test.csv",
        "--target",
        "readmitted",
        "--name",
        "readmission",
        "--description",
        "Readmission within 30 days.",
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["model"]["description"] == "Readmission within 30 days."
    assert manifest["target"]["name"] == "readmitted"
    assert "test" in manifest["metrics"]
    # age: whole numbers read as int64, recorded as a number (a fraction is a valid request)
    assert [f["kind"] for f in manifest["input"]["features"]] == [
        "number",
        "number",
        "category",
        "category",
        "boolean",
    ]
    assert runner("verify", tmp_path / "out").exit_code == 0


def test_package_states_what_a_bare_estimator_cannot_tell(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    X, y, _, _ = _cancer()
    model = _scaled(LogisticRegression(max_iter=1000)).fit(X.to_numpy(), y)
    joblib.dump(model, tmp_path / "bare.pkl")
    result = runner("package", tmp_path / "bare.pkl", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "Not recorded: metrics: no test data was given" in result.stdout
    assert "feature ranges and missing rates are unknown" in result.stdout
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["input"]["names_generated"] is True
    assert len(manifest["input"]["features"]) == X.shape[1]
    assert manifest["target"]["classes"] == [0, 1]
    card = (tmp_path / "out" / "MODEL_CARD.md").read_text()
    assert "## What is not recorded" in card and "no test data was given" in card


def test_a_bare_estimator_packaged_without_data_serves(
    tmp_path: Path, runner: Callable[..., Result], client: Callable[..., FlaskClient]
) -> None:
    X, y, _, _ = _cancer()
    joblib.dump(_scaled(LogisticRegression(max_iter=1000)).fit(X, y), tmp_path / "bare.joblib")
    assert runner("package", tmp_path / "bare.joblib", "-o", tmp_path / "out").exit_code == 0
    assert runner("verify", tmp_path / "out").exit_code == 0
    api = client(tmp_path / "out")
    assert api.get("/readyz").status_code == 200
    example = api.get("/metadata").get_json()["example"]
    assert example["rows"] == "synthetic"
    response = api.post("/predict", json=example["request"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["predictions"] == example["predictions"]


@pytest.mark.parametrize("chosen", ["real", "synthetic", "none"])
def test_package_examples_option_chooses_what_metadata_shows(
    chosen: str,
    pipeline_model: Any,
    patient_data: PatientData,
    tmp_path: Path,
    runner: Callable[..., Result],
    client: Callable[..., FlaskClient],
) -> None:
    X, y, X_test, y_test = patient_data
    joblib.dump(pipeline_model, tmp_path / "plain.pkl")
    X.assign(readmitted=y).to_csv(tmp_path / "train.csv", index=False)
    X_test.assign(readmitted=y_test.to_numpy()).to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / "out"
    result = runner(
        "package",
        tmp_path / "plain.pkl",
        "-o",
        out,
        *("--train", tmp_path / "train.csv", "--test", tmp_path / "test.csv"),
        *("--target", "readmitted", "--examples", chosen),
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["example_rows"] == chosen
    assert (out / "examples.json").exists() == (chosen == "real")
    first_test_row = json.loads(X_test.head(1).to_json(orient="records"))[0]
    api = client(out)
    assert api.get("/readyz").status_code == 200
    example = api.get("/metadata").get_json()["example"]
    if chosen == "none":
        assert example is None
    else:
        assert example["rows"] == chosen
        assert (example["request"]["instances"] == [first_test_row]) == (chosen == "real")
        assert api.post("/predict", json=example["request"]).status_code == 200
    assert runner("verify", out).exit_code == 0


def test_a_capture_file_keeps_the_examples_chosen_at_capture(
    pipeline_model: Any,
    patient_data: PatientData,
    tmp_path: Path,
    runner: Callable[..., Result],
    client: Callable[..., FlaskClient],
) -> None:
    X, y, _, _ = patient_data
    capture(pipeline_model, X, y, examples="none").save(tmp_path / "m.pkl")
    assert runner("package", tmp_path / "m.pkl", "-o", tmp_path / "out").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == [
        "manifest.json",
        "self_test.json",
    ]
    api = client(tmp_path / "out")
    assert api.get("/metadata").get_json()["example"] is None
    assert api.get("/readyz").status_code == 200
    row = {"age": 60, "bmi": None, "sex": "F", "ward": "a", "smoker": False}
    assert api.post("/predict", json=row).status_code == 200


def test_package_force_replaces_an_earlier_artefact(
    binary_artefact: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    X, y, _, _ = _cancer()
    model = DecisionTreeClassifier().fit(X, y)
    capture(model, X, y, details=ModelDetails(name="new")).save(tmp_path / "m.pkl")
    out = tmp_path / "out"
    assert runner("package", tmp_path / "m.pkl", "-o", out).exit_code == 0
    (out / "manifest.json").write_text((binary_artefact / "manifest.json").read_text())
    assert runner("package", tmp_path / "m.pkl", "-o", out, "--force").exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["model"]["name"] == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pkl", "out"]


def test_debug_shows_the_traceback(tmp_path: Path, runner: Callable[..., Result]) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    result = runner("--debug", "package", tmp_path / "notes.txt", "-o", "x")
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "ModelFileError"


@pytest.fixture
def workdir(tmp_path: Path, pipeline_model: Any, patient_data: PatientData) -> Path:
    """A directory holding good and bad inputs for `deployml package`."""
    X, y, _, _ = patient_data
    joblib.dump(pipeline_model, tmp_path / "plain.pkl")
    capture(pipeline_model, X, y).save(tmp_path / "captured.pkl")
    X.assign(readmitted=y).to_csv(tmp_path / "train.csv", index=False)
    X.drop(columns=["ward"]).assign(readmitted=y).to_csv(tmp_path / "nocol.csv", index=False)
    X.assign(readmitted="no").to_csv(tmp_path / "oneclass.csv", index=False)
    (tmp_path / "notes.txt").write_text("not a model")
    (tmp_path / "empty.csv").write_text("")
    good = (tmp_path / "plain.pkl").read_bytes()
    (tmp_path / "truncated.pkl").write_bytes(good[: len(good) // 2])
    (tmp_path / "dict.pkl").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    joblib.dump(LogisticRegression(), tmp_path / "unfitted.pkl")
    (tmp_path / "existing").mkdir()
    (tmp_path / "existing" / "keep.txt").write_text("the user's file")
    (tmp_path / "afile").write_text("")
    return tmp_path


BAD_PACKAGE_ARGS = [
    (["{d}/notes.txt", "-o", "{d}/out"], 1, "Error: {d}/notes.txt: is not a pickle or joblib file"),
    (
        ["{d}/truncated.pkl", "-o", "{d}/out"],
        1,
        "Error: {d}/truncated.pkl: is corrupt or truncated",
    ),
    (
        ["{d}/dict.pkl", "-o", "{d}/out"],
        1,
        "Error: {d}/dict.pkl: holds a builtins.dict, not a scikit",
    ),
    (["{d}/unfitted.pkl", "-o", "{d}/out"], 1, "the LogisticRegression has not been fitted"),
    (
        ["{d}/plain.pkl", "-o", "{d}/out", "--train", "{d}/nocol.csv", "--target", "readmitted"],
        1,
        "Error: the columns of X do not match the model's: missing ward",
    ),
    (
        ["{d}/plain.pkl", "-o", "{d}/out", "--train", "{d}/oneclass.csv", "--target", "readmitted"],
        1,
        "Error: the target y has one class; a classifier needs at least two",
    ),
    (
        ["{d}/plain.pkl", "-o", "{d}/out", "--train", "{d}/train.csv", "--target", "outcome"],
        1,
        "Error: the training data has no column 'outcome'",
    ),
    (
        ["{d}/plain.pkl", "-o", "{d}/out", "--train", "{d}/empty.csv", "--target", "readmitted"],
        1,
        "Error: training data {d}/empty.csv is empty",
    ),
    (
        ["{d}/captured.pkl", "-o", "{d}/out", "--train", "{d}/train.csv", "--target", "readmitted"],
        1,
        "is a capture file and already holds its data",
    ),
    (
        ["{d}/plain.pkl", "-o", "{d}/existing"],
        1,
        "Error: {d}/existing already exists; pass --force",
    ),
    (["{d}/plain.pkl", "-o", "{d}/existing", "--force"], 1, "is not an earlier artefact"),
    (["{d}/plain.pkl", "-o", "{d}/afile", "--force"], 1, "exists and is not a directory"),
    (
        ["{d}/plain.pkl", "-o", "{d}/afile/out"],
        1,
        "Error: cannot write {d}/afile/out: {d}/afile is not a",
    ),
    (["{d}/plain.pkl", "-o", "{d}/missing/out"], 1, "{d}/missing does not exist"),
    (
        ["{d}/plain.pkl", "-o", "{d}/out", "--train", "{d}/train.csv"],
        2,
        "--train and --target go together",
    ),
    (["{d}/plain.pkl", "-o", "{d}/out", "--test", "{d}/train.csv"], 2, "--test needs --train"),
    (["{d}/plain.pkl", "-o", "{d}/out", "--examples", "real"], 2, "--examples needs --train"),
    (["{d}/captured.pkl", "-o", "{d}/out", "--examples", "none"], 2, "a capture file keeps"),
    (
        ["{d}/plain.pkl", "-o", "{d}/out", "--train", "{d}/train.csv", "--examples", "all"],
        2,
        "Invalid value for '--examples'",
    ),
    (
        ["{d}/captured.pkl", "-o", "{d}/out", "--positive-class", "no"],
        1,
        "Error: {d}/captured.pkl was captured with the positive class 'yes', and its metrics",
    ),
    (
        [
            "{d}/plain.pkl",
            "-o",
            "{d}/out",
            "--train",
            "{d}/train.csv",
            "--target",
            "readmitted",
            "--positive-class",
            "maybe",
        ],
        1,
        "Error: the positive class 'maybe' is not one of the model's classes: 'no', 'yes'",
    ),
    (["{d}/nothere.pkl", "-o", "{d}/out"], 2, "does not exist"),
    (["{d}/plain.pkl"], 2, "Missing option '-o' / '--output'"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD_PACKAGE_ARGS)
def test_package_rejects_bad_input_leaving_nothing_behind(
    workdir: Path, args: list[str], code: int, message: str, runner: Callable[..., Result]
) -> None:
    before = sorted(p.relative_to(workdir) for p in workdir.rglob("*"))
    resolved = [a.format(d=workdir) for a in args]
    result = runner("package", *resolved)
    assert result.exit_code == code, result.output
    assert message.format(d=workdir) in result.stderr
    if code == 1:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
        assert "Traceback" not in result.output
    assert sorted(p.relative_to(workdir) for p in workdir.rglob("*")) == before
    assert (workdir / "existing" / "keep.txt").read_text() == "the user's file"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_package_reports_an_unwritable_location(
    workdir: Path, runner: Callable[..., Result]
) -> None:
    locked = workdir / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = runner("package", workdir / "plain.pkl", "-o", locked / "out")
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write to {locked}: Permission denied\n"


def test_package_cleans_up_when_writing_fails(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, runner: Callable[..., Result]
) -> None:
    def full_disk(*_: Any, **__: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("packager.artefact.model_file.skops.io.dump", full_disk)
    before = sorted(p.relative_to(workdir) for p in workdir.rglob("*"))
    result = runner("package", workdir / "captured.pkl", "-o", workdir / "out")
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {workdir / 'out'}: No space left on device\n"
    assert sorted(p.relative_to(workdir) for p in workdir.rglob("*")) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "nowhere"], "Error: nowhere does not exist; expected an artefact directory"),
        (["verify", "nowhere"], "FAIL  manifest: nowhere does not exist"),
    ],
)
def test_inspect_and_verify_name_a_missing_artefact(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runner: Callable[..., Result],
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner(*args)
    assert result.exit_code == 1
    assert message in result.output


def test_inspect_json_prints_the_manifest(
    binary_artefact: Path, runner: Callable[..., Result]
) -> None:
    result = runner("inspect", binary_artefact, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads((binary_artefact / "manifest.json").read_text())


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("package", ["--format", "pickle", "--trust", "x.Y"], "--format pickle has none"),
        ("train", ["--target", "t", "--format", "pickle", "--trust", "x.Y"], "pickle has none"),
        ("train", ["--target", "t", "--no-package", "--trust", "x.Y"], "not to --no-package"),
        ("train", ["--target", "t", "--no-package", "--format", "pickle"], "not to --no-package"),
    ],
)
def test_model_file_options_that_cannot_apply_are_usage_errors(
    command: str, args: list[str], message: str, workdir: Path, runner: Callable[..., Result]
) -> None:
    source = workdir / ("captured.pkl" if command == "package" else "data.csv")
    source.touch()
    result = runner(command, source, "-o", workdir / "out", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (workdir / "out").exists()


def test_package_counts_the_positive_class_given_and_records_it_everywhere(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    X, y, X_test, y_test = patient_data
    joblib.dump(pipeline_model, tmp_path / "plain.pkl")
    X.assign(readmitted=y).to_csv(tmp_path / "train.csv", index=False)
    X_test.assign(readmitted=y_test.to_numpy()).to_csv(tmp_path / "test.csv", index=False)
    data = ["--train", tmp_path / "train.csv", "--test", tmp_path / "test.csv"]
    result = runner(
        "package", tmp_path / "plain.pkl", "-o", tmp_path / "out", *data,
        "--target", "readmitted", "--positive-class", "no",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    test = manifest["metrics"]["test"]
    assert manifest["target"]["positive_class"] == test["positive_class"] == "no"
    assert test["sensitivity"] == test["per_class"]["no"]["recall"]
    assert test["specificity"] == test["per_class"]["yes"]["recall"]
    assert test["prevalence"] == pytest.approx(float((y_test == "no").mean()))
    at_half = next(p for p in test["operating_points"] if p["threshold"] == 0.5)
    proba_no = pipeline_model.predict_proba(X_test)[:, 0]
    assert at_half["flagged"] == int((proba_no >= 0.5).sum())
    inspected = runner("inspect", tmp_path / "out")
    assert "positive class 'no' (prevalence" in inspected.stdout
    # A capture file keeps the positive class it was captured with; naming it again is fine.
    capture(pipeline_model, X, y, X_test=X_test, y_test=y_test, positive_class="no").save(
        tmp_path / "captured.pkl"
    )
    again = runner(
        "package", tmp_path / "captured.pkl", "-o", tmp_path / "again", "--positive-class", "no"
    )
    assert again.exit_code == 0, again.output


def test_a_bare_estimator_records_its_positive_class(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    X, y, _, _ = _cancer()
    joblib.dump(_scaled(LogisticRegression(max_iter=1000)).fit(X, y), tmp_path / "bare.pkl")
    result = runner(
        "package", tmp_path / "bare.pkl", "-o", tmp_path / "out", "--positive-class", "0"
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["target"]["positive_class"] == 0
    result = runner("package", tmp_path / "bare.pkl", "-o", tmp_path / "default")
    assert (
        json.loads((tmp_path / "default" / "manifest.json").read_text())["target"]["positive_class"]
        == 1
    )


def test_package_warns_once_when_the_model_is_no_better_than_the_baseline(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    noise = y.sample(frac=1, random_state=2).to_numpy()
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(X.iloc[::2], noise[::2])
    joblib.dump(model, tmp_path / "noise.pkl")
    X.iloc[::2].assign(label=noise[::2]).to_csv(tmp_path / "train.csv", index=False)
    X.iloc[1::2].assign(label=y.iloc[1::2]).to_csv(tmp_path / "test.csv", index=False)
    result = runner(
        "package", tmp_path / "noise.pkl", "-o", tmp_path / "out", "--train",
        tmp_path / "train.csv", "--test", tmp_path / "test.csv", "--target", "label",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Warning: the model is no better than a trivial baseline on the test data: brier " in (
        result.stderr
    )
    assert result.stderr.count("Warning:") == 1
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["metrics"]["test"]["worse_than_baseline"]
