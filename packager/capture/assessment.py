"""The test data, scored once and evaluated under the plan: metrics, subgroups, profiles.

:func:`assess` scores the test rows with the model (one call each to ``predict`` and, for
classifiers, ``predict_proba``) and hands the same :class:`~packager.evaluation.Scored` rows
to every evaluation, so the headline metrics, the subgroups and the threshold profiles all
describe the same outputs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from packager.artefact import Task, ThresholdProfile, json_label, model_outputs
from packager.capture.data import Dataset
from packager.capture.metrics import (
    classification_metrics,
    clinical_metrics,
    regression_metrics,
)
from packager.errors import CaptureError, DeploymlWarning
from packager.evaluation import (
    TEST_DATA,
    EvaluationPlan,
    PlanSpecs,
    Scored,
    data_record,
    group_labels,
    rows_sha256,
    subgroup_report,
    threshold_profiles,
    uncalibrated,
)

__all__ = ["Assessment", "assess", "score_rows"]


@dataclass(frozen=True)
class Assessment:
    """What the test data says of the model: ``metrics["test"]``, subgroups, profiles."""

    metrics: dict[str, Any]
    subgroups: dict[str, Any] | None = None
    profiles: list[ThresholdProfile] = field(default_factory=list)


def assess(
    model: Any,
    test: Dataset,
    y: np.ndarray,
    task: Task,
    plan: EvaluationPlan,
    specs: PlanSpecs,
    missing: list[str],
    groups: pd.DataFrame | None = None,
    training_y: np.ndarray | None = None,
) -> Assessment:
    """Score the test rows and evaluate them as ``plan`` asks (``specs``: its text specs,
    parsed once by the caller); say what could not be done.

    ``groups`` holds the subgroup columns of the test rows, in order (default: the features).
    ``training_y`` (the training labels) makes the trivial baseline; a model no better than
    it is warned of (a :class:`~packager.errors.DeploymlWarning`).
    """
    scored = score_rows(model, test.model_X, y, task, plan, "X_test")
    # What the test rows can refuse (a column that cannot be grouped, a rule no threshold
    # meets) is refused before the slow bootstrap of the headline metrics and subgroups.
    values = test.frame.reset_index(drop=True) if groups is None else groups
    for spec in specs.subgroups:
        group_labels(spec, values[spec.column])
    profiles = [] if task == "regression" else _profiles(test, y, scored, plan, specs)
    if task == "regression":
        metrics = regression_metrics(scored.y_true, scored.y_pred)
    else:
        metrics = classification_metrics(
            scored.y_true,
            scored.y_pred,
            scored.proba,
            model.classes_,
            missing,
            scored.positive_class,
        )
    metrics.update(clinical_metrics(scored, plan.bootstrap, training_y, missing))
    if metrics["worse_than_baseline"]:
        warnings.warn(
            DeploymlWarning(
                "the model is no better than a trivial baseline on the test data: "
                + "; ".join(metrics["worse_than_baseline"])
            ),
            stacklevel=3,
        )
    off = metrics["baseline"] and uncalibrated(
        metrics, metrics["baseline"], task, scored.proba is not None, metrics["intervals"]
    )
    metrics["uncalibrated"] = off or None  # recorded, so the card and inspect say it too
    if off:
        warnings.warn(DeploymlWarning(f"on the test data, {off}"), stacklevel=3)
    subgroups = None
    if specs.subgroups:
        subgroups = subgroup_report(scored, specs.subgroups, values, test.names, plan.bootstrap)
    return Assessment(metrics, subgroups, profiles)


def _profiles(
    test: Dataset, y: np.ndarray, scored: Scored, plan: EvaluationPlan, specs: PlanSpecs
) -> list[Any]:
    """The plan's threshold profiles, chosen on the test rows."""
    if not specs.profiles:
        return []
    chosen_on = data_record(TEST_DATA, scored, rows_sha256(test.frame, y))
    return threshold_profiles(list(specs.profiles), scored, chosen_on, plan.bootstrap)


def score_rows(
    model: Any, X: Any, y: np.ndarray, task: Task, plan: EvaluationPlan, what: str
) -> Scored:
    """The model's outputs for the rows ``X`` whose true labels are ``y``."""
    outputs = score(model, X, task, what)
    if task == "regression":
        return Scored(task, y.astype(np.float64), np.asarray(outputs.predictions, dtype=np.float64))
    classes = tuple(json_label(c) for c in model.classes_)
    proba = None if outputs.probabilities is None else np.asarray(outputs.probabilities)
    positive = None
    if task == "binary":
        positive = classes[1] if plan.positive_class is None else plan.positive_class
    return Scored(task, y, np.asarray(outputs.predictions), proba, classes, positive)


def score(model: Any, X: Any, task: Task, what: str) -> Any:
    """``model_outputs`` of ``X``, its failures one line that quotes no data value."""
    try:
        return model_outputs(model, X, task)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        # The estimator's own message may quote data values, so only its type is shown.
        raise CaptureError(
            f"the {type(model).__name__} could not score {what} ({type(error).__name__}); "
            "check it has the columns and kinds the model was trained on"
        ) from error
