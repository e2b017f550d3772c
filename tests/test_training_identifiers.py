"""train's column decisions on clinical tables: identifiers left out (and how to keep one),
numbers that may be codes warned of (and how to encode them as categories)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import Result
from conftest import make_biopsy, make_pbc

TRAIN = ("--model", "logistic-regression", "--no-plots")


def train_cli(
    runner: Callable[..., Result], frame: pd.DataFrame, target: str, tmp_path: Path, *args: Any
) -> tuple[Result, dict[str, Any]]:
    """Train on ``frame`` through the command line; the result and the manifest's training."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    result = runner("train", path, "--target", target, *TRAIN, *args, "-o", out)
    assert result.exit_code == 0, result.output
    return result, json.loads((out / "manifest.json").read_text())["training"]


def warnings_about(result: Result, column: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if f"column {column!r}" in line]


def test_biopsy_id_with_645_distinct_values_in_699_rows_is_left_out(
    runner: Callable[..., Result], tmp_path: Path
) -> None:
    # Named "sample", the column is found by its values; named "ID", by its name as well.
    biopsy = make_biopsy().rename(columns={"ID": "sample"})
    result, training = train_cli(runner, biopsy, "class", tmp_path)
    assert warnings_about(result, "sample") == [
        "Warning: column 'sample' is left out: it may be an identifier (645 distinct values in "
        "699 rows), which a model would use to memorise rows; to use it as a feature, pass "
        "--keep sample, or say identifier: false for it in --features"
    ]
    assert "sample" in training["dropped_columns"]
    assert "sample" not in training["features"]["numeric"]


def test_biopsy_named_id_is_left_out_by_its_name(
    runner: Callable[..., Result], tmp_path: Path
) -> None:
    result, training = train_cli(runner, make_biopsy(), "class", tmp_path)
    assert (
        "it may be an identifier (its name looks like an identifier's)"
        in (training["dropped_columns"]["ID"])
    )
    assert training["features"]["numeric"] == [f"V{i}" for i in range(1, 10)]
    assert warnings_about(result, "V1") == []  # ten scores: not few enough to be codes


def test_a_unique_patient_id_is_left_out_and_keep_keeps_it(
    runner: Callable[..., Result], tmp_path: Path
) -> None:
    pbc = make_pbc(200, 4).drop(columns=["diagnosed"]).rename(columns={"id": "patient_id"})
    result, training = train_cli(runner, pbc, "status", tmp_path / "a")
    assert warnings_about(result, "patient_id") == [
        "Warning: column 'patient_id' is left out: it may be an identifier (its name looks like "
        "an identifier's), which a model would use to memorise rows; to use it as a feature, "
        "pass --keep patient_id, or say identifier: false for it in --features"
    ]
    assert "patient_id" in training["dropped_columns"]
    result, training = train_cli(runner, pbc, "status", tmp_path / "b", "--keep", "patient_id")
    assert warnings_about(result, "patient_id") == []
    assert "patient_id" in training["features"]["numeric"]
    assert training["options"]["keep"] == ["patient_id"]


def test_edema_and_stage_codes_are_warned_of_but_not_a_0_1_flag(
    runner: Callable[..., Result], tmp_path: Path
) -> None:
    pbc = make_pbc(200, 4).drop(columns=["id", "diagnosed"])
    result, training = train_cli(runner, pbc, "status", tmp_path)
    assert warnings_about(result, "edema") == [
        "Warning: column 'edema' holds 3 distinct numbers, which may be codes; if they are "
        "categories, pass --categorical edema, or say categorical: true for it in --features"
    ]
    assert len(warnings_about(result, "stage")) == 1
    assert "holds 4 distinct numbers" in warnings_about(result, "stage")[0]
    assert warnings_about(result, "ascites") == []  # 0/1
    assert warnings_about(result, "age") == []
    assert {"edema", "stage", "ascites"} <= set(training["features"]["numeric"])
    assert any("'edema' holds 3 distinct numbers" in w for w in training["warnings"])


def test_categorical_option_one_hot_encodes_edema_quietly(
    runner: Callable[..., Result], tmp_path: Path
) -> None:
    pbc = make_pbc(200, 4).drop(columns=["id", "diagnosed"])
    result, training = train_cli(runner, pbc, "status", tmp_path, "--categorical", "edema")
    assert warnings_about(result, "edema") == []
    assert training["features"]["categorical"] == ["sex", "edema"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--keep", "nope"), "--keep names 'nope', not in the data"),
        (("--keep", "status"), "--keep names the target column 'status'"),
        (("--keep", "id", "--drop", "id"), "--drop and --keep both name id"),
    ],
)
def test_keep_options_that_cannot_apply_are_refused(
    args: tuple[str, ...], message: str, runner: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "pbc.csv"
    make_pbc(60, 1).to_csv(path, index=False)
    result = runner("train", path, "--target", "status", *args, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert f"Error: {message}" in result.stderr
