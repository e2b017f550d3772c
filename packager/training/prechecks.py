"""The clinical evaluation's options checked against the table, before anything is fitted.

``train`` fits for minutes; a positive class that is not a label, a threshold profile on a
regressor or a bad edge-case file must fail first. :func:`check_evaluation` checks each
against the target's labels and the features' schema and returns the positive class it
names (for the plots); ``capture`` checks them again against the model it records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from packager.artefact import Label, TargetSpec, Task, infer_input_spec, json_label
from packager.evaluation import (
    EvaluationPlan,
    check_profiles_possible,
    parse_edge_cases,
    positive_class_of,
)

__all__ = ["check_evaluation"]


def check_evaluation(
    evaluation: EvaluationPlan, X: pd.DataFrame, y: pd.Series, regression: bool
) -> Label | None:
    """Check ``evaluation`` against the features ``X`` and target ``y``; the positive class."""
    labels = [] if regression else [json_label(label) for label in np.unique(y)]
    task: Task = "regression" if regression else "binary" if len(labels) == 2 else "multiclass"
    positive = positive_class_of(evaluation.positive_class, labels, task)
    if evaluation.specs().profiles:
        check_profiles_possible(task, has_proba=True)
    if evaluation.edge_cases is not None:
        # Read against the table's schema; capture reads them again against the recorded one.
        spec = infer_input_spec(X, format="dataframe", names_generated=False, allow_nan=False)
        target = TargetSpec(task, classes=labels or None, positive_class=positive)
        parse_edge_cases(evaluation.edge_cases, spec, target)
    return positive
