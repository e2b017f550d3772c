"""Evaluation of a fitted model on test data, and optional cross-validation scores.

The result is the manifest's free-form ``metrics`` object; ``docs/artefact-format.md`` lists
its keys. Values are JSON-safe: a metric that cannot be computed is null, and why is said in
the returned list of missing statements.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate

from packager import evaluation
from packager.artefact import Label, Task, json_label, json_value
from packager.evaluation import Bootstrap, Scored

__all__ = [
    "OPERATING_THRESHOLDS",
    "classification_metrics",
    "clinical_metrics",
    "cross_validation",
    "folds_of",
    "regression_metrics",
    "scoring_for",
]

OPERATING_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def classification_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    classes: np.ndarray,
    missing: list[str],
    positive: Label | None = None,
) -> dict[str, Any]:
    """Accuracy, per-class scores, the confusion matrix and (binary) operating points.

    ``positive`` is the positive class of a binary classifier (default the second class). The
    headline metrics (ROC AUC, log loss, ...) are :func:`clinical_metrics`'s, measured with
    their intervals by one function; what cannot be measured is said in ``missing`` here.
    """
    labels = list(classes)
    column = 1 if positive is None else [json_label(c) for c in labels].index(positive)
    is_positive = y_true == labels[column]
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    result: dict[str, Any] = {
        "n_rows": len(y_true),
        "accuracy": json_value(skm.accuracy_score(y_true, y_pred)),
        "per_class": {
            str(json_label(label)): {
                "precision": json_value(precision[i]),
                "recall": json_value(recall[i]),
                "f1": json_value(f1[i]),
                "support": json_value(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": {
            "labels": [json_label(c) for c in labels],
            "matrix": json_value(skm.confusion_matrix(y_true, y_pred, labels=labels)),
        },
    }
    if proba is None:
        missing.append("metrics: the model gives no probabilities, so no ROC AUC or log loss")
        return result
    present = np.unique(y_true)
    if len(present) < 2:
        missing.append("metrics: the test labels hold one class, so ROC AUC is undefined")
    elif set(present) != set(labels):
        missing.append("metrics: some classes are absent from the test labels, so no ROC AUC")
    if len(labels) == 2:
        result["operating_points"] = operating_points(is_positive, proba[:, column])
    return result


def clinical_metrics(
    scored: Scored, bootstrap: Bootstrap, training: np.ndarray | None, missing: list[str]
) -> dict[str, Any]:
    """The headline metrics with intervals, prevalence, calibration and the baseline.

    ``training`` holds the training labels (or targets) the baseline is made from.
    """
    # Through the package: `headline` is also the name of a module of it (import-linter).
    values = evaluation.headline(scored)
    result: dict[str, Any] = {}
    if scored.task == "binary":
        result["positive_class"] = scored.positive_class
        result["prevalence"] = float(np.mean(scored.positive)) if len(scored) else None
        result["calibration"] = evaluation.calibration_curve(scored)
    result.update(values)
    result["intervals"] = evaluation.headline_intervals(scored, bootstrap)
    result["bootstrap"] = bootstrap.record()
    result["baseline"], result["worse_than_baseline"] = None, []
    if training is None:
        missing.append("metrics: no training labels were given, so no baseline to compare with")
    else:
        result["baseline"] = evaluation.baseline_metrics(scored, training)
        result["worse_than_baseline"] = evaluation.worse_than_baseline(
            values, result["baseline"], scored.task, scored.proba is not None, result["intervals"]
        )
    return json_value(result)


def operating_points(positive: np.ndarray, score: np.ndarray) -> list[dict[str, Any]]:
    """Sensitivity, specificity, PPV and NPV of "positive when score >= threshold"."""
    points = []
    for threshold in OPERATING_THRESHOLDS:
        measured = evaluation.operating_metrics(positive, score, threshold)
        points.append(
            {
                "threshold": threshold,
                **{name: measured[name] for name in ("sensitivity", "specificity", "ppv", "npv")},
                "flagged": int(np.sum(score >= threshold)),
            }
        )
    return points


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """MAE, RMSE and R² of the predictions."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    r2 = skm.r2_score(y_true, y_pred) if len(y_true) >= 2 else float("nan")
    return {
        "n_rows": len(y_true),
        "mae": json_value(skm.mean_absolute_error(y_true, y_pred)),
        "rmse": json_value(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "r2": json_value(r2),
    }


def scoring_for(task: Task) -> str:
    """The score of every refit on folds: ROC AUC (one-vs-rest when multiclass), or R²."""
    return {"binary": "roc_auc", "multiclass": "roc_auc_ovr", "regression": "r2"}[task]


def folds_of(task: Task, k: int, seed: int) -> KFold | StratifiedKFold:
    """K shuffled folds, stratified for classifiers, the same for a given seed."""
    if task == "regression":
        return KFold(k, shuffle=True, random_state=seed)
    return StratifiedKFold(k, shuffle=True, random_state=seed)


def cross_validation(
    model: Any,
    X: Any,
    y: Any,
    folds: KFold | StratifiedKFold,
    scoring: str,
    on: str,
    scorer: Callable[[Any, Any, Any], float] | None = None,
) -> dict[str, Any]:
    """Scores of an unfitted copy of ``model`` on ``folds`` of X; ``on`` says which rows.

    ``scorer``, when given, computes ``scoring`` (it may report progress as fits finish).
    """
    scores = cross_validate(clone(model), X, y, cv=folds, scoring=scorer or scoring)["test_score"]
    return json_value(
        {
            "folds": folds.get_n_splits(),
            "scoring": scoring,
            "scores": scores,
            "mean": np.nanmean(scores),
            "std": np.nanstd(scores),
            "on": on,
        }
    )
