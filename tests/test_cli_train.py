"""`deployml train` end to end: the report, the artefact, the capture file, and bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from flask.testing import FlaskClient

from packager import FORMAT_VERSION, load_model_file, read_manifest, verify


def test_train_packages_the_passenger_csv_with_report_plots_and_warnings(
    passengers_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    out = tmp_path / "titanic"
    result = runner(
        "train",
        passengers_csv,
        "--target",
        "Survived",
        "--model",
        "logistic-regression",
        "--drop",
        "PassengerId",
        "--cv",
        "3",
        "--search",
        "-o",
        out,
        "--description",
        "Survival of a passenger.",
        "--author",
        "Data team",
    )
    assert result.exit_code == 0, result.output
    stdout = result.stdout
    assert "Data:       240 rows, 10 columns from passengers.csv" in stdout
    assert "Task:       classification of 'Survived' (the target holds 2 distinct" in stdout
    assert "Features:   4 numeric, 2 categorical" in stdout
    assert "left out 'PassengerId': left out with --drop" in stdout
    assert "Split:      180 training rows, 60 test rows (seed 0, stratified)" in stdout
    assert "Search:     best of 4 by roc_auc over 3 folds: C=" in stdout
    assert "Classification report on 60 test rows:" in stdout
    header = next(line for line in stdout.splitlines() if "precision" in line)
    assert header.split() == ["precision", "recall", "f1", "support"]
    assert any(line.split()[:2] == ["macro", "avg"] for line in stdout.splitlines())
    assert "Cross-validation: 3 folds of the training rows, roc_auc mean" in stdout
    assert "Plots: plots/ROC_curve.png, plots/calibration_curve.png" in stdout
    assert f"Packaged passengers-logistic-regression 1.0.0 into {out}" in stdout
    assert "Warning: column 'Name' is left out" in result.stderr
    # Printed as they arise, before the long steps and the report.
    assert result.output.index("Warning: column 'Name'") < result.output.index("search: 12 fits")
    assert "search: 12 fits" in result.stderr and "learning curve: 15 fits" in result.stderr

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"]["description"] == "Survival of a passenger."
    assert manifest["training"]["options"]["search"] is True
    assert manifest["metrics"]["cross_validation"]["folds"] == 3
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "ROC_curve.png",
        "calibration_curve.png",
        "confusion_matrix.png",
        "learning_curve.png",
        "precision_recall_curve.png",
    ]
    assert verify(out).ok


def _csv_rows(path: Path, names: list[str]) -> list[dict[str, Any]]:
    """The CSV's rows as JSON records of ``names`` (missing values as null)."""
    rows: list[dict[str, Any]] = json.loads(
        pd.read_csv(path)[names].to_json(orient="records", double_precision=15)
    )
    return rows


@pytest.mark.parametrize("chosen", ["default", "real", "none"])
def test_train_examples_option_decides_whether_real_rows_are_stored_and_published(
    chosen: str,
    passengers_csv: Path,
    tmp_path: Path,
    runner: Callable[..., Result],
    client: Callable[..., FlaskClient],
) -> None:
    out = tmp_path / "out"
    option = [] if chosen == "default" else ["--examples", chosen]
    args = ["--target", "Survived", "--drop", "PassengerId", "--no-plots", *option]
    result = runner("train", passengers_csv, *args, "--model", "decision-tree", "-o", out)
    assert result.exit_code == 0, result.output
    stored = json.loads((out / "self_test.json").read_text())["inputs"]
    real = _csv_rows(passengers_csv, list(stored[0]))
    assert not [row for row in stored if row in real]  # the self-test holds no real row
    assert (out / "examples.json").exists() == (chosen == "real")
    api = client(out)
    assert api.get("/readyz").status_code == 200
    example = api.get("/metadata").get_json()["example"]
    if chosen == "none":
        assert example is None
        return
    shown = example["request"]["instances"][0]
    assert (shown in real) == (chosen == "real")
    if chosen == "real":
        examples = json.loads((out / "examples.json").read_text())["inputs"]
        assert len(examples) == 5 and all(row in real for row in examples)


def test_train_regression_draws_predicted_against_actual_and_residuals(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=120)
    frame = pd.DataFrame({"x": x, "group": rng.choice(["a", "b"], 120), "y": 3 * x + 1})
    frame.to_csv(tmp_path / "data.csv", index=False)
    result = runner(
        "train",
        tmp_path / "data.csv",
        "--target",
        "y",
        "--model",
        "linear-regression",
        "-o",
        tmp_path / "out",
    )
    assert result.exit_code == 0, result.output
    assert "Test:       30 rows; 95% intervals by percentile bootstrap (1000)" in result.stdout
    assert "(baseline: training mean)" in result.stdout
    assert any(line.split()[0] == "mae" for line in result.stdout.splitlines() if line.strip())
    plots = sorted(p.name for p in (tmp_path / "out" / "plots").iterdir())
    assert plots == ["learning_curve.png", "predicted_vs_actual.png", "residuals.png"]


def test_train_no_package_writes_a_capture_file_that_packages(
    passengers_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    result = runner(
        "train",
        passengers_csv,
        "--target",
        "Survived",
        "--model",
        "decision-tree",
        "--no-plots",
        "--no-package",
        "-o",
        tmp_path / "model.pkl",
    )
    assert result.exit_code == 0, result.output
    assert f"deployml package {tmp_path / 'model.pkl'} -o DIR" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pkl"]
    captured = load_model_file(tmp_path / "model.pkl")
    assert captured.manifest.training is not None
    assert captured.manifest.training["model"] == "decision-tree"
    packaged = runner("package", tmp_path / "model.pkl", "-o", tmp_path / "out")
    assert packaged.exit_code == 0, packaged.output


def test_train_refuses_an_existing_output_before_reading_the_data(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "data.csv").write_text("not,a\nreal,file\n")
    result = runner("train", tmp_path / "data.csv", "--target", "a", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert (
        result.stderr == f"Error: {tmp_path / 'out'} already exists; pass --force to replace it\n"
    )


def test_train_refuses_an_output_in_a_missing_directory_before_reading_the_data(
    tmp_path: Path,
    runner: Callable[..., Result],
) -> None:
    (tmp_path / "data.csv").write_text("not,a\nreal,file\n")
    out = tmp_path / "absent" / "out"
    result = runner("train", tmp_path / "data.csv", "--target", "a", "-o", out)
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {out}: {out.parent} is not a directory\n"


def _write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


BAD_FILES: dict[str, tuple[bytes | str, str]] = {
    "empty": ("", "is empty"),
    "header only": ("age,outcome\n", "has no rows"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 20, "is not UTF-8 text"),
    "ragged": ('a,b\n1,2\n"unclosed,3\n', "cannot be read as CSV"),
    "extra values": ("age,outcome\n1,yes,3\n2,no\n", "has rows with more values than its header"),
    "semicolons": ("age;outcome\n1;yes\n2;no\n", "its header holds ';': is it separated by ';'?"),
    "one class": ("age,outcome\n" + "".join(f"{i},yes\n" for i in range(30)), "has one class"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_train_refuses_unusable_files_with_one_error_line(
    case: str, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    content, message = BAD_FILES[case]
    path = _write(tmp_path, "data.csv", content)
    result = runner("train", path, "--target", "outcome", "-o", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_trailing_comma_on_every_row_keeps_each_value_in_its_column(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    # A spreadsheet's export; read naively, the first column becomes the index and every value
    # moves one column on (here: age would hold bmi's values and the target would be empty).
    rows = "".join(f"{30 + i % 40},{20 + i % 9},{'yes' if i % 3 else 'no'},\n" for i in range(60))
    path = _write(tmp_path, "data.csv", "age,bmi,outcome\n" + rows)
    result = runner("train", path, "--target", "outcome", "--no-plots", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    manifest, _ = read_manifest(tmp_path / "out")
    ranges = {f.name: (f.min, f.max) for f in manifest.input.features}
    assert ranges["bmi"][0] >= 20 and ranges["bmi"][1] <= 28  # not age's values
    assert ranges["age"][1] >= 50  # not bmi's
    assert manifest.target is not None and manifest.target.classes == ["no", "yes"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nope"], "the target column 'nope' is not in the data"),
        (["--target", "Survived", "--model", "xgboost"], "'xgboost' is not one of"),
        (["--target", "Survived", "--test-size", "1"], "Invalid value for '--test-size'"),
        (["--target", "Survived", "--cv", "500"], "with 500 folds needs at least 500"),
        (["--target", "Survived", "--drop", "nope"], "--drop names 'nope', not in the data"),
        (
            ["--target", "Survived", "--task", "regression", "--model", "logistic-regression"],
            "logistic-regression is a classifier only",
        ),
    ],
)
def test_train_bad_options_name_the_problem(
    args: list[str],
    message: str,
    passengers_csv: Path,
    tmp_path: Path,
    runner: Callable[..., Result],
) -> None:
    result = runner("train", passengers_csv, *args, "--no-plots", "-o", tmp_path / "out")
    assert result.exit_code in (1, 2), result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_train_missing_data_file_is_a_usage_error(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    result = runner("train", tmp_path / "absent.csv", "--target", "y", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_train_counts_the_positive_class_given_in_metrics_report_and_manifest(
    passengers_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    out = tmp_path / "died"
    result = runner(
        "train", passengers_csv, "--target", "Survived", "--drop", "PassengerId",
        "--model", "logistic-regression", "--positive-class", "0", "--no-plots", "-o", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    test = manifest["metrics"]["test"]
    assert manifest["target"]["positive_class"] == test["positive_class"] == 0
    assert test["sensitivity"] == test["per_class"]["0"]["recall"]
    assert "Test:       60 rows; positive class 0 (prevalence" in result.stdout
    assert "(baseline: training class frequencies; majority class)" in result.stdout


@pytest.mark.parametrize(
    ("target", "given", "message"),
    [
        ("Survived", "maybe", "the positive class 'maybe' is not one of the model's classes: 0, 1"),
        ("Pclass", "1", "a positive class applies to binary classifiers; this model is a 3-class"),
        ("Fare", "1", "a positive class applies to binary classifiers; this model is a regressor"),
    ],
)
def test_train_refuses_a_positive_class_that_does_not_apply_before_fitting(
    passengers_csv: Path,
    tmp_path: Path,
    runner: Callable[..., Result],
    target: str,
    given: str,
    message: str,
) -> None:
    result = runner(
        "train", passengers_csv, "--target", target, "--drop", "PassengerId",
        "--positive-class", given, "--cv", "3", "-o", tmp_path / "out",
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"Error: {message}" in result.stderr
    assert "fits" not in result.stderr  # refused before any fitting started
    assert not (tmp_path / "out").exists()


def test_train_warns_when_the_model_is_no_better_than_the_baseline(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "z": rng.normal(size=200)})
    frame["outcome"] = rng.choice(["no", "yes"], 200, p=[0.7, 0.3])
    frame.to_csv(tmp_path / "noise.csv", index=False)
    result = runner(
        "train", tmp_path / "noise.csv", "--target", "outcome", "--model", "random-forest",
        "--no-plots", "-o", tmp_path / "out",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Warning: the model is no better than a trivial baseline on the test data" in (
        result.stderr
    )
    assert "WARNING:    brier " in result.stdout
