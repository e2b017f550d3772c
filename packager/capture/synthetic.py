"""Synthetic self-test rows, made from the feature schema alone: no row of patient data.

Every artefact stores rows with the outputs the model gave for them (``self_test.json``);
``verify`` and the server's start-up re-score them. These rows are made from the schema's
statistics, so they hold no training row:

- ``typical``: numbers at their median (``quantiles["0.5"]``, rounded for integers), the most
  frequent category, the most frequent boolean;
- ``minimum`` and ``maximum``: numbers at the training range's edges, the first and last
  category, booleans false and true;
- ``missing``: the typical row with every nullable feature null (only if one is nullable).

Without statistics (a bare estimator packaged without data) a number is 0, a category its
first one and a string empty, which the server's request validation accepts all the same.
Numbers are kept inside the feature's plausible limits, which a request may not leave.
Identical rows are stored once. The typical row must score, or packaging is refused; another
row the model refuses is left out of the self-test, and the manifest says so in ``missing``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from packager.artefact import (
    Examples,
    FeatureSpec,
    InputSpec,
    Outputs,
    Task,
    model_input,
    model_outputs,
    records_to_columns,
)
from packager.errors import CaptureError

__all__ = ["TYPICAL", "refusal", "self_test_rows", "synthetic_rows"]

TYPICAL = "typical"
_DESCRIBED = {
    TYPICAL: "the typical row",
    "minimum": "the row at the training minimum",
    "maximum": "the row at the training maximum",
    "missing": "the row with its nullable features null",
}


def synthetic_rows(spec: InputSpec) -> dict[str, dict[str, Any]]:
    """The synthetic rows of ``spec`` by kind, the typical row first, without duplicates."""
    features = spec.features
    made = {
        TYPICAL: {f.name: _typical(f) for f in features},
        "minimum": {f.name: _edge(f, low=True) for f in features},
        "maximum": {f.name: _edge(f, low=False) for f in features},
    }
    if any(f.nullable for f in features):
        made["missing"] = {f.name: None if f.nullable else _typical(f) for f in features}
    rows: dict[str, dict[str, Any]] = {}
    for kind, row in made.items():
        if row not in rows.values():
            rows[kind] = row
    return rows


def self_test_rows(model: Any, spec: InputSpec, task: Task) -> tuple[Examples, list[str]]:
    """The synthetic rows with ``model``'s outputs for them, and notes of rows left out.

    Raises CaptureError, naming the error's type but no value, when the typical row does not
    score: an artefact the server cannot self-test would never be ready.
    """
    made = synthetic_rows(spec)
    try:  # the usual case, in one call: every row scores
        scores = _scores(model, spec, task, list(made.values()))
        return Examples(list(made.values()), scores.predictions, scores.probabilities), []
    except Exception:  # some row does not; find which, one by one
        pass
    kept: list[dict[str, Any]] = []
    notes: list[str] = []
    for kind, row in made.items():
        problem = refusal(model, spec, task, [row])
        if problem is None:
            kept.append(row)
        elif kind == TYPICAL:
            raise CaptureError(
                f"the {type(model).__name__} cannot score {_DESCRIBED[kind]} made from the "
                f"schema for its self-test ({problem}); the server could never be ready"
            )
        else:
            notes.append(
                f"self-test: the model cannot score {_DESCRIBED[kind]} made from the schema "
                f"({problem}); it is left out of the self-test"
            )
    scores = _scores(model, spec, task, kept)
    return Examples(kept, scores.predictions, scores.probabilities), notes


def refusal(model: Any, spec: InputSpec, task: Task, rows: list[dict[str, Any]]) -> str | None:
    """Why ``model`` cannot score ``rows`` (the error's type, which quotes no value), or None."""
    try:
        _scores(model, spec, task, rows)
    except Exception as error:  # any failure to score is the finding; its text may hold values
        return type(error).__name__
    return None


def _scores(model: Any, spec: InputSpec, task: Task, rows: list[dict[str, Any]]) -> Outputs:
    """The model's outputs for ``rows``, built as the server builds a request's rows."""
    with warnings.catch_warnings():
        # The model's own warnings (an edge value unlike most) are not refusals.
        warnings.simplefilter("ignore")
        return model_outputs(model, model_input(records_to_columns(rows, spec.names), spec), task)


def _typical(feature: FeatureSpec) -> Any:
    kind = feature.kind
    if kind in ("number", "integer"):
        median = (feature.quantiles or {}).get("0.5")
        if median is None and feature.min is not None and feature.max is not None:
            median = (feature.min + feature.max) / 2
        return _number(feature, 0.0 if median is None else median)
    if kind == "boolean":
        return feature.most_frequent if isinstance(feature.most_frequent, bool) else False
    categories = feature.categories or []
    common = feature.most_frequent
    if common is not None and (common in categories or (kind == "string" and categories == [])):
        return common
    if kind == "category" and categories:
        return categories[0]
    return ""


def _edge(feature: FeatureSpec, *, low: bool) -> Any:
    kind = feature.kind
    if kind in ("number", "integer"):
        bound = feature.min if low else feature.max
        return _typical(feature) if bound is None else _number(feature, bound)
    if kind == "boolean":
        return not low
    if kind == "category" and feature.categories:
        return feature.categories[0 if low else -1]
    return _typical(feature)


def _number(feature: FeatureSpec, value: float) -> int | float:
    """``value`` as training held it (whole for integers and integer dtypes), moved inside the
    feature's plausible limits."""
    low, high = feature.plausible_min, feature.plausible_max
    if not _whole(feature):
        return float(
            min(max(value, -math.inf if low is None else low), math.inf if high is None else high)
        )
    whole = round(value)
    if low is not None and whole < low:
        whole = math.ceil(low)
    if high is not None and whole > high:
        whole = math.floor(high)
    return whole


def _whole(feature: FeatureSpec) -> bool:
    if feature.kind == "integer":
        return True
    try:
        return np.dtype(feature.dtype).kind in "iu"
    except TypeError:
        return False
