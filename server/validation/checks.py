"""Per-value checks for each kind of feature, and the messages both validation paths share.

A check returns ``None`` for an acceptable value or a problem that names the expected and
the received JSON kind, never the value. The marshmallow fields (row by row) and the
column-wise fast path both call these, so they cannot disagree on a message.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from packager.artefact import FeatureSpec, Label
from server.validation.payload import kind_of

__all__ = [
    "ABOVE_RANGE",
    "BELOW_RANGE",
    "MISSING",
    "NON_FINITE",
    "NULL",
    "UNKNOWN",
    "UNSEEN_CATEGORY",
    "Check",
    "category_types",
    "value_check",
]

Check = Callable[[object], "str | None"]

MISSING = "missing; every feature of the schema is required"
UNKNOWN = "unknown feature; this model was not trained on it"
NULL = "null is not allowed; this feature had no missing values in training"
NON_FINITE = "expected a finite number"
ABOVE_RANGE = "above the largest value seen in training"
BELOW_RANGE = "below the smallest value seen in training"
UNSEEN_CATEGORY = "a category not seen in training"

_LABEL_KINDS: dict[type, str] = {str: "a string", int: "a number", float: "a number"}


def category_types(categories: list[Label] | None) -> frozenset[type]:
    """The Python types a category feature accepts: those of its training categories."""
    if not categories:
        return frozenset({str, int, float, bool})
    found = frozenset(type(c) for c in categories)
    # JSON does not keep 1 and 1.0 apart; accept either for numeric categories.
    if found & {int, float} and bool not in found:
        found |= {int, float}
    return found


def value_check(feature: FeatureSpec) -> Check:
    """The check for one non-null value of ``feature`` (nulls are handled by the caller)."""
    kind = feature.kind
    if kind == "number":
        return _number
    if kind == "integer":
        return _integer
    if kind == "boolean":
        return _boolean
    if kind == "string":
        return _string
    return _category(category_types(feature.categories))


def _number(value: object) -> str | None:
    kind = type(value)
    if kind is int:
        return None
    if kind is float:
        return None if math.isfinite(value) else NON_FINITE  # type: ignore[arg-type]
    return f"expected a number, got {kind_of(value)}"


def _integer(value: object) -> str | None:
    kind = type(value)
    if kind is int:
        return None
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            return NON_FINITE
        if value.is_integer():  # type: ignore[attr-defined]
            return None
        return "expected an integer, got a number with a fractional part"
    return f"expected an integer, got {kind_of(value)}"


def _boolean(value: object) -> str | None:
    if type(value) is bool:
        return None
    return f"expected true or false, got {kind_of(value)}"


def _string(value: object) -> str | None:
    if type(value) is str:
        return None
    return f"expected a string, got {kind_of(value)}"


def _category(accepted: frozenset[type]) -> Check:
    names = sorted({_LABEL_KINDS.get(t, "a boolean") for t in accepted})
    expected = f"expected a category ({' or '.join(names)})"

    def check(value: object) -> str | None:
        kind = type(value)
        if kind in accepted:
            if kind is float and not math.isfinite(value):  # type: ignore[arg-type]
                return NON_FINITE
            return None
        return f"{expected}, got {kind_of(value)}"

    return check
