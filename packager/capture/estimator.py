"""Introspection of a fitted estimator: its task, its parameters, what its columns hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import is_classifier, is_regressor

from packager.artefact import (
    ColumnHint,
    EstimatorInfo,
    Task,
    dotted_name,
    json_label,
    json_value,
)
from packager.errors import CaptureError

__all__ = ["allows_nan", "column_hints", "estimator_info", "json_params", "task_of"]

# The transformers that fill in missing values: a feature they reach accepts null.
_IMPUTERS = frozenset({"SimpleImputer", "KNNImputer", "IterativeImputer"})


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
    """Whether the estimator accepts missing values itself (scikit-learn's allow_nan tag).

    A Pipeline's own tag never says so, even around a HistGradientBoosting model: a Pipeline
    accepts them when every one of its steps does (each passes them on to the next), and an
    identity FunctionTransformer (a fitted "passthrough") does.
    """
    steps = _flat_steps(model)
    try:
        return all(
            _identity(step) or bool(step.__sklearn_tags__().input_tags.allow_nan) for step in steps
        )
    except AttributeError:
        return False


def _identity(step: Any) -> bool:
    """A FunctionTransformer without a function (what "passthrough" becomes once fitted)."""
    return type(step).__name__ == "FunctionTransformer" and getattr(step, "func", 0) is None


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


def column_hints(model: Any, names: Sequence[str] | None = None) -> dict[str, ColumnHint]:
    """What the model's own preprocessing does with each column it is given, by name.

    Read from a fitted ColumnTransformer (alone or first in a Pipeline), or from the leading
    steps of a Pipeline that work on every column (imputers, then an encoder): which columns
    an encoder learned categories for, and which an imputer fills in (also one after steps
    that hand a gap on unfilled, such as a scaler), or which steps that all accept a gap
    receive one unfilled. ``names`` names the
    columns of a model fitted on an array (whose steps record no names). Columns that none
    of these reach are not in the result.
    """
    first = _leading_steps(model)
    if not first:
        return {}
    known = getattr(first[0], "feature_names_in_", None)
    count = getattr(first[0], "n_features_in_", None)
    if known is not None:
        names = [str(n) for n in known]
    elif names is None or count is None or int(count) != len(names):
        return {}
    names = list(names)
    transformers = getattr(first[0], "transformers_", None)
    if transformers is not None:
        return _transformer_hints(transformers, names, _downstream(model, first[0]))
    imputed = False
    for step in first:
        if _is_imputer(step):
            imputed = True
            continue
        encoder = step if hasattr(step, "categories_") else None
        if encoder is None or len(encoder.categories_) != len(names):
            # A scaler hands a gap on: an imputer after it fills it in all the same.
            passes_nan = encoder is None and allows_nan(step)
            imputed = imputed or (passes_nan and _downstream(model, step) == "imputed")
            break
        return {name: ColumnHint(_categories(encoder, i), imputed) for i, name in enumerate(names)}
    return {name: ColumnHint(None, True) for name in names} if imputed else {}


def _leading_steps(model: Any) -> list[Any]:
    """The model's first steps that see its input columns as given: a ColumnTransformer, or
    the imputers and encoder a Pipeline starts with (nested Pipelines flattened)."""
    steps = [step for _, step in getattr(model, "steps", [])]
    if not steps:
        return [model] if hasattr(model, "transformers_") else []
    flat: list[Any] = []
    for step in steps:
        inner = _flat_steps(step)
        flat.extend(inner)
        if not all(_is_imputer(s) for s in inner):
            break
    return flat


def _flat_steps(model: Any) -> list[Any]:
    """A Pipeline's steps in order, nested Pipelines flattened ("passthrough" left out); any
    other estimator as the one step."""
    if not hasattr(model, "steps"):
        return [model]
    return [
        inner
        for _, step in model.steps
        if step is not None and step != "passthrough"
        for inner in _flat_steps(step)
    ]


def _downstream(model: Any, transformer: Any) -> str | None:
    """What the steps after a Pipeline's ColumnTransformer do with a missing value it passes
    on: "imputed" (an imputer fills it in before any step refuses it), "accepted" (every
    step takes it, as HistGradientBoosting does), or None (a step refuses it)."""
    steps = _flat_steps(model)
    after = steps[steps.index(transformer) + 1 :] if transformer in steps else []
    for step in after:
        if _is_imputer(step):
            return "imputed"
        if not allows_nan(step):
            return None
    return "accepted" if after else None


def _transformer_hints(
    transformers: Any, names: list[str], downstream: str | None
) -> dict[str, ColumnHint]:
    hints: dict[str, ColumnHint] = {}
    for _, transformer, columns in transformers:
        if transformer == "drop":
            continue
        selected = _column_names(columns, names)
        parts = [] if transformer == "passthrough" else _flat_steps(transformer)
        imputed = any(_is_imputer(p) for p in parts)
        encoder = next((p for p in parts if hasattr(p, "categories_")), None)
        # A missing value this part hands on unfilled: what the later steps do with it.
        passes_nan = not imputed and encoder is None and all(allows_nan(p) for p in parts)
        imputed = imputed or (passes_nan and downstream == "imputed")
        accepts = passes_nan and downstream == "accepted"
        for i, column in enumerate(selected):
            categories = None
            if encoder is not None and i < len(encoder.categories_):
                categories = _categories(encoder, i)
            filled, takes = imputed, accepts
            if column in hints:  # read twice: nullable only if every reading takes a gap
                earlier = hints[column]
                categories = earlier.categories if categories is None else categories
                filled = imputed and earlier.imputed
                takes = (imputed or accepts) and (earlier.imputed or earlier.accepts_nan)
                takes = takes and not filled
            hints[column] = ColumnHint(categories, filled, takes)
    return hints


def _is_imputer(step: Any) -> bool:
    return type(step).__name__ in _IMPUTERS


def _categories(encoder: Any, i: int) -> list[Any]:
    """The categories an encoder learned for its ``i``-th column (a missing one left out)."""
    values = encoder.categories_[i].tolist()
    return [json_label(v) for v in values if json_value(v) is not None]


def _column_names(columns: Any, names: list[str]) -> list[str]:
    if isinstance(columns, str):
        columns = [columns]
    if not isinstance(columns, list | tuple) and not hasattr(columns, "tolist"):
        return []  # slices, callables, masks: not worth guessing for a hint
    selected = list(columns.tolist() if hasattr(columns, "tolist") else columns)
    if all(isinstance(c, int) and not isinstance(c, bool) for c in selected):
        return [names[c] for c in selected if 0 <= c < len(names)]
    return [str(c) for c in selected if str(c) in names]
