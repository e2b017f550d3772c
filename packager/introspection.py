"""Introspection of an estimator: is it one, is it fitted, what task it does, its parameters."""

from __future__ import annotations

from typing import Any

from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from packager.encoding import dotted_name, json_params
from packager.errors import CaptureError, NotAnEstimatorError, NotFittedError
from packager.manifest import EstimatorInfo, Task

__all__ = ["allows_nan", "check_estimator", "estimator_info", "task_of"]


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
