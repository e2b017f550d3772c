"""The headline metrics agree with scikit-learn's own functions, and their intervals hold up.

Binary metrics are checked with either class as the positive one: sensitivity is scikit-learn's
recall of the positive class, specificity its recall of the other, PPV and NPV its precisions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from packager.errors import CaptureError
from packager.evaluation import Bootstrap, Scored, headline, headline_intervals, intervals


def classifier_outputs(load: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[Any, ...]]:
    X, y = load(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(X_train, y_train)
    classes = tuple(int(c) for c in model.classes_)
    return y_test, model.predict(X_test), model.predict_proba(X_test), classes


@pytest.fixture(scope="module")
def cancer() -> Scored:
    y, predicted, proba, classes = classifier_outputs(load_breast_cancer)
    return Scored("binary", y, predicted, proba, classes, classes[1])


@pytest.mark.parametrize("positive", [0, 1])
def test_binary_headline_metrics_equal_scikit_learns_for_either_positive_class(
    cancer: Scored, positive: int
) -> None:
    scored = Scored("binary", cancer.y_true, cancer.y_pred, cancer.proba, (0, 1), positive)
    y, predicted, proba = cancer.y_true, cancer.y_pred, cancer.proba
    assert proba is not None
    negative = 1 - positive
    expected = {
        "roc_auc": skm.roc_auc_score(y == positive, proba[:, positive]),
        "accuracy": skm.accuracy_score(y, predicted),
        "balanced_accuracy": skm.balanced_accuracy_score(y, predicted),
        "sensitivity": skm.recall_score(y, predicted, pos_label=positive),
        "specificity": skm.recall_score(y, predicted, pos_label=negative),
        "ppv": skm.precision_score(y, predicted, pos_label=positive),
        "npv": skm.precision_score(y, predicted, pos_label=negative),
        "brier": skm.brier_score_loss(y == positive, proba[:, positive]),
        "log_loss": skm.log_loss(y, proba),
    }
    assert headline(scored) == pytest.approx(expected, rel=1e-9)


def test_multiclass_headline_metrics_equal_scikit_learns() -> None:
    y, predicted, proba, classes = classifier_outputs(load_iris)
    scored = Scored("multiclass", y, predicted, proba, classes)
    expected = {
        "accuracy": skm.accuracy_score(y, predicted),
        "balanced_accuracy": skm.balanced_accuracy_score(y, predicted),
        "roc_auc": skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"),
        "log_loss": skm.log_loss(y, proba),
    }
    assert headline(scored) == pytest.approx(expected, rel=1e-9)


def test_regression_headline_metrics_equal_scikit_learns() -> None:
    X, y = load_diabetes(return_X_y=True)
    predicted = Ridge().fit(X[:300], y[:300]).predict(X[300:])
    scored = Scored("regression", y[300:], predicted)
    expected = {
        "mae": skm.mean_absolute_error(y[300:], predicted),
        "rmse": skm.root_mean_squared_error(y[300:], predicted),
        "r2": skm.r2_score(y[300:], predicted),
    }
    assert headline(scored) == pytest.approx(expected, rel=1e-9)


def test_roc_auc_counts_tied_scores_half_as_scikit_learn_does() -> None:
    # Scores rounded to one decimal tie often, within and across the classes.
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    score = np.round(np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1), 1)
    proba = np.column_stack([1 - score, score])
    for positive in (0, 1):
        scored = Scored("binary", y, y.copy(), proba, (0, 1), positive)
        expected = skm.roc_auc_score(y == positive, proba[:, positive])
        assert headline(scored)["roc_auc"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("load", [load_breast_cancer, load_iris])
def test_intervals_equal_those_of_each_resample_measured_afresh(load: Any) -> None:
    # headline_intervals ranks the scores once for all resamples; measuring every resample
    # from scratch must give the same intervals.
    y, predicted, proba, classes = classifier_outputs(load)
    task = "binary" if len(classes) == 2 else "multiclass"
    scored = Scored(
        task, y, predicted, np.round(proba, 2), classes, classes[0] if task == "binary" else None
    )
    bootstrap = Bootstrap(resamples=100, seed=1)
    afresh = intervals(len(scored), lambda rows: headline(scored.subset(rows)), bootstrap, y)
    assert headline_intervals(scored, bootstrap) == afresh


def test_metrics_undefined_on_the_rows_are_none() -> None:
    # Only negative rows: no sensitivity, no ROC AUC, and no PPV when nothing is flagged.
    y = np.array(["no", "no", "no"])
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]])
    scored = Scored("binary", y, y.copy(), proba, ("no", "yes"), "yes")
    values = headline(scored)
    assert values["sensitivity"] is values["roc_auc"] is values["ppv"] is None
    assert values["balanced_accuracy"] is None
    assert values["specificity"] == values["npv"] == values["accuracy"] == 1.0
    one_row = Scored("regression", np.array([3.0]), np.array([2.5]))
    assert headline(one_row) == {"mae": 0.5, "rmse": 0.5, "r2": None}
    no_scores = Scored("binary", y, y.copy(), None, ("no", "yes"), "yes")
    assert headline(no_scores)["brier"] is headline(no_scores)["log_loss"] is None


def test_intervals_contain_the_estimate_and_repeat_with_the_same_seed(cancer: Scored) -> None:
    values = headline(cancer)
    first = headline_intervals(cancer, Bootstrap(resamples=300, seed=4))
    assert set(first) == set(values)
    for name, bounds in first.items():
        assert bounds is not None and bounds[0] <= values[name] <= bounds[1], name  # type: ignore[operator]
    assert headline_intervals(cancer, Bootstrap(resamples=300, seed=4)) == first
    other = headline_intervals(cancer, Bootstrap(resamples=300, seed=5))
    assert other != first
    assert other["roc_auc"] != first["roc_auc"] and other["brier"] != first["brier"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"level": 95}, "level must be a share between 0 and 1"),
        ({"resamples": 0}, "resamples must be at least 1"),
        ({"resamples": 10.5}, "resamples must be a whole number"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
        ({"method": "bca"}, "method must be 'percentile'"),
    ],
)
def test_a_bootstrap_that_cannot_be_made_is_refused_when_given(
    options: dict[str, Any], message: str
) -> None:
    # Not after the evaluation with numpy's message, nor recorded as a method never used.
    with pytest.raises(CaptureError, match=message):
        Bootstrap(**options)
