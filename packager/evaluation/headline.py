"""The headline metrics of scored rows, and their bootstrap intervals.

One function per task computes every headline metric of some rows, so the test data, each
subgroup and every resample are measured by the same code. Binary metrics count the positive
class (``Scored.positive_class``): sensitivity is the share of positive rows the model
predicts positive. A metric undefined on the rows (a sensitivity with no positive row, a ROC
AUC with one class) is ``None``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from packager.evaluation.bootstrap import Bootstrap, intervals
from packager.evaluation.scored import Scored

__all__ = ["headline", "headline_intervals", "rate"]

# Probabilities are clipped this far from 0 and 1 for the log loss, as scikit-learn does.
_EPS = np.finfo(np.float64).eps

Values = dict[str, float | None]


def headline(scored: Scored) -> Values:
    """Every headline metric of ``scored``'s task, measured on its rows."""
    return _measure(scored, _ranks(scored))


def headline_intervals(scored: Scored, bootstrap: Bootstrap) -> dict[str, list[float] | None]:
    """Bootstrap intervals of every headline metric (stratified by class for classifiers).

    The scores are ranked once: a resample's rows keep their order, so its ROC AUC is counted
    from the ranks without sorting again (most of the cost of a resample otherwise).
    """
    strata = None if scored.task == "regression" else scored.y_true
    ranks = _ranks(scored)

    def statistic(rows: np.ndarray) -> Values:
        return _measure(scored.subset(rows), None if ranks is None else ranks[rows])

    return intervals(len(scored), statistic, bootstrap, strata)


def rate(num: int, den: int) -> float | None:
    """``num / den``, or None when there is nothing to divide by."""
    return num / den if den else None


def _measure(scored: Scored, ranks: np.ndarray | None) -> Values:
    measure: Callable[[Scored, np.ndarray | None], Values] = {
        "binary": _binary,
        "multiclass": _multiclass,
        "regression": lambda rows, _: _regression(rows),
    }[scored.task]
    return measure(scored, ranks)


def _ranks(scored: Scored) -> np.ndarray | None:
    """Each probability column's dense ranks (equal scores, equal ranks), or None."""
    if scored.proba is None or scored.task == "regression":
        return None
    proba = np.asarray(scored.proba, dtype=np.float64)
    ranks = np.empty(proba.shape, dtype=np.intp)
    for i in range(proba.shape[1]):
        ranks[:, i] = np.unique(proba[:, i], return_inverse=True)[1].reshape(-1)
    return ranks


def _binary(scored: Scored, ranks: np.ndarray | None) -> Values:
    positive = scored.positive
    predicted = np.asarray(scored.y_pred == scored.positive_class)
    tp = int(np.sum(predicted & positive))
    fp = int(np.sum(predicted & ~positive))
    fn = int(np.sum(~predicted & positive))
    tn = int(np.sum(~predicted & ~positive))
    sensitivity, specificity = rate(tp, tp + fn), rate(tn, tn + fp)
    values: Values = {
        "roc_auc": None,
        "accuracy": rate(tp + tn, len(positive)),
        "balanced_accuracy": None
        if sensitivity is None or specificity is None
        else (sensitivity + specificity) / 2,
        "sensitivity": sensitivity,
        "specificity": specificity,
        "ppv": rate(tp, tp + fp),
        "npv": rate(tn, tn + fn),
        "brier": None,
        "log_loss": None,
    }
    if scored.proba is None or ranks is None or len(positive) == 0:
        return values
    score = scored.score
    values["roc_auc"] = _auc(positive, ranks[:, scored.classes.index(scored.positive_class)])
    values["brier"] = float(np.mean((score - positive) ** 2))
    p_true = np.clip(np.where(positive, score, 1 - score), _EPS, 1 - _EPS)
    values["log_loss"] = float(-np.mean(np.log(p_true)))
    return values


def _auc(positive: np.ndarray, ranks: np.ndarray) -> float | None:
    """ROC AUC as the Mann-Whitney statistic, from the scores' dense ``ranks``: the share of
    (positive, negative) pairs where the positive scores higher, ties counting half, as in
    scikit-learn."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    size = int(ranks.max()) + 1
    pos = np.bincount(ranks[positive], minlength=size)
    neg = np.bincount(ranks[~positive], minlength=size)
    below = np.cumsum(neg) - neg  # negatives scoring lower than each rank
    return float((pos @ below + (pos @ neg) / 2) / (n_pos * n_neg))


def _multiclass(scored: Scored, ranks: np.ndarray | None) -> Values:
    y, labels = scored.y_true, list(scored.classes)
    present = [label for label in labels if np.any(y == label)]
    recalls = [float(np.mean(scored.y_pred[y == label] == label)) for label in present]
    values: Values = {
        "accuracy": float(np.mean(scored.y_pred == y)) if len(y) else None,
        "balanced_accuracy": float(np.mean(recalls)) if recalls else None,
        "roc_auc": None,
        "log_loss": None,
    }
    if scored.proba is None or ranks is None or len(y) == 0:
        return values
    if len(present) == len(labels):
        # One-vs-rest, unweighted mean over classes: scikit-learn's "ovr" "macro", at the
        # cost of one count per class (scikit-learn's own call costs ~10 ms a resample).
        areas = [_auc(np.asarray(y == label), ranks[:, i]) for i, label in enumerate(labels)]
        values["roc_auc"] = float(np.mean([a for a in areas if a is not None]))
    index = np.array([labels.index(label) for label in y])
    p_true = np.clip(scored.proba[np.arange(len(y)), index], _EPS, 1)
    values["log_loss"] = float(-np.mean(np.log(p_true)))
    return values


def _regression(scored: Scored) -> Values:
    y = np.asarray(scored.y_true, dtype=np.float64)
    errors = np.asarray(scored.y_pred, dtype=np.float64) - y
    if len(y) == 0:
        return {"mae": None, "rmse": None, "r2": None}
    spread = float(np.sum((y - y.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "r2": 1 - float(np.sum(errors**2)) / spread if len(y) >= 2 and spread > 0 else None,
    }
