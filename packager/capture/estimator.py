"""Introspection of an estimator: is it one, is it fitted, what task it does, its parameters."""

from __future__ import annotations

from typing import Any

from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from packager.artefact.manifest import EstimatorInfo, Task
from packager.artefact.values import dotted_name, json_label, json_params, json_value
from packager.errors import CaptureError, NotAnEstimatorError, NotFittedError

__all__ = ["allows_nan", "check_estimator", "column_hints", "estimator_info", "task_of"]


def check_estimator(obj: Any, source: str) -> None:
    """Raise unless ``obj`` is a fitted scikit-learn-style estimator (``source`` names it)."""
    if isinstance(obj, type) or not all(
        callable(getattr(obj, name, None)) for name in ("fit", "predict", "get_params")
    ):
        raise NotAnEstimatorError(source, dotted_name(obj))
    try:
        check_is_fitted(obj)
    except SklearnNotFittedError:
        raise NotFittedError(source, type(obj).__name__) from None
    except TypeError:
        # check_is_fitted refuses objects that are not estimators in its sense.
        raise NotAnEstimatorError(source, dotted_name(obj)) from None


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
