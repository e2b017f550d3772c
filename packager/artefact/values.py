"""Values as deployml writes them: JSON-safe for machines, short text for people.

In JSON, numpy scalars become Python and NaN and infinities become null. For people (the
model card, ``inspect``, the train report), numbers are shown to four significant figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["dotted_name", "for_people", "json_label", "json_value", "sorted_labels"]


def json_value(value: Any) -> Any:
    """Convert ``value`` (recursively) to plain JSON types; NaN, infinities and NA become None."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int | str | bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return [json_value(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if _is_missing(value):
        return None
    return str(value)


def for_people(value: Any) -> str:
    """A value as text for people: floats to four significant figures, a missing one as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def json_label(value: Any) -> str | int | float | bool:
    """A class label as a JSON scalar, keeping its type (``str`` for anything exotic)."""
    value = json_value(value)
    if value is None:
        raise ValueError("a class label cannot be missing")
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def sorted_labels(values: list[Any]) -> list[Any]:
    """Sort when the values are mutually comparable, else keep first-seen order."""
    try:
        return sorted(values)
    except TypeError:
        return values


def dotted_name(obj: Any) -> str:
    """``module.QualName`` of a class, function or (via its type) an instance."""
    target = (
        obj
        if isinstance(obj, type) or (callable(obj) and hasattr(obj, "__qualname__"))
        else type(obj)
    )
    module = getattr(target, "__module__", None) or "builtins"
    return f"{module}.{getattr(target, '__qualname__', type(target).__name__)}"


def _is_missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
