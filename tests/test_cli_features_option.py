"""--features (the data dictionary) for train and package: read, checked against the table's
columns before any work, and deciding what train does with a column."""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import make_pbc
from sklearn.linear_model import LogisticRegression

from packager.errors import DictionaryError
from packager.training import train as train_frame

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ("--target", "status", "--model", "logistic-regression", "--no-plots")


def documented(kind: str) -> str:
    """The first ``kind`` (yaml, csv) block of docs/training.md: its example dictionary."""
    page = (ROOT / "docs" / "training.md").read_text()
    found = re.search(rf"```{kind}\n(.*?)```", page, re.S)
    assert found is not None
    return found.group(1)


@pytest.fixture
def pbc_csv(tmp_path: Path) -> Path:
    path = tmp_path / "pbc.csv"
    make_pbc(200, 6).to_csv(path, index=False)
    return path


def train(
    runner: Callable[..., Result], data: Path, dictionary: Path, out: Path, *args: Any
) -> Result:
    return runner("train", data, *TRAIN, "--features", dictionary, *args, "-o", out)


def lines_about(result: Result, column: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if f"column {column!r}" in line]


@pytest.mark.parametrize("kind", ["yaml", "csv"])
def test_the_documented_dictionaries_decide_what_train_does_with_each_column(
    kind: str, pbc_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    dictionary = tmp_path / f"features.{kind}"
    dictionary.write_text(documented(kind))
    out = tmp_path / "out"
    result = train(runner, pbc_csv, dictionary, out, "--date", "diagnosed")
    assert result.exit_code == 0, result.output
    training = json.loads((out / "manifest.json").read_text())["training"]
    assert training["dropped_columns"] == {"id": "the data dictionary says it is an identifier"}
    assert "stage" in training["features"]["categorical"]  # categorical: true, one-hot encoded
    assert lines_about(result, "stage") == [] and lines_about(result, "id") != []
    if kind == "yaml":
        assert training["features"]["categorical"] == ["sex", "edema", "stage"]
        assert lines_about(result, "edema") == []


def test_a_name_not_among_the_columns_is_refused_before_training(
    pbc_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    dictionary = tmp_path / "features.yaml"
    dictionary.write_text("albumn:\n  unit: g/dl\n")
    out = tmp_path / "out"
    result = train(runner, pbc_csv, dictionary, out)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {dictionary}: describes 'albumn' (did you mean 'albumin'?), not among the "
        "columns of pbc.csv\n"
    )
    assert not out.exists()


def test_identifier_false_keeps_a_column_and_categorical_false_quiets_codes(
    pbc_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    dictionary = tmp_path / "features.csv"
    dictionary.write_text("name,identifier,categorical\nid,false,\nedema,,false\n")
    out = tmp_path / "out"
    result = train(runner, pbc_csv, dictionary, out, "--drop", "diagnosed")
    assert result.exit_code == 0, result.output
    assert lines_about(result, "id") == [] and lines_about(result, "edema") == []
    training = json.loads((out / "manifest.json").read_text())["training"]
    assert {"id", "edema"} <= set(training["features"]["numeric"])


@pytest.mark.parametrize(
    ("entry", "option", "message"),
    [
        ("id:\n  identifier: true\n", ("--keep", "id"), "--keep names 'id'; the data dictionary "),
        (
            "stage:\n  categorical: false\n",
            ("--categorical", "stage"),
            "--categorical names 'stage'; the data dictionary says it is not categorical",
        ),
        *(
            (
                entry,
                ("--categorical", "stage"),
                "--categorical names 'stage'; the data dictionary says it is a number",
            )
            for entry in ("stage:\n  min: 1\n  max: 4\n", "stage:\n  integer: true\n")
        ),
        ("stage:\n  units: stage\n", (), "unknown key(s) 'units'; the keys are unit, "),
    ],
)
def test_a_dictionary_that_contradicts_the_options_or_is_malformed_is_refused(
    entry: str,
    option: tuple[str, ...],
    message: str,
    pbc_csv: Path,
    tmp_path: Path,
    runner: Callable[..., Result],
) -> None:
    dictionary = tmp_path / "features.yaml"
    dictionary.write_text(entry)
    result = train(runner, pbc_csv, dictionary, tmp_path / "out", *option)
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.startswith("Error: ")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"bili": {"max": 2}}, "training rows of 'bili' lie outside the plausible limits"),
        ({"albumin": {"integer": True}}, "'albumin': integer: true, but"),
        ({"sex": {"min": 0}}, "'sex': min and max are plausible limits of a number"),
    ],
)
@pytest.mark.filterwarnings("ignore::packager.errors.DeploymlWarning")  # the column decisions
def test_what_capture_would_refuse_of_the_dictionary_is_refused_before_fitting(
    entry: dict[str, Any], message: str
) -> None:
    # A search reports progress as its fits finish: none may have started.
    steps: list[str] = []
    with pytest.raises(DictionaryError, match=message):
        train_frame(
            make_pbc(200, 6).drop(columns=["id", "diagnosed"]),
            "status",
            model="logistic-regression",
            features=entry,
            search=True,
            plots=False,
            progress=lambda step, done, total: steps.append(step),
        )
    assert steps == []


def test_package_reads_the_dictionary_before_the_model_file(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    not_a_model = tmp_path / "model.pkl"
    not_a_model.write_bytes(b"not a pickle")
    dictionary = tmp_path / "features.yaml"
    dictionary.write_text("age: {unit: years, min: 120, max: 0}\n")
    result = runner("package", not_a_model, "--features", dictionary, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {dictionary}: 'age': min is greater than max\n"


def test_package_takes_a_dictionary_with_its_training_data(
    pbc_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    frame = make_pbc(200, 6)[["age", "bili", "albumin", "status"]]
    model = LogisticRegression(max_iter=1000).fit(frame.drop(columns="status"), frame["status"])
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    frame.to_csv(tmp_path / "train.csv", index=False)
    dictionary = tmp_path / "features.yaml"
    dictionary.write_text("age: {unit: years, min: 18, max: 100}\nbili: {unit: mg/dl}\n")
    data = ("--train", tmp_path / "train.csv", "--target", "status")
    result = runner("package", path, *data, "--features", dictionary, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
