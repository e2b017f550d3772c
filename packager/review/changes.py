"""Change records, the unit of ``deployml diff``: one per value that differs between A and B.

A change is ``{"what", "a", "b"}``, ``None`` on the side that lacks the value; a measured
value's change adds both intervals, the difference B - A and whether the intervals overlap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

__all__ = [
    "Change",
    "change_of",
    "changed",
    "flat",
    "is_interval",
    "keyed",
    "mapping",
    "measured_changes",
    "pick",
    "union",
]

Change = dict[str, Any]


def measured_changes(
    prefix: str,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    names: Iterable[str],
    where_a: Mapping[str, Any] | None = None,
    where_b: Mapping[str, Any] | None = None,
) -> list[Change]:
    """Changes of measured values, each with both intervals, B - A and whether they overlap."""
    intervals_a = mapping((where_a if where_a is not None else a).get("intervals"))
    intervals_b = mapping((where_b if where_b is not None else b).get("intervals"))
    changes = []
    for name in names:
        value_a, value_b = a.get(name), b.get(name)
        interval_a, interval_b = intervals_a.get(name), intervals_b.get(name)
        if value_a == value_b and interval_a == interval_b:
            continue
        record = change_of(f"{prefix}{name}", value_a, value_b)
        record["a_interval"], record["b_interval"] = interval_a, interval_b
        record["difference"] = (
            value_b - value_a
            if isinstance(value_a, int | float) and isinstance(value_b, int | float)
            else None
        )
        record["intervals_overlap"] = _overlap(interval_a, interval_b)
        changes.append(record)
    return changes


def changed(prefix: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    """One change per key whose value differs (or is on one side only)."""
    return [
        change_of(f"{prefix}{k}".strip(), a.get(k), b.get(k))
        for k in union(a, b)
        if a.get(k) != b.get(k)
    ]


def change_of(what: str, a: Any, b: Any) -> Change:
    """The change of ``what`` from ``a`` to ``b``."""
    return {"what": what, "a": a, "b": b}


def union(a: Iterable[str], b: Iterable[str]) -> list[str]:
    """The keys of ``a`` in order, then those only in ``b``."""
    seen = list(a)
    return seen + [key for key in b if key not in seen]


def pick(data: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: data[key] for key in keys if key in data}


def flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """A dataclass or nested dicts as one level of dotted keys; lists are kept whole."""
    if value is None:
        return {}
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if not isinstance(value, Mapping):
        return {prefix.rstrip(". ") or "value": value}
    keyed: dict[str, Any] = {}
    for key, item in value.items():
        if _named_steps(item):
            item = dict(item)  # a pipeline's [[name, step], ...]: one key per step
        if isinstance(item, Mapping) and item:
            keyed.update(flat(item, f"{prefix}{key}."))
        else:
            keyed[f"{prefix}{key}"] = item
    return keyed


def _named_steps(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str)
            for pair in value
        )
    )


def _overlap(a: Any, b: Any) -> bool | None:
    """Whether two ``[low, high]`` intervals overlap; None unless both are intervals."""
    if not (is_interval(a) and is_interval(b)):
        return None
    return bool(a[0] <= b[1] and b[0] <= a[1])


def is_interval(value: Any) -> bool:
    """Whether ``value`` is a ``[low, high]`` pair of numbers (free-form fields hold anything)."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is an object, else an empty one: free-form fields may hold anything."""
    return value if isinstance(value, Mapping) else {}


def keyed(items: Any, *keys: str) -> dict[str, Mapping[str, Any]]:
    """The objects of the list ``items`` by the first of ``keys`` each has (as text)."""
    found: dict[str, Mapping[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        name = next((item[k] for k in keys if isinstance(item, Mapping) and k in item), None)
        if name is not None:
            found[str(name)] = item
    return found
