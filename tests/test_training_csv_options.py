"""How train and package read a CSV: --sep, --encoding, --decimal and --na-values, and the
errors that name the option a file needs (never a cell's text)."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from conftest import make_pbc
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from packager.errors import CaptureError
from packager.training import TableOptions, read_table

# A Western European spreadsheet's export: semicolons, decimal commas, Latin-1 text.
EUROPEAN = ("--sep", ";", "--decimal", ",", "--encoding", "latin-1")
TRAIN = ("--target", "status", "--model", "logistic-regression", "--no-plots")


def european_pbc(n: int = 200, seed: int = 5) -> pd.DataFrame:
    frame = make_pbc(n, seed).drop(columns=["id", "diagnosed"])
    return frame.assign(sex=frame["sex"].map({"f": "féminin", "m": "masculin"}))


@pytest.fixture
def european_csv(tmp_path: Path) -> Path:
    path = tmp_path / "pbc.csv"
    european_pbc().to_csv(path, sep=";", decimal=",", encoding="latin-1", index=False)
    return path


def features(out: Path) -> dict[str, dict[str, object]]:
    manifest = json.loads((out / "manifest.json").read_text())
    return {f["name"]: f for f in manifest["input"]["features"]}


def test_a_semicolon_decimal_comma_latin1_file_trains_with_its_three_options(
    european_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    out = tmp_path / "out"
    result = runner("train", european_csv, *TRAIN, *EUROPEAN, "-o", out)
    assert result.exit_code == 0, result.output
    schema = features(out)
    assert schema["albumin"]["kind"] == "number"  # 3,52 read as 3.52, not as text
    assert 2.0 <= schema["albumin"]["min"] < schema["albumin"]["max"] <= 4.8
    assert schema["sex"]["categories"] == ["féminin", "masculin"]
    read_with = json.loads((out / "manifest.json").read_text())["training"]["data"]["read_with"]
    assert read_with == {
        "sep": ";",
        "encoding": "latin-1",
        "decimal": ",",
        "na_values": [],
        "dates": [],
    }


def test_each_missing_option_is_named_by_the_error_or_warning_it_causes(
    european_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    out = tmp_path / "out"
    result = runner("train", european_csv, *TRAIN, "-o", out)
    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.stderr and "--encoding latin-1" in result.stderr

    # The decimal commas split the rows into more values than the header's one column.
    result = runner("train", european_csv, *TRAIN, "--encoding", "latin-1", "-o", out)
    assert result.exit_code == 1
    assert "has rows with more values than its header has columns; its header holds ';'" in (
        result.stderr
    )
    assert "pass --sep ';'" in result.stderr

    result = runner("train", european_csv, *TRAIN, "--encoding", "latin-1", "--sep", ";", "-o", out)
    assert result.exit_code == 0, result.output
    assert "column 'albumin' of the training data holds numbers with a decimal comma" in (
        result.stderr
    )
    assert "pass --decimal ','" in result.stderr
    assert "3,5" not in result.output  # the cells are not quoted
    assert features(out).get("albumin") is None  # 200 distinct texts: left out


def test_a_semicolon_file_whose_rows_split_unevenly_on_commas_names_sep(tmp_path: Path) -> None:
    # A missing lab result leaves the first row with a decimal comma fewer than the next:
    # read with commas, its rows have different lengths, which pandas calls a parser error.
    frame = european_pbc().astype({"albumin": "float64"})
    frame.loc[0, "albumin"] = None
    path = tmp_path / "pbc.csv"
    frame.to_csv(path, sep=";", decimal=",", index=False)
    with pytest.raises(CaptureError) as raised:
        read_table(path, "training data")
    assert str(raised.value) == (
        f"training data {path} has rows with different numbers of values; its header holds "
        "';': is it separated by ';'? pass --sep ';'"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ("--encoding", "latin-42"),
            "--encoding 'latin-42' is not an encoding Python knows; try utf-8, latin-1 or cp1252",
        ),
        (("--sep", ";;"), "--sep must be one character, not ';;'"),
        (("--sep", ",", "--decimal", ","), "--sep and --decimal are both ','"),
        (("--decimal", ";"), "--decimal must be '.' or ',', not ';'"),
        (("--date", "age", "--date", "age"), "--date names a column twice"),
    ],
)
def test_options_that_cannot_read_any_file_are_refused_before_reading(
    options: tuple[str, ...],
    message: str,
    european_csv: Path,
    tmp_path: Path,
    runner: Callable[..., Result],
) -> None:
    result = runner("train", european_csv, *TRAIN, *options, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}\n"


def test_a_tab_separated_file_is_read_with_sep_backslash_t(tmp_path: Path) -> None:
    path = tmp_path / "pbc.tsv"
    make_pbc(40, 1).to_csv(path, sep="\t", index=False)
    with pytest.raises(CaptureError, match=r"pass --sep '\\t'"):
        read_table(path, "training data")
    assert read_table(path, "training data", TableOptions(sep="\t")).shape == (40, 10)


@pytest.mark.parametrize(
    ("encoding", "given", "named"),
    [
        ("utf-16", "utf-8", "UTF-16"),
        ("utf-16", "latin-1", "UTF-16"),
        ("utf-8-sig", "latin-1", "UTF-8"),
    ],
)
def test_a_byte_order_mark_names_the_encoding_the_file_needs(
    encoding: str, given: str, named: str, tmp_path: Path
) -> None:
    # A spreadsheet's "Unicode text" is UTF-16 with a mark; read as Latin-1 (which reads any
    # bytes, and which the UTF-8 error suggests) every name and text would be garbled.
    path = tmp_path / "pbc.csv"
    european_pbc(40).to_csv(path, encoding=encoding, index=False)
    message = f"starts with a {named} byte-order mark, so it is {named} text, not {given}; "
    with pytest.raises(CaptureError, match=message + f"pass --encoding {named.lower()}$"):
        read_table(path, "training data", TableOptions(encoding=given))
    table = read_table(path, "training data", TableOptions(encoding=named.lower()))
    assert next(iter(table.columns)) == "age" and set(table["sex"]) == {"féminin", "masculin"}


def test_two_columns_of_one_name_are_an_error_not_a_renamed_copy(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("age;bili;age;status\n50;1,5;51;0\n60;2,5;61;1\n")
    with pytest.raises(CaptureError, match="has more than one column named 'age'; rename or"):
        read_table(path, "training data", TableOptions(sep=";", decimal=","))


def test_na_values_mark_missing_cells(tmp_path: Path) -> None:
    path = tmp_path / "marked.csv"
    path.write_text("age;bili\n50;1,5\n60;?\n70;n/a\n")
    table = read_table(path, "data", TableOptions(sep=";", decimal=",", na_values=("?", "n/a")))
    assert table["bili"].tolist()[0] == 1.5 and table["bili"].isna().sum() == 2


@pytest.fixture
def pbc_model(tmp_path: Path) -> Path:
    """A pickled pipeline fitted on the PBC table as the European file reads."""
    frame = european_pbc()
    X, y = frame.drop(columns=["status"]), frame["status"]
    numbers = ["age", "edema", "stage", "ascites", "bili", "albumin"]
    columns = ColumnTransformer(
        [("numbers", StandardScaler(), numbers), ("sex", OneHotEncoder(), ["sex"])]
    )
    model = make_pipeline(columns, LogisticRegression(max_iter=1000)).fit(X, y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    return path


def test_package_reads_train_and_test_with_the_same_options(
    pbc_model: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    frame = european_pbc()
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    for rows, path in ((frame.iloc[:150], train), (frame.iloc[150:], test)):
        rows.to_csv(path, sep=";", decimal=",", encoding="latin-1", index=False)
    data = ("--train", train, "--test", test, "--target", "status")
    out = tmp_path / "out"
    refused = runner("package", pbc_model, *data, "-o", out)
    assert refused.exit_code == 1 and "--encoding latin-1" in refused.stderr
    result = runner("package", pbc_model, *data, *EUROPEAN, "-o", out)
    assert result.exit_code == 0, result.output
    assert features(out)["albumin"]["kind"] == "number"
    metrics = json.loads((out / "manifest.json").read_text())["metrics"]
    assert metrics["test"]["n_rows"] == 50


def test_package_reading_options_need_train(
    pbc_model: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    result = runner("package", pbc_model, "--sep", ";", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "say how --train and --test are read; give --train" in result.stderr
