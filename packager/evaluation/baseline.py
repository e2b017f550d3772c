"""The trivial baseline: what a model that knows nothing of the inputs would score.

A classifier's baseline gives every row the training class frequencies as its probabilities
and predicts the majority class; a regressor's predicts the training mean. The baseline is
measured by :func:`~packager.evaluation.headline` on the same rows as the model, so the two
compare like for like. :func:`worse_than_baseline` says, in sentences, where the model does no
better than it: on the proper scoring rule (Brier score for binary, log loss for multiclass)
and ROC AUC (no better than 0.5) when there are probabilities, on balanced accuracy when there
are none, and on MAE and RMSE for regressors. Plain accuracy is never compared: on unbalanced
data a useful model is often less accurate than always predicting the majority class. Nor is
a model whose ROC AUC interval lies above 0.5 called no better for its proper score: it ranks
patients better than chance, and :func:`uncalibrated` says that its probabilities are off.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from packager.artefact import Label, for_people
from packager.evaluation.headline import headline
from packager.evaluation.scored import Scored

__all__ = [
    "CLASSIFIER_BASELINE",
    "REGRESSOR_BASELINE",
    "baseline_metrics",
    "uncalibrated",
    "worse_than_baseline",
]

CLASSIFIER_BASELINE = "training class frequencies; majority class"
REGRESSOR_BASELINE = "training mean"


def baseline_metrics(scored: Scored, training: np.ndarray) -> dict[str, Any]:
    """The baseline's headline metrics on ``scored``'s rows, from the ``training`` labels."""
    rows = len(scored)
    if scored.task == "regression":
        mean = float(np.mean(np.asarray(training, dtype=np.float64)))
        trivial = Scored("regression", scored.y_true, np.full(rows, mean))
        return {"strategy": REGRESSOR_BASELINE, **headline(trivial)}
    frequencies = np.array([np.mean(training == label) for label in scored.classes])
    majority: Label = scored.classes[int(np.argmax(frequencies))]
    trivial = Scored(
        scored.task,
        scored.y_true,
        np.full(rows, majority, dtype=object),
        np.tile(frequencies, (rows, 1)),
        scored.classes,
        scored.positive_class,
    )
    return {"strategy": CLASSIFIER_BASELINE, **headline(trivial)}


def worse_than_baseline(
    metrics: dict[str, Any],
    reference: dict[str, Any],
    task: str,
    has_proba: bool,
    intervals: dict[str, Any] | None = None,
) -> list[str]:
    """One sentence for each way the model's ``metrics`` are no better than the baseline's.

    A proper score no better than the baseline's is not said of a model whose ROC AUC
    interval (in ``intervals``) lies above 0.5: it ranks patients better than chance, and
    only its probabilities are off (:func:`uncalibrated` says so).
    """
    ranks = _ranks_better_than_chance(intervals)
    said = [
        f"{name} {for_people(metrics[name])} is no better than the baseline's "
        f"{for_people(reference[name])}"
        for name in _COMPARED[task if task == "regression" or has_proba else "labels only"]
        if _no_better(metrics, reference, name) and not (ranks and name in _PROPER)
    ]
    auc = metrics.get("roc_auc")
    if task != "regression" and has_proba and auc is not None and auc <= 0.5:
        said.append(f"roc_auc {for_people(auc)} is no better than chance (0.5)")
    return said


def uncalibrated(
    metrics: dict[str, Any],
    reference: dict[str, Any],
    task: str,
    has_proba: bool,
    intervals: dict[str, Any] | None,
) -> str | None:
    """The sentence for a model that ranks better than chance but whose probabilities score
    no better than the baseline's (say, one fitted with class weights), else None."""
    if task == "regression" or not has_proba or not _ranks_better_than_chance(intervals):
        return None
    name = _COMPARED[task][0]
    if not _no_better(metrics, reference, name):
        return None
    return (
        f"the model's ROC AUC {for_people(metrics['roc_auc'])} ranks patients better than "
        "chance, but "
        f"its probabilities are less accurate than the baseline's ({name} "
        f"{for_people(metrics[name])} against {for_people(reference[name])}): they are not "
        "calibrated, so read them as scores, not as risks (see the calibration curve)"
    )


# What is compared: the proper scoring rule (lower is better), or without scores the balanced
# accuracy (higher is better; the baseline's is that of chance, whatever the prevalence).
_COMPARED = {
    "binary": ("brier",),
    "multiclass": ("log_loss",),
    "regression": ("mae", "rmse"),
    "labels only": ("balanced_accuracy",),
}


# The proper scoring rules: lower is better.
_PROPER = frozenset({"brier", "log_loss"})


def _no_better(metrics: dict[str, Any], reference: dict[str, Any], name: str) -> bool:
    if metrics.get(name) is None or reference.get(name) is None:
        return False
    if name == "balanced_accuracy":
        return bool(metrics[name] <= reference[name])
    return bool(metrics[name] >= reference[name])


def _ranks_better_than_chance(intervals: dict[str, Any] | None) -> bool:
    interval = (intervals or {}).get("roc_auc")
    return interval is not None and interval[0] > 0.5
