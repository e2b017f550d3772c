"""Text read as a feature's value or a class label: a CSV cell (an edge case) as a request sends it.

A cell is read by the feature's kind, and refused for what a request would be refused for:
not a number, a fraction for an ``integer``, a number its type cannot hold, a value outside
the plausible limits, a category not seen in training. The ``ValueError`` says which rule it
breaks, never the value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from packager.artefact.manifest import FeatureSpec, Label
from packager.artefact.schema.declared import NUMBER_KINDS, limits_problem
from packager.artefact.values import INT64

__all__ = ["FALSE_TEXT", "TRUE_TEXT", "label_from_text", "value_from_text"]

# How a boolean may be written as text (a CSV cell), in any case.
TRUE_TEXT, FALSE_TEXT = ("true", "1"), ("false", "0")


def label_from_text(text: str, classes: Sequence[Label]) -> Label | None:
    """The model's class (or a feature's category) written as ``text``, or None."""
    for label in classes:
        if isinstance(label, bool):
            if text.lower() == str(label).lower():
                return label
        elif isinstance(label, int | float):
            if _finite(text) == label:
                return label
        elif text == label:
            return label
    return None


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def value_from_text(text: str, feature: FeatureSpec) -> Label | None:
    """``text`` as the JSON value of ``feature``'s kind; ValueError says what the schema refuses
    (never the value)."""
    if text == "":
        if not feature.nullable:
            raise ValueError("is empty, and this feature may not be missing")
        return None
    kind = feature.kind
    if kind in NUMBER_KINDS:
        value = _finite(text)
        if value is None:
            raise ValueError(f"is not a finite number, as this {kind} feature needs")
        if kind == "integer" and not value.is_integer():
            raise ValueError("is not a whole number, as this integer feature needs")
        low, high = _integer_range(feature.dtype)
        if kind == "integer" and not low <= value <= high:
            raise ValueError("is outside the range of this feature's type, as a request would be")
        if (feature.plausible_min is not None and value < feature.plausible_min) or (
            feature.plausible_max is not None and value > feature.plausible_max
        ):
            raise ValueError(f"is {limits_problem(feature)}")
        return int(value) if kind == "integer" else _as_written(text, value)
    if kind == "boolean":
        if text.strip().lower() not in TRUE_TEXT + FALSE_TEXT:
            raise ValueError("is not true or false, as this boolean feature needs")
        return text.strip().lower() in TRUE_TEXT
    if kind == "category" and feature.categories:
        found = label_from_text(text, feature.categories)
        if found is None:
            raise ValueError("is not one of the categories the model was trained on")
        return found
    return text


def _as_written(text: str, value: float) -> int | float:
    """A number as a request would send it: a whole number written so stays an integer."""
    try:
        whole = int(text)
    except ValueError:
        return value
    return whole if INT64[0] <= whole <= INT64[1] else value


def _integer_range(dtype: str) -> tuple[int, int]:
    """The whole numbers an integer feature's type holds (as the request checks hold them)."""
    try:
        found = np.dtype(dtype.lower())
    except TypeError:
        return INT64
    info = np.iinfo(found if found.kind in "iu" else np.int64)
    return int(info.min), int(info.max)
