"""Threshold profiles: chosen on scored rows, recorded by capture, refused where impossible."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from packager import capture, package, read_manifest
from packager.artefact import DataRecord
from packager.errors import CaptureError
from packager.evaluation import (
    Bootstrap,
    Scored,
    default_profile,
    operating_metrics,
    parse_profiles,
    threshold_profiles,
)

FAST = Bootstrap(resamples=200)


@pytest.fixture(scope="module")
def cancer() -> tuple[LogisticRegression, pd.DataFrame, pd.Series]:
    """A logistic regression fitted on 300 rows of the breast-cancer data, and the other rows."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=5000).fit(X.iloc[:300], y.iloc[:300])
    return model, X.iloc[300:], y.iloc[300:]


def _scored(model: Any, X: pd.DataFrame, y: pd.Series) -> Scored:
    return Scored("binary", y.to_numpy(), model.predict(X), model.predict_proba(X), (0, 1), 1)


def _record(scored: Scored) -> DataRecord:
    return DataRecord("rows", len(scored), None, float(np.mean(scored.positive)), None)


def test_a_profile_chosen_on_a_site_with_higher_prevalence_gets_a_different_threshold(
    cancer: tuple[LogisticRegression, pd.DataFrame, pd.Series],
) -> None:
    model, X, y = cancer
    spec = parse_profiles(["budget:alerts<=40"])
    here = _scored(model, X, y)
    # The other site keeps every positive row but one negative in four: prevalence is higher.
    negatives = np.flatnonzero(y.to_numpy() == 0)
    keep = np.sort(np.concatenate([np.flatnonzero(y.to_numpy() == 1), negatives[::4]]))
    there = here.subset(keep)
    assert np.mean(there.positive) > np.mean(here.positive) + 0.1
    (at_here,) = threshold_profiles(spec, here, _record(here), FAST)
    (at_there,) = threshold_profiles(spec, there, _record(there), FAST)
    assert at_there.threshold > at_here.threshold
    for profile, scored in ((at_here, here), (at_there, there)):
        flagged = np.mean(scored.score >= profile.threshold) * 100
        assert flagged == pytest.approx(profile.metrics["alerts_per_100"]) and flagged <= 40


def test_a_profile_records_the_metrics_at_its_threshold_with_intervals(
    cancer: tuple[LogisticRegression, pd.DataFrame, pd.Series],
) -> None:
    model, X, y = cancer
    scored = _scored(model, X, y)
    (profile,) = threshold_profiles(
        parse_profiles(["default:sensitivity>=0.95"]), scored, _record(scored), FAST
    )
    flagged, positive = scored.score >= profile.threshold, scored.positive
    tp, fp = int((flagged & positive).sum()), int((flagged & ~positive).sum())
    fn, tn = int((~flagged & positive).sum()), int((~flagged & ~positive).sum())
    metrics = profile.metrics
    assert (profile.name, profile.rule) == ("default", "sensitivity>=0.95")
    assert metrics["sensitivity"] == tp / (tp + fn) >= 0.95
    # The highest such threshold: one step up, sensitivity falls below the target.
    higher = scored.score[scored.score > profile.threshold].min()
    assert operating_metrics(positive, scored.score, higher)["sensitivity"] < 0.95
    assert metrics["specificity"] == tn / (tn + fp)
    assert metrics["ppv"] == tp / (tp + fp) and metrics["npv"] == tn / (tn + fn)
    assert metrics["alerts_per_100"] == 100 * (tp + fp) / len(scored)
    for name in ("sensitivity", "specificity", "ppv", "npv", "alerts_per_100"):
        low, high = metrics["intervals"][name]
        assert low <= metrics[name] <= high
    assert metrics["bootstrap"] == FAST.record()


def test_capture_records_profiles_chosen_on_the_test_data_and_the_default(
    tmp_path: Path, patient_data: Any, pipeline_model: Pipeline
) -> None:
    X, y, X_test, y_test = patient_data
    captured = capture(
        pipeline_model,
        X,
        y,
        X_test=X_test,
        y_test=y_test,
        thresholds=["screen:sensitivity>=0.9", "default:youden"],
        bootstrap=FAST,
    )
    path = package(captured, tmp_path / "out")
    manifest, _ = read_manifest(path)
    assert [p.name for p in manifest.profiles] == ["screen", "default"]
    assert manifest.default_profile == "default"
    on = manifest.profiles[0].chosen_on
    assert (on.source, on.rows) == ("test data", len(X_test))
    assert on.prevalence == pytest.approx(np.mean(y_test == "yes"))
    assert len(on.sha256 or "") == 64 and (on.date or "").endswith("Z")
    stored = json.loads((path / "manifest.json").read_text())["profiles"][0]
    assert set(stored) == {"name", "threshold", "rule", "chosen_on", "metrics"}
    assert set(stored["metrics"]) == {
        "sensitivity",
        "specificity",
        "ppv",
        "npv",
        "alerts_per_100",
        "intervals",
        "bootstrap",
    }


def test_without_a_profile_named_default_the_first_is_the_default() -> None:
    profiles = threshold_profiles(
        parse_profiles(["b:fixed:0.5", "a:fixed:0.2"]),
        Scored("binary", np.array([0, 1]), np.array([0, 1]), np.eye(2), (0, 1), 1),
        DataRecord("rows", 2),
        FAST,
    )
    assert default_profile(profiles) == "b"
    assert default_profile([]) is None


def _iris() -> tuple[Any, Any]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=1000).fit(X, y), (X, y)


def _diabetes() -> tuple[Any, Any]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return Ridge().fit(X, y), (X, y)


def _svc() -> tuple[Any, Any]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return SVC().fit(X, y), (X, y)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_iris, "threshold profiles need a binary classifier; this model is a multiclass model"),
        (_diabetes, "need a binary classifier; this model is a regression model"),
        (_svc, "threshold profiles need a model with predict_proba"),
    ],
)
def test_capture_refuses_profiles_for_a_model_without_a_score(
    make: Callable[[], tuple[Any, Any]], message: str
) -> None:
    model, (X, y) = make()
    with pytest.raises(CaptureError, match=message):
        capture(model, X, y, X_test=X, y_test=y, thresholds=["default:youden"])


def test_capture_says_profiles_need_test_data(patient_data: Any, pipeline_model: Any) -> None:
    X, y, _, _ = patient_data
    with pytest.raises(CaptureError, match="threshold profiles are chosen on test data"):
        capture(pipeline_model, X, y, thresholds=["default:youden"])


def test_capture_refuses_a_bad_rule_before_scoring(patient_data: Any) -> None:
    X, y, _, _ = patient_data
    # An unfitted pipeline would be refused next; the rule is refused first.
    with pytest.raises(CaptureError, match=r"threshold rule 'sens>=0\.9' is not one of"):
        capture(Pipeline([("m", LogisticRegression())]), X, y, thresholds=["a:sens>=0.9"])


def test_package_refuses_thresholds_without_test_data(
    tmp_path: Path, runner: Callable[..., Result], patient_data: Any, pipeline_model: Any
) -> None:
    import pickle

    X, y, _, _ = patient_data
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(pipeline_model))
    X.assign(readmitted=y).to_csv(tmp_path / "train.csv", index=False)
    args = ("--threshold", "default:youden", "-o", tmp_path / "out")
    result = runner(
        "package", tmp_path / "model.pkl", "--train", tmp_path / "train.csv", "--target",
        "readmitted", *args,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "threshold profiles are chosen on test data" in result.stderr
    captured = capture(pipeline_model, X, y)
    captured.save(tmp_path / "capture.pkl")
    result = runner("package", tmp_path / "capture.pkl", *args)
    assert result.exit_code == 1
    assert "is a capture file, which holds no test data to choose threshold" in result.stderr
    assert not (tmp_path / "out").exists()


def test_train_refuses_thresholds_for_a_regression_before_fitting(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X.assign(progression=y).to_csv(tmp_path / "d.csv", index=False)
    result = runner(
        "train", tmp_path / "d.csv", "--target", "progression", "--no-plots",
        "--threshold", "default:youden", "-o", tmp_path / "out",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: threshold profiles need a binary classifier; this model is a regression model\n"
    )
    assert "Fitting" not in result.output and not (tmp_path / "out").exists()
