"""Subgroups: groups formed from a column or bins, measured, compared; small ones reported."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import make_cohort
from flask.testing import FlaskClient
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from packager import capture, load_artefact, package, summarise
from packager.errors import CaptureError
from packager.evaluation import (
    Bootstrap,
    Scored,
    SubgroupSpec,
    group_labels,
    parse_subgroups,
    subgroup_report,
)

QUICK = Bootstrap(resamples=200)


@pytest.fixture(scope="module")
def cohort_capture() -> Any:
    """A model of marker and other, captured with subgroups sex and binned age."""
    X, y = make_cohort(1200, seed=1)
    features = ["marker", "other"]
    model = LogisticRegression().fit(X[features].iloc[:600], y.iloc[:600])
    return capture(
        model,
        X[features].iloc[:600],
        y.iloc[:600],
        X_test=X.iloc[600:],
        y_test=y.iloc[600:],
        subgroups=["sex", "age:0,40,65,120"],
        bootstrap=QUICK,
    )


def _column(captured: Any, name: str) -> dict[str, Any]:
    return next(c for c in captured.manifest.subgroups["columns"] if c["column"] == name)


def _groups(column: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["group"]: g for g in column["groups"]}


def test_the_group_the_model_fails_is_the_worst_and_the_gap_shows_it(cohort_capture: Any) -> None:
    subgroups = cohort_capture.manifest.subgroups
    assert subgroups["min_rows"] == 30 and subgroups["bootstrap"] == QUICK.record()
    sex = _column(cohort_capture, "sex")
    assert (sex["spec"], sex["edges"], sex["in_model"]) == ("sex", None, False)
    groups = _groups(sex)
    assert list(groups) == ["F", "M"]
    assert groups["M"]["metrics"]["roc_auc"] > 0.9 > 0.65 > groups["F"]["metrics"]["roc_auc"]
    gap = sex["gaps"]["roc_auc"]
    assert (gap["best"], gap["worst"]) == ("M", "F")
    roc = groups["M"]["metrics"]["roc_auc"] - groups["F"]["metrics"]["roc_auc"]
    assert gap["value"] == pytest.approx(roc)
    # Lower is better for the Brier score: the worst group is the one with the highest.
    assert sex["gaps"]["brier"]["worst"] == "F"
    assert groups["F"]["metrics"]["brier"] > groups["M"]["metrics"]["brier"]
    low, high = groups["F"]["intervals"]["roc_auc"]
    assert low < groups["F"]["metrics"]["roc_auc"] < high
    X, y = make_cohort(1200, seed=1)
    women = y.iloc[600:][X["sex"].iloc[600:] == "F"]
    assert groups["F"]["n"] == len(women)
    assert groups["F"]["prevalence"] == pytest.approx(women.mean())


def test_each_measured_group_has_a_calibration_curve_with_bin_counts(cohort_capture: Any) -> None:
    for group in _column(cohort_capture, "sex")["groups"]:
        bins = group["calibration"]["bins"]
        assert group["calibration"]["strategy"] == "quantile" and len(bins) == 5
        assert sum(b["n"] for b in bins) == group["n"]
        assert all(0 <= b["observed"] <= 1 and 0 <= b["mean_predicted"] <= 1 for b in bins)


def test_a_binned_column_keeps_every_row_outside_and_missing_ones_included(
    cohort_capture: Any,
) -> None:
    age = _column(cohort_capture, "age")
    assert age["edges"] == [0, 40, 65, 120] and age["in_model"] is False
    names = [g["group"] for g in age["groups"]]
    assert names == ["0-40", "40-65", "65-120", "outside 0-120", "missing"]
    assert sum(g["n"] for g in age["groups"]) == 600


def test_bins_hold_their_lower_edge_and_the_last_holds_both() -> None:
    values = pd.Series([0, 39.9, 40, 64.99, 65, 120, 120.5, -1, None], dtype="float64")
    labels = group_labels(SubgroupSpec("age", "age:0,40,65,120", (0, 40, 65, 120)), values)
    assert labels.tolist() == [
        "0-40",
        "0-40",
        "40-65",
        "40-65",
        "65-120",
        "65-120",
        "outside 0-120",
        "outside 0-120",
        "missing",
    ]


def test_fractional_edges_name_their_bins_as_written() -> None:
    (spec,) = parse_subgroups(["score:-1.5,0,2.25"])
    assert spec.edges == (-1.5, 0.0, 2.25)
    assert spec.bins == ["-1.5-0", "0-2.25"] and spec.outside == "outside -1.5-2.25"


def test_a_category_column_groups_by_its_values_with_missing_last() -> None:
    values = pd.Series([3, 1, None, 2, 1], dtype="Int64")
    labels = group_labels(SubgroupSpec("stage", "stage"), values)
    assert labels.tolist() == ["3", "1", "missing", "2", "1"]
    # A column of whole numbers with gaps reads as floats; its groups are still named 1, 2, 3.
    scored = _scored(70, 70)
    stage = pd.DataFrame({"stage": [3.0, 1.0, np.nan, 2.0] * 35})
    report = subgroup_report(scored, parse_subgroups(["stage"]), stage, (), QUICK)
    assert [g["group"] for g in report["columns"][0]["groups"]] == ["1", "2", "3", "missing"]


def _scored(n_pos: int, n_neg: int, seed: int = 0) -> Scored:
    rng = np.random.default_rng(seed)
    y = np.array([1] * n_pos + [0] * n_neg)
    score = np.clip(0.5 * y + rng.uniform(0, 0.5, len(y)), 0, 1)
    proba = np.column_stack([1 - score, score])
    return Scored("binary", y, (score >= 0.5).astype(int), proba, (0, 1), 1)


def test_a_group_too_small_is_listed_with_its_size_and_reason_and_no_metrics() -> None:
    scored = _scored(60, 60)
    site = pd.DataFrame({"site": ["a"] * 100 + ["b"] * 20})
    site = site.sample(frac=1, random_state=0).reset_index(drop=True)
    report = subgroup_report(scored, parse_subgroups(["site"]), site, (), QUICK)
    groups = _groups(report["columns"][0])
    small = groups["b"]
    assert small["n"] == 20 and small["too_small"] is True
    assert small["reason"] == "20 rows, fewer than the 30 needed to measure a group"
    assert small["prevalence"] is not None
    assert (small["metrics"], small["intervals"], small["calibration"]) == ({}, {}, None)
    assert groups["a"]["too_small"] is False and groups["a"]["metrics"]["roc_auc"] is not None
    # One group measured: nothing to compare it with.
    assert report["columns"][0]["gaps"] == {}


def test_a_binary_group_without_one_class_is_too_small_whatever_its_size() -> None:
    scored = _scored(40, 80)
    ward = pd.DataFrame(
        {"ward": ["all-negative" if i >= 40 and i < 80 else "mixed" for i in range(120)]}
    )
    report = subgroup_report(scored, parse_subgroups(["ward"]), ward, (), QUICK)
    groups = _groups(report["columns"][0])
    assert groups["all-negative"]["too_small"] is True
    assert groups["all-negative"]["reason"] == "no row of the positive class 1"
    assert groups["all-negative"]["prevalence"] == 0.0
    assert groups["mixed"]["too_small"] is False


def test_intervals_are_the_same_on_every_run_and_change_with_the_seed() -> None:
    scored = _scored(50, 70)
    half = pd.DataFrame({"half": ["x", "y"] * 60})
    specs = parse_subgroups(["half"])
    first = subgroup_report(scored, specs, half, (), QUICK)
    assert subgroup_report(scored, specs, half, (), QUICK) == first
    other = subgroup_report(scored, specs, half, (), Bootstrap(resamples=200, seed=1))
    assert (
        other["columns"][0]["groups"][0]["intervals"]
        != first["columns"][0]["groups"][0]["intervals"]
    )


def test_multiclass_groups_give_class_shares_and_regression_groups_no_prevalence() -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    side = X.assign(wide=np.where(X["sepal width (cm)"] > 3, "wide", "narrow"))
    captured = capture(model, X, y, X_test=side, y_test=y, subgroups=["wide"], bootstrap=QUICK)
    (column,) = captured.manifest.subgroups["columns"]
    shares = column["groups"][0]["prevalence"]
    assert set(shares) == {"0", "1", "2"} and sum(shares.values()) == pytest.approx(1)
    assert column["groups"][0]["calibration"] is None

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = LinearRegression().fit(X, y)
    captured = capture(model, X, y, X_test=X, y_test=y, subgroups=["sex"], bootstrap=QUICK)
    (column,) = captured.manifest.subgroups["columns"]
    assert column["in_model"] is True
    assert all(g["prevalence"] is None for g in column["groups"])
    groups = _groups(column)
    mae = column["gaps"]["mae"]
    assert groups[mae["worst"]]["metrics"]["mae"] > groups[mae["best"]]["metrics"]["mae"]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("age:", "the bin edges must be numbers separated by commas"),
        ("age:40", "binning needs at least two edges"),
        ("age:0,40,40", "the bin edges must be strictly increasing"),
        ("age:65,40", "the bin edges must be strictly increasing"),
        ("age:0,forty", "the bin edges must be numbers separated by commas"),
        ("age:0,inf", "the bin edges must be finite numbers"),
        (":0,40", "names no column before ':'"),
        ("", "a subgroup must be a column name, or COLUMN:EDGES"),
    ],
)
def test_a_bad_subgroup_spec_is_refused_naming_it(spec: str, problem: str) -> None:
    with pytest.raises(CaptureError, match=problem) as caught:
        parse_subgroups([spec])
    assert repr(spec) in str(caught.value) or spec == ""


def test_a_column_given_twice_is_refused() -> None:
    with pytest.raises(CaptureError, match="subgroup column 'age' is given more than once"):
        parse_subgroups(["age", "age:0,50,120"])


def test_text_cannot_be_binned_and_an_identifier_is_not_a_grouping() -> None:
    with pytest.raises(CaptureError, match="column 'sex' is not numeric, so it cannot be binned"):
        group_labels(SubgroupSpec("sex", "sex:0,1", (0, 1)), pd.Series(["F", "M"]))
    with pytest.raises(CaptureError, match="has 100 distinct values, more than 30; bin"):
        group_labels(SubgroupSpec("id", "id"), pd.Series(range(100)))


def _model_and_data() -> tuple[LogisticRegression, pd.DataFrame, pd.Series]:
    X, y = make_cohort(200, seed=2)
    return LogisticRegression().fit(X[["marker", "other"]], y), X, y


def test_capture_refuses_a_subgroup_column_that_is_not_in_x_test() -> None:
    model, X, y = _model_and_data()
    features = X[["marker", "other"]]
    with pytest.raises(CaptureError, match="subgroup column 'ward' is not a column of X_test"):
        capture(model, features, y, X_test=X, y_test=y, subgroups=["ward"])


def test_capture_still_refuses_extra_columns_not_named_as_subgroups() -> None:
    model, X, y = _model_and_data()
    with pytest.raises(CaptureError, match="unexpected age"):
        capture(model, X[["marker", "other"]], y, X_test=X, y_test=y, subgroups=["sex"])


def test_subgroups_need_test_data() -> None:
    model, X, y = _model_and_data()
    with pytest.raises(CaptureError, match="subgroups are measured on the test data"):
        capture(model, X[["marker", "other"]], y, subgroups=["sex"])


def test_a_subgroup_of_an_array_must_be_a_feature() -> None:
    _, X, y = _model_and_data()
    array = X[["marker", "other"]].to_numpy()
    fitted = LogisticRegression().fit(array, y)
    with pytest.raises(CaptureError, match="subgroup column 'sex' is not a feature"):
        capture(fitted, array, y, X_test=array, y_test=y, subgroups=["sex"])
    captured = capture(fitted, array, y, X_test=array, y_test=y, subgroups=["x0:-10,0,10"])
    assert captured.manifest.subgroups["columns"][0]["in_model"] is True


def test_inspect_and_metadata_show_the_subgroups(
    cohort_capture: Any, tmp_path: Path, client: Callable[..., FlaskClient]
) -> None:
    path = package(cohort_capture, tmp_path / "cohort")
    summary = summarise(load_artefact(path))
    assert "Subgroups:  (a group needs 30 rows to be measured)" in summary
    line = next(row for row in summary.splitlines() if row.startswith("  sex: "))
    assert (
        line.startswith("  sex: 2 groups (F ") and ", worst F" in line and "roc_auc gap 0." in line
    )
    assert "  age:0,40,65,120: 5 groups (0-40 " in summary
    body = client(path).get("/metadata").get_json()
    assert body["subgroups"] == cohort_capture.manifest.subgroups


@pytest.mark.parametrize("shape", [{"a": 1}, [1, "a"], "abc", {"min_rows": 30, "columns": [1]}])
def test_inspect_says_so_rather_than_failing_on_subgroups_of_another_shape(
    cohort_capture: Any, shape: Any
) -> None:
    manifest = dataclasses.replace(cohort_capture.manifest, subgroups=shape)
    assert "Subgroups:  recorded in a shape this deployml does not read" in summarise(manifest)
