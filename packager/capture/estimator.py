"""Introspection of a fitted estimator: its task, its parameters, what its columns hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import is_classifier, is_regressor

from packager.artefact import EstimatorInfo, Task, dotted_name, json_label, json_value
from packager.errors import CaptureError

__all__ = ["allows_nan", "column_hints", "estimator_info", "json_params", "task_of"]


def task_of(model: Any) -> Task:
    """binary, multiclass or regression; refuses models that are neither kind."""
    classes = getattr(model, "classes_", None)
    if is_classifier(model) or (classes is not None and not is_regressor(model)):
        if classes is None:
            raise CaptureError(f"the {type(model).__name__} has no classes_ after fitting")
        if len(classes) < 2:
            raise CaptureError(
                f"the {type(model).__name__} was fitted on a target with one class; "
                "a classifier needs at least two"
            )
        return "binary" if len(classes) == 2 else "multiclass"
    if is_regressor(model):
        return "regression"
    raise CaptureError(
        f"the {type(model).__name__} is neither a classifier nor a regressor; "
        "deployml packages models that predict a target"
    )


def allows_nan(model: Any) -> bool:
    """Whether the estimator accepts missing values itself (scikit-learn's allow_nan tag)."""
    try:
        return bool(model.__sklearn_tags__().input_tags.allow_nan)
    except AttributeError:
        return False


def estimator_info(model: Any, n_training_rows: int | None) -> EstimatorInfo:
    """Class, JSON-safe hyperparameters and training set size."""
    return EstimatorInfo(
        class_name=dotted_name(model), params=json_params(model), n_training_rows=n_training_rows
    )


def json_params(estimator: Any) -> dict[str, Any]:
    """An estimator's constructor parameters as JSON, nested estimators as class + params."""
    params = estimator.get_params(deep=False)
    return {name: _param(value) for name, value in sorted(params.items())}


def _param(value: Any) -> Any:
    if hasattr(value, "get_params") and not isinstance(value, type):
        return {"class": dotted_name(value), "params": json_params(value)}
    if isinstance(value, list | tuple):
        return [_param(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _param(v) for k, v in value.items()}
    if isinstance(value, type) or callable(value):
        return dotted_name(value)
    if isinstance(value, np.ndarray | np.generic | float | int | str | bool) or value is None:
        return json_value(value)
    if isinstance(value, slice | range):
        return repr(value)
    return json_value(value)


def column_hints(model: Any) -> dict[str, tuple[list[Any] | None, bool]]:
    """For a fitted ColumnTransformer (alone or first in a Pipeline): column -> hints.

    Each hint is ``(categories, imputed)``: the categories an encoder learned for the column
    (None if it is not encoded), and whether an imputer fills its missing values. Used only
    when a bare estimator is packaged without training data.
    """
    steps = getattr(model, "steps", None)
    first = steps[0][1] if steps else model
    names = getattr(first, "feature_names_in_", None)
    transformers = getattr(first, "transformers_", None)
    if names is None or transformers is None:
        return {}
    names = [str(n) for n in names]
    hints: dict[str, tuple[list[Any] | None, bool]] = {}
    for _, transformer, columns in transformers:
        selected = _column_names(columns, names)
        parts = [s[1] for s in getattr(transformer, "steps", [])] or [transformer]
        imputed = any(type(p).__name__ in ("SimpleImputer", "KNNImputer") for p in parts)
        encoder = next((p for p in parts if hasattr(p, "categories_")), None)
        for i, column in enumerate(selected):
            categories = None
            if encoder is not None and i < len(encoder.categories_):
                values = encoder.categories_[i].tolist()
                categories = [json_label(v) for v in values if json_value(v) is not None]
            hints[column] = (categories, imputed)
    return hints


def _column_names(columns: Any, names: list[str]) -> list[str]:
    if isinstance(columns, str):
        columns = [columns]
    if not isinstance(columns, list | tuple) and not hasattr(columns, "tolist"):
        return []  # slices, callables, masks: not worth guessing for a hint
    selected = list(columns.tolist() if hasattr(columns, "tolist") else columns)
    if all(isinstance(c, int) and not isinstance(c, bool) for c in selected):
        return [names[c] for c in selected if 0 <= c < len(names)]
    return [str(c) for c in selected if str(c) in names]
