"""Date columns: --date turns one into days since 1970 and a weekday; without it, train leaves
a column of dates out and names --date, never calling it free text."""

from __future__ import annotations

import datetime
import json
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from conftest import make_pbc
from sklearn.linear_model import LogisticRegression

from packager.capture import as_dictionary, read_dictionary
from packager.errors import CaptureError, DeploymlWarning
from packager.training import TableOptions, read_table, with_date_entries
from packager.training.dates import date_entries

TRAIN = ("--target", "status", "--model", "logistic-regression", "--no-plots")


@pytest.fixture
def pbc_csv(tmp_path: Path) -> Path:
    path = tmp_path / "pbc.csv"
    make_pbc(200, 2).drop(columns=["id"]).to_csv(path, index=False)
    return path


def test_date_becomes_days_since_1970_and_weekday_in_its_place(tmp_path: Path) -> None:
    path = tmp_path / "dates.csv"
    path.write_text(
        "age,admitted,ward\n50,2020-01-06,a\n60,,b\n70,1969-12-31 18:00,c\n80,2024-02-29,a\n"
    )
    table = read_table(path, "training data", TableOptions(dates=("admitted",)))
    assert list(table.columns) == ["age", "admitted_days", "admitted_weekday", "ward"]
    monday = (datetime.date(2020, 1, 6) - datetime.date(1970, 1, 1)).days
    leap = (datetime.date(2024, 2, 29) - datetime.date(1970, 1, 1)).days
    days = table["admitted_days"].tolist()
    assert days[0] == monday and np.isnan(days[1]) and days[2] == -0.25 and days[3] == leap
    weekday = table["admitted_weekday"].tolist()
    assert weekday[0] == 0 and np.isnan(weekday[1]) and weekday[2] == 2 and weekday[3] == 3


def test_day_first_dates_are_read_day_first_when_month_first_fails(tmp_path: Path) -> None:
    path = tmp_path / "dates.csv"
    path.write_text("admitted;x\n05.01.2020;1\n13.01.2020;2\n")
    table = read_table(path, "data", TableOptions(sep=";", dates=("admitted",)))
    expected = [(datetime.date(2020, 1, d) - datetime.date(1970, 1, 1)).days for d in (5, 13)]
    assert table["admitted_days"].tolist() == expected


@pytest.mark.parametrize("separator", ["/", "."])
def test_dates_that_read_both_month_and_day_first_are_read_month_first_and_said_so(
    separator: str, tmp_path: Path
) -> None:
    path = tmp_path / "dates.csv"
    cells = [f"03{separator}04{separator}2024", f"12{separator}05{separator}2024"]
    path.write_text("admitted\n" + "\n".join(cells) + "\n")
    with pytest.warns(DeploymlWarning) as warned:
        table = read_table(path, "training data", TableOptions(dates=("admitted",)))
    march_4 = (datetime.date(2024, 3, 4) - datetime.date(1970, 1, 1)).days
    assert table["admitted_days"].tolist()[0] == march_4
    (message,) = [str(w.message) for w in warned]
    assert message.startswith(
        "--date admitted: every date of the training data "
        f"{path} reads both month first and day first (no day is above 12); they were read "
        "month first."
    )
    assert "03" not in message.replace(str(path), "")  # no cell is quoted


@pytest.mark.parametrize(
    "cells", [["2024-03-04", "2024-05-12"], ["13/04/2024", "12/05/2024"], ["04/13/2024"]]
)
def test_dates_that_read_one_way_only_are_not_warned_of(cells: list[str], tmp_path: Path) -> None:
    path = tmp_path / "dates.csv"
    path.write_text("admitted\n" + "\n".join(cells) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_table(path, "training data", TableOptions(dates=("admitted",)))


def test_cells_that_are_not_dates_are_counted_and_never_quoted(tmp_path: Path) -> None:
    frame = make_pbc(40, 3)
    frame.loc[[3, 7, 11], "diagnosed"] = ["unknown", "Smith J.", "31.02.2020"]
    path = tmp_path / "pbc.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(CaptureError) as raised:
        read_table(path, "training data", TableOptions(dates=("diagnosed",)))
    message = str(raised.value)
    assert f"--date diagnosed: 3 of 40 cells of the training data {path} do not parse" in message
    assert "Smith" not in message and "unknown" not in message and "31.02" not in message


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (("admitted",), "--date names 'admitted', not a column of the training data"),
        (("stage",), "--date stage: 200 of 200 cells"),  # codes 1-4 are not dates
    ],
)
def test_a_date_option_that_does_not_fit_the_file_is_an_error(
    dates: tuple[str, ...], message: str, pbc_csv: Path
) -> None:
    with pytest.raises(CaptureError, match=message):
        read_table(pbc_csv, "training data", TableOptions(dates=dates))


def test_a_made_column_that_exists_already_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dates.csv"
    path.write_text("admitted,admitted_days\n2020-01-06,3\n")
    with pytest.raises(CaptureError, match="--date admitted makes 'admitted_days', already a"):
        read_table(path, "data", TableOptions(dates=("admitted",)))


def test_train_with_date_trains_on_days_and_weekday(
    pbc_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    out = tmp_path / "out"
    result = runner("train", pbc_csv, *TRAIN, "--date", "diagnosed", "-o", out)
    assert result.exit_code == 0, result.output
    assert "diagnosed" not in result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    names = [f["name"] for f in manifest["input"]["features"]]
    assert names[-2:] == ["diagnosed_days", "diagnosed_weekday"] and "diagnosed" not in names
    weekday = manifest["input"]["features"][-1]
    assert weekday["min"] >= 0 and weekday["max"] <= 6
    assert manifest["training"]["data"]["read_with"]["dates"] == ["diagnosed"]


def test_train_without_date_leaves_dates_out_and_names_the_option(
    pbc_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    out = tmp_path / "out"
    result = runner("train", pbc_csv, *TRAIN, "-o", out)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stderr.splitlines() if "'diagnosed'" in x)
    assert line == (
        "Warning: column 'diagnosed' is left out: it holds dates; to use them (as days and "
        "weekday), pass --date diagnosed"
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert "free text" not in manifest["training"]["dropped_columns"]["diagnosed"]


def test_package_with_date_reads_the_columns_its_model_was_fitted_on(
    pbc_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    table = read_table(pbc_csv, "training data", TableOptions(dates=("diagnosed",)))
    X = table[["bili", "albumin", "diagnosed_days", "diagnosed_weekday"]]
    model = LogisticRegression(max_iter=1000).fit(X, table["status"])
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    frame = pd.read_csv(pbc_csv)[["bili", "albumin", "diagnosed", "status"]]
    frame.to_csv(tmp_path / "train.csv", index=False)
    data = ("--train", tmp_path / "train.csv", "--target", "status")
    result = runner("package", path, *data, "--date", "diagnosed", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [f["name"] for f in manifest["input"]["features"]] == list(X.columns)


def test_date_entries_join_the_dictionary_under_the_authors_own() -> None:
    author = as_dictionary(
        {
            "age": {"unit": "years"},
            "diagnosed_days": {"description": "Day of diagnosis", "min": 7000},
            "admitted_weekday": {"categorical": True},
        }
    )
    merged = with_date_entries(author, ["diagnosed", "admitted"])
    assert merged is not None
    assert merged.entry("age").unit == "years"
    days = merged.entry("diagnosed_days")
    assert days.description == "Day of diagnosis" and days.min == 7000
    assert days.unit == "days since 1970-01-01"
    weekday = merged.entry("diagnosed_weekday")
    assert (weekday.integer, weekday.min, weekday.max) == (True, 0, 6)
    assert weekday.description == "from diagnosed, parsed with --date"
    # Categorical by the author's word: limits and integer, which exclude it, are not added.
    coded = merged.entry("admitted_weekday")
    assert coded.categorical is True and (coded.integer, coded.min, coded.max) == (None,) * 3
    assert coded.unit == "day of the week, 0 = Monday ... 6 = Sunday"
    assert with_date_entries(None, []) is None
    alone = with_date_entries(None, ["diagnosed"])
    assert alone is not None and set(alone.entries) == {"diagnosed_days", "diagnosed_weekday"}


def test_threshold_reads_the_site_file_with_the_options_train_read_its_table_with(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    # A site exports as the training site did: semicolons, Latin-1, the date as text.
    options = ("--sep", ";", "--encoding", "latin-1", "--date", "diagnosed")
    frame = make_pbc(200, 2).drop(columns=["id"])
    frame["sex"] = frame["sex"].map({"f": "féminin", "m": "masculin"})
    table, site = tmp_path / "pbc.csv", tmp_path / "site.csv"
    frame.to_csv(table, sep=";", encoding="latin-1", index=False)
    make_pbc(200, 9).drop(columns=["id"]).assign(sex=frame["sex"]).to_csv(
        site, sep=";", encoding="latin-1", index=False
    )
    model, out = tmp_path / "model", tmp_path / "model-site"
    assert runner("train", table, *TRAIN, *options, "-o", model).exit_code == 0
    threshold = ("threshold", model, "--name", "site", "--data", site, "--target", "status")
    threshold += ("--rule", "sensitivity>=0.8", "-o", out)
    result = runner(*threshold)
    assert result.exit_code == 1 and not out.exists()
    assert "pass --encoding latin-1" in result.stderr  # an option threshold now takes
    result = runner(*threshold, *options)
    assert result.exit_code == 0, result.output
    assert "Profile site (sensitivity>=0.8) on site.csv: 200 rows" in result.output
    # Its warnings are shown as train's are: one "Warning:" line each, no source line.
    comma = site.with_name("comma.csv")
    pd.read_csv(site, sep=";", encoding="latin-1").to_csv(
        comma, sep=";", decimal=",", encoding="latin-1", index=False
    )
    result = runner(*threshold[:5], comma, *threshold[6:], *options, "--force")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Warning: column 'age' of the site data holds numbers with a decimal comma, read as "
        "text; pass --decimal ',' to read them as numbers"
    )
    assert "threshold.py" not in result.stderr


def test_a_weekday_named_by_categorical_is_recorded_as_the_category_it_is_encoded_as(
    pbc_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    # As with the author's own "categorical: true", --date's integer and limits 0..6 give way.
    out = tmp_path / "out"
    options = ("--date", "diagnosed", "--categorical", "diagnosed_weekday")
    result = runner("train", pbc_csv, *TRAIN, *options, "-o", out)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    weekday = manifest["input"]["features"][-1]
    assert weekday["name"] == "diagnosed_weekday" and weekday["kind"] == "category"
    assert weekday["plausible_min"] is None and weekday["plausible_max"] is None
    assert weekday["unit"] == "day of the week, 0 = Monday ... 6 = Sunday"


def test_the_entries_training_md_shows_for_date_features_are_the_ones_made(tmp_path: Path) -> None:
    # Copied into a dictionary, as the page says they could be, they read as --date makes them.
    page = (Path(__file__).resolve().parent.parent / "docs" / "training.md").read_text()
    block = page.split("```\nCOLUMN_days:", 1)[1].split("```", 1)[0]
    dictionary = tmp_path / "features.yaml"
    dictionary.write_text("COLUMN_days:" + block)
    assert read_dictionary(dictionary).entries == date_entries(["COLUMN"])
