"""Training and test data as the model saw them: checked against the model, shaped as frames."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from packager.artefact import Label, TargetSpec, Task, json_label, json_value
from packager.errors import CaptureError

__all__ = [
    "Dataset",
    "check_labels",
    "features_of",
    "split_subgroups",
    "subgroup_values",
    "target_of",
    "target_spec",
]


@dataclass(frozen=True)
class Dataset:
    """Features as a named frame (for the schema) and as the estimator takes them (for scoring)."""

    frame: pd.DataFrame
    model_X: Any
    format: str
    names_generated: bool

    @property
    def names(self) -> list[str]:
        """Feature names in training order."""
        return [str(c) for c in self.frame.columns]


def features_of(
    model: Any, X: Any, what: str, feature_names: Sequence[str] | None = None
) -> Dataset:
    """Check ``X`` against what the fitted ``model`` expects; ``what`` names it in errors."""
    model_names = getattr(model, "feature_names_in_", None)
    model_names = None if model_names is None else [str(n) for n in model_names]
    if isinstance(X, pd.DataFrame):
        columns = [str(c) for c in X.columns]
        if len(set(columns)) != len(columns):
            raise CaptureError(f"{what} has duplicate column names")
        if feature_names is not None and list(feature_names) != columns:
            raise CaptureError(f"feature_names do not match the columns of {what}")
        if model_names is not None:
            _check_names(model_names, columns, what)
            frame = X.set_axis(columns, axis=1)[model_names]
            dataset = Dataset(frame, frame, "dataframe", False)
        else:
            frame = X.set_axis(columns, axis=1)
            dataset = Dataset(frame, frame.to_numpy(), "array", False)
    else:
        array = _as_2d(X, what)
        if model_names is not None:
            names, generated, fmt = model_names, False, "dataframe"
        elif feature_names is not None:
            names, generated, fmt = [str(n) for n in feature_names], False, "array"
        else:
            names, generated, fmt = [f"x{i}" for i in range(array.shape[1])], True, "array"
        if len(names) != array.shape[1]:
            raise CaptureError(
                f"{what} has {array.shape[1]} columns but {len(names)} feature names were given"
            )
        frame = pd.DataFrame(array, columns=names).infer_objects()
        dataset = Dataset(frame, frame if fmt == "dataframe" else array, fmt, generated)
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and int(expected) != dataset.frame.shape[1]:
        raise CaptureError(
            f"{what} has {dataset.frame.shape[1]} columns but the model was fitted on {expected}"
        )
    if len(dataset.frame) == 0:
        raise CaptureError(f"{what} has no rows")
    return dataset


def split_subgroups(
    X_test: Any, columns: Sequence[str], features: Sequence[str]
) -> tuple[Any, pd.DataFrame]:
    """``X_test`` without the subgroup columns the model does not take, and those columns.

    A column the model does not use is allowed in ``X_test`` only when it is named as a
    subgroup; it is taken out here, before ``X_test`` is checked against the model.
    """
    if not isinstance(X_test, pd.DataFrame):
        unknown = [c for c in columns if c not in features]
        if unknown:
            raise CaptureError(
                f"subgroup column {unknown[0]!r} is not a feature, and X_test is an array of "
                "features only; give X_test as a DataFrame holding that column"
            )
        return X_test, pd.DataFrame(index=range(len(X_test)))
    names = [str(c) for c in X_test.columns]
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise CaptureError(f"subgroup column {unknown[0]!r} is not a column of X_test")
    extra = [c for c in columns if c not in features]
    kept = X_test.loc[:, [name not in extra for name in names]]
    return kept, X_test.set_axis(names, axis=1)[extra].reset_index(drop=True)


def subgroup_values(test: Dataset, extra: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The subgroup columns of the test rows, by position: features and the extra columns."""
    features = [c for c in columns if c not in extra.columns]
    return pd.concat([test.frame[features].reset_index(drop=True), extra], axis=1)[list(columns)]


def _check_names(model_names: list[str], columns: list[str], what: str) -> None:
    absent = [n for n in model_names if n not in columns]
    extra = [c for c in columns if c not in model_names]
    if absent or extra:
        parts = []
        if absent:
            parts.append(f"missing {', '.join(absent)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        raise CaptureError(f"the columns of {what} do not match the model's: {'; '.join(parts)}")


def _as_2d(X: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(X)
    except (TypeError, ValueError):
        raise CaptureError(f"{what} must be a pandas DataFrame or a 2-D array") from None
    if array.ndim != 2:
        raise CaptureError(f"{what} must be 2-D (rows by features), not {array.ndim}-D")
    return array


def target_of(y: Any, n_rows: int, what: str, features: str) -> tuple[np.ndarray, str | None]:
    """``y`` as a 1-D array of ``n_rows`` labels without missing values, and its name if any."""
    name = str(y.name) if isinstance(y, pd.Series) and y.name is not None else None
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise CaptureError(f"{what} must be one column, not {y.shape[1]}")
        name = str(y.columns[0])
        y = y.iloc[:, 0]
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise CaptureError(f"{what} must be one column of labels, not a {array.ndim}-D array")
    if len(array) != n_rows:
        raise CaptureError(f"{features} has {n_rows} rows but {what} has {len(array)}")
    n_missing = int(pd.isna(pd.Series(array)).sum())
    if n_missing:
        raise CaptureError(f"{what} has {n_missing} missing values; drop those rows first")
    return array, name


def check_labels(model: Any, y: np.ndarray, task: Task, what: str) -> None:
    """Refuse labels ``y`` the model cannot have: not numbers (regressor), unknown classes."""
    if task == "regression":
        try:
            y.astype(np.float64)
        except (TypeError, ValueError):
            raise CaptureError(f"{what} must be numeric for a regressor") from None
        return
    seen = pd.unique(pd.Series(y))
    unknown = [v for v in seen if v not in set(model.classes_)]
    if unknown:
        raise CaptureError(f"{what} holds {len(unknown)} label(s) the model was not fitted on")
    if what == "y" and len(seen) < 2:
        raise CaptureError("the target y has one class; a classifier needs at least two")


def target_spec(
    model: Any, task: Task, y: np.ndarray | None, name: str | None, positive: Label | None
) -> TargetSpec:
    """What the model predicts, as recorded: classes, balance and positive class, or the
    target's summary (regressors)."""
    if task == "regression":
        summary = None
        if y is not None:
            values = y.astype(np.float64)
            summary = {
                key: json_value(v)
                for key, v in (
                    ("mean", values.mean()),
                    ("std", values.std()),
                    ("min", values.min()),
                    ("median", np.median(values)),
                    ("max", values.max()),
                )
            }
        return TargetSpec(task=task, name=name, summary=summary)
    classes = [json_label(c) for c in model.classes_]
    balance = None
    if y is not None:
        counts = pd.Series(y).value_counts(normalize=True)
        balance = {str(json_label(c)): float(counts.get(c, 0.0)) for c in model.classes_}
    if task == "binary" and positive is None:
        positive = classes[1]
    return TargetSpec(
        task=task, name=name, classes=classes, class_balance=balance, positive_class=positive
    )
