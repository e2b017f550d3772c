"""`--subgroup` on `deployml train` and `package`: columns from the data, never model inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
from click.testing import Result
from conftest import make_cohort
from sklearn.linear_model import LogisticRegression

from packager import capture


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """800 patients: outcome, marker, other, sex, age (with gaps and values above 120) and a
    record number as text, which train leaves out with a warning."""
    X, y = make_cohort(800, seed=4)
    path = tmp_path_factory.mktemp("cohort") / "cohort.csv"
    X.assign(outcome=y, record=[f"r{i}" for i in range(800)]).to_csv(path, index=False)
    return path


def _manifest(artefact: Path) -> dict[str, Any]:
    return json.loads((artefact / "manifest.json").read_text())


def _train(runner: Callable[..., Result], data: Path, out: Path, *options: Any) -> Result:
    return runner(
        "train",
        data,
        "--target",
        "outcome",
        "--model",
        "logistic-regression",
        "--no-plots",
        "-o",
        out,
        *options,
    )


def test_train_measures_a_dropped_column_as_a_subgroup_without_using_it(
    cohort_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    out = tmp_path / "cohort"
    result = _train(
        runner,
        cohort_csv,
        out,
        "--drop",
        "sex",
        "--subgroup",
        "sex",
        "--subgroup",
        "age:0,40,65,120",
    )
    assert result.exit_code == 0, result.output
    assert "Warning: column 'record' is left out" in result.output
    manifest = _manifest(out)
    names = [f["name"] for f in manifest["input"]["features"]]
    assert "sex" not in names and "age" in names
    sex, age = manifest["subgroups"]["columns"]
    assert (sex["column"], sex["in_model"], age["in_model"]) == ("sex", False, True)
    assert sum(g["n"] for g in sex["groups"]) == manifest["metrics"]["test"]["n_rows"] == 200
    assert sex["gaps"]["roc_auc"]["worst"] == "F"
    assert [g["group"] for g in age["groups"]][-2:] == ["outside 0-120", "missing"]
    inspected = runner("inspect", out)
    assert "  sex: 2 groups (F " in inspected.stdout and "worst F" in inspected.stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--subgroup", "outcome"), "--subgroup names the target column 'outcome'"),
        (("--subgroup", "ward"), "--subgroup names 'ward', not in the data; its columns are"),
        (("--subgroup", "age:0,40,40"), "subgroup 'age:0,40,40': the bin edges must be strictly"),
        (
            ("--subgroup", "sex:0,1"),
            "subgroup 'sex:0,1': column 'sex' is not numeric, so it cannot be binned",
        ),
    ],
)
def test_train_refuses_a_bad_subgroup_before_fitting(
    cohort_csv: Path,
    tmp_path: Path,
    runner: Callable[..., Result],
    options: tuple[str, ...],
    message: str,
) -> None:
    result = _train(runner, cohort_csv, tmp_path / "out", *options)
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    # Refused before the columns were planned, which warns of the record column.
    assert "Warning: column 'record' is left out" not in result.output
    assert not (tmp_path / "out").exists()


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A plain pickle of a model of marker and other; training and test CSVs with sex."""
    X, y = make_cohort(600, seed=5)
    table = X.drop(columns=["age"]).assign(outcome=y)
    model = LogisticRegression().fit(X[["marker", "other"]].iloc[:300], y.iloc[:300])
    joblib.dump(model, tmp_path / "model.pkl")
    table.iloc[:300].to_csv(tmp_path / "train.csv", index=False)
    table.iloc[300:].to_csv(tmp_path / "test.csv", index=False)
    return tmp_path / "model.pkl", tmp_path / "train.csv", tmp_path / "test.csv"


def test_package_takes_subgroup_columns_from_the_test_csv(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    model, train, test = _files(tmp_path)
    out = tmp_path / "out"
    result = runner(
        "package",
        model,
        "--train",
        train,
        "--test",
        test,
        "--target",
        "outcome",
        "--subgroup",
        "sex",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    (sex,) = _manifest(out)["subgroups"]["columns"]
    assert sex["in_model"] is False and [g["group"] for g in sex["groups"]] == ["F", "M"]
    assert sex["gaps"]["roc_auc"]["worst"] == "F"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--subgroup", "outcome"), "the target 'outcome' cannot be a subgroup column"),
        (("--subgroup", "ward"), "subgroup column 'ward' is not a column of the test data"),
        (("--subgroup", "sex:"), "subgroup 'sex:': the bin edges must be numbers"),
    ],
)
def test_package_refuses_a_bad_subgroup(
    tmp_path: Path, runner: Callable[..., Result], options: tuple[str, ...], message: str
) -> None:
    model, train, test = _files(tmp_path)
    result = runner(
        "package",
        model,
        "--train",
        train,
        "--test",
        test,
        "--target",
        "outcome",
        *options,
        "-o",
        tmp_path / "out",
    )
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    assert not (tmp_path / "out").exists()


def test_package_refuses_subgroups_without_test_data(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    model, train, _ = _files(tmp_path)
    result = runner(
        "package",
        model,
        "--train",
        train,
        "--target",
        "outcome",
        "--subgroup",
        "sex",
        "-o",
        tmp_path / "out",
    )
    assert result.exit_code == 1
    assert "Error: subgroups are measured on the test data; give test data (--test) too" in (
        result.output
    )


def test_package_refuses_subgroups_for_a_capture_file(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    X, y = make_cohort(300, seed=6)
    features = X[["marker", "other"]]
    model = LogisticRegression().fit(features, y)
    capture(model, features, y, X_test=features, y_test=y).save(tmp_path / "captured.pkl")
    result = runner("package", tmp_path / "captured.pkl", "--subgroup", "sex", "-o", tmp_path / "o")
    assert result.exit_code == 1
    assert "is a capture file, which does not keep its test data" in result.output
    assert "pass subgroups to capture() when making it" in result.output


def test_without_subgroup_a_column_the_model_lacks_is_still_refused(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    model, train, test = _files(tmp_path)
    assert "sex" in pd.read_csv(train).columns
    result = runner(
        "package",
        model,
        "--train",
        train,
        "--test",
        test,
        "--target",
        "outcome",
        "-o",
        tmp_path / "out",
    )
    # Without --subgroup the column is an unexpected input, as before.
    assert result.exit_code == 1 and "unexpected sex" in result.output
