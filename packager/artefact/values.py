"""Values as deployml writes them: JSON-safe for machines, short text for people.

In JSON, numpy scalars become Python and NaN and infinities become null. For people (the
model card, ``inspect``, the train report), numbers are shown to four significant figures;
limits an author set are shown exactly as set.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "INT64",
    "dotted_name",
    "for_people",
    "json_label",
    "json_path",
    "json_value",
    "limits_for_people",
    "sorted_labels",
    "unusable_value",
]

INT64 = (-(2**63), 2**63 - 1)  # the whole numbers numpy and the JSON writers hold
_KEY_SHOWN = 60  # characters of a key shown in a path


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


def limits_for_people(low: float | None, high: float | None) -> str:
    """Limits as their author set them, not rounded: ``0 to 120``, ``at least 0``, ``at most
    0.5``; empty when there are none."""
    if low is not None and high is not None:
        return f"{_exact(low)} to {_exact(high)}"
    if low is not None:
        return f"at least {_exact(low)}"
    return "" if high is None else f"at most {_exact(high)}"


def _exact(value: float) -> str:
    """``120`` for 120.0 (a whole float within float's exact integers), else as Python writes
    it: the shortest text that reads back as the same number."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def json_label(value: Any) -> str | int | float | bool:
    """A class label as a JSON scalar, keeping its type (``str`` for anything exotic)."""
    value = json_value(value)
    if value is None:
        raise ValueError("a class label cannot be missing")
    # Exactly the built-in type: numpy's str_ and float64 subclass them, and would show as
    # np.str_('yes') wherever a label is quoted.
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
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


def json_path(keys: Iterable[Any]) -> str:
    """Keys and indices as a path for messages (``input.features[3].min``), long keys cut."""
    path = ""
    for key in keys:
        if isinstance(key, int):
            path += f"[{key}]"
            continue
        text = str(key) if len(str(key)) <= _KEY_SHOWN else str(key)[:_KEY_SHOWN] + "..."
        path += (f".{text}" if path else text) if text.isidentifier() else f"[{text!r}]"
    return path if len(path) <= 2 * _KEY_SHOWN else path[: 2 * _KEY_SHOWN] + "..."


def unusable_value(data: Any, max_depth: int) -> tuple[list[Any], str] | None:
    """Where in parsed JSON ``data`` the first value no reader can use is, and what it is:
    nesting deeper than ``max_depth``, NaN or an infinity, a whole number beyond 64 bits.

    Breadth first, without recursion, so that hostile nesting cannot exhaust the stack;
    each value keeps a link to its parent, to find its path only when one is found.
    """
    level: list[tuple[Any, Any, Any]] = [(None, None, data)]  # (parent, key, value)
    for depth in range(max_depth + 2):
        deeper = []
        for node in level:
            value = node[2]
            if isinstance(value, Mapping):
                deeper += [(node, key, item) for key, item in value.items()]
            elif isinstance(value, list):
                deeper += [(node, index, item) for index, item in enumerate(value)]
            elif isinstance(value, float) and not math.isfinite(value):
                return _keys(node), "holds NaN or an infinity"
            elif isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
                return _keys(node), "holds a number beyond 64 bits"
        if not deeper:
            return None
        if depth == max_depth:
            return _keys(deeper[0][0]), f"is nested more than {max_depth} levels deep"
        level = deeper
    return None


def _keys(node: tuple[Any, Any, Any]) -> list[Any]:
    keys = []
    while node[0] is not None:
        keys.append(node[1])
        node = node[0]
    return keys[::-1]


def _is_missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
