"""``train``'s options, and the clinical evaluation's checked against the table, before
anything is fitted.

``train`` fits for minutes; a bad option (:func:`check_options`), a positive class that is
not a label, a threshold profile on a regressor or a bad edge-case file must fail first.
:func:`check_evaluation` checks each against the target's labels and the features' schema and
returns the positive class it names (for the plots); ``capture`` checks them again against
the model it records. :func:`check_dictionary` holds the data dictionary against the rows
in the same way. An svm on a large table is warned of at once
(:func:`warn_of_a_slow_svm`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from packager.artefact import (
    Label,
    TargetSpec,
    Task,
    check_limits,
    infer_input_spec,
    json_label,
)
from packager.capture import FeatureDictionary
from packager.errors import DeploymlWarning, TrainingError
from packager.evaluation import (
    EvaluationPlan,
    check_profiles_possible,
    parse_edge_cases,
    positive_class_of,
)

__all__ = [
    "SLOW_SVM_ROWS",
    "check_dictionary",
    "check_evaluation",
    "check_options",
    "warn_of_a_slow_svm",
]

# Above this many training rows, train warns at once that an svm will be slow.
SLOW_SVM_ROWS = 10_000


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


def check_dictionary(
    dictionary: FeatureDictionary | None, X_train: pd.DataFrame, X_test: pd.DataFrame
) -> None:
    """What ``capture`` would refuse of the dictionary after fitting, refused before: an
    ``integer`` feature with fractions, limits on text, rows outside the plausible limits."""
    if dictionary is None:
        return
    spec = infer_input_spec(
        X_train, format="dataframe", names_generated=False, allow_nan=True, dictionary=dictionary
    )
    check_limits(spec, X_test, "test", dictionary.source)


def check_options(
    data: Any, test_size: float, seed: int, cv: int | None, weight: str | None, max_cat: int
) -> None:
    """``train``'s own arguments, checked before the data is looked at."""
    if not isinstance(data, pd.DataFrame):
        raise TrainingError(f"data must be a pandas DataFrame, not a {type(data).__name__}")
    if len(data) == 0:
        raise TrainingError("the data has no rows")
    if len({str(c) for c in data.columns}) != data.shape[1]:
        raise TrainingError("the data has duplicate column names")
    if isinstance(test_size, bool) or not 0 < test_size < 1:
        raise TrainingError(f"test_size must be a fraction between 0 and 1, not {test_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise TrainingError(f"seed must be a whole number from 0 to 2**32 - 1, not {seed!r}")
    if cv is not None and (isinstance(cv, bool) or not isinstance(cv, int) or cv < 2):
        raise TrainingError(f"cv must be a whole number of folds of at least 2, not {cv!r}")
    if weight not in (None, "balanced"):
        raise TrainingError(f"class_weight must be 'balanced' or None, not {weight!r}")
    if isinstance(max_cat, bool) or not isinstance(max_cat, int) or max_cat < 2:
        raise TrainingError(f"max_categories must be a whole number of at least 2, not {max_cat!r}")


def warn_of_a_slow_svm(model: str, rows: int) -> None:
    """Warn at once (not with the warnings at the end) that an svm will be slow: the user may
    want to stop."""
    if model == "svm" and rows > SLOW_SVM_ROWS:
        warnings.warn(
            DeploymlWarning(
                f"svm: about {rows} training rows; a support vector machine's fit time grows "
                "with the square of the rows, and every fit here is six (calibration), so "
                "this may take a long time; gradient-boosting scales to large tables"
            ),
            stacklevel=3,
        )
