"""Per-value checks for each kind of feature, and the messages both validation paths share.

A check returns ``None`` for an acceptable value or a problem that names the expected and
the received JSON kind, never the value. The marshmallow fields (row by row) and the
column-wise fast path both call these, so they cannot disagree on a message.

Numbers must also fit the type the model was trained on (an ``int64`` holds less than
JSON allows), so that building the model's input cannot overflow, and lie within the
feature's plausible limits when its author gave them (``plausible_min``/``plausible_max``;
the problem names the limits and unit, which are the author's, never the value). A
category the model never saw is a problem here only where it is refused (strict mode, or a
model that cannot score it); elsewhere it is a warning (:mod:`server.validation.novelty`).
Unknown feature names are request text (a key can be a patient's name): they are counted,
never repeated.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Iterable
from itertools import islice
from typing import NamedTuple

import numpy as np

from packager.artefact import FeatureSpec, Label, limits_problem
from server.validation.payload import kind_of

__all__ = [
    "ABOVE_RANGE",
    "BELOW_RANGE",
    "MISSING",
    "NON_FINITE",
    "NULL",
    "NULL_DECLARED",
    "UNSEEN_CATEGORY",
    "Bounds",
    "Check",
    "Limits",
    "category_types",
    "close_features",
    "null_problem",
    "plausible_limits",
    "type_bounds",
    "unknown_features",
    "value_check",
]

Check = Callable[[object], "str | None"]


class Bounds(NamedTuple):
    """The smallest and largest value a feature's training type holds, and the type's name."""

    low: int | float
    high: int | float
    type_name: str


class Limits(NamedTuple):
    """A feature's plausible limits (an unset side as an infinity) and the problem of a value
    outside them."""

    low: float
    high: float
    problem: str


MISSING = "missing; every feature of the schema is required"
NULL = "null is not allowed; this feature had no missing values in training"
NULL_DECLARED = "null is not allowed; the data dictionary says this feature is always given"
NON_FINITE = "expected a finite number"
ABOVE_RANGE = "above the largest value seen in training"
BELOW_RANGE = "below the smallest value seen in training"
UNSEEN_CATEGORY = "a category not seen in training"

_LABEL_KINDS: dict[type, str] = {str: "a string", int: "a number", float: "a number"}
# Unknown names longer than this are not typos of a feature name: no suggestion is looked for.
_SUGGEST_UP_TO = 64
_SUGGESTIONS = 3


def category_types(categories: list[Label] | None) -> frozenset[type]:
    """The Python types a category feature accepts: those of its training categories."""
    if not categories:
        return frozenset({str, int, float, bool})
    found = frozenset(type(c) for c in categories)
    # JSON does not keep 1 and 1.0 apart; accept either for numeric categories.
    if found & {int, float} and bool not in found:
        found |= {int, float}
    return found


def type_bounds(feature: FeatureSpec) -> Bounds | None:
    """The range of a number or integer feature's training type, where JSON can exceed it.

    Integers are held as their recorded type (pandas' nullable ``Int64`` as ``int64``; an
    unknown integer type as ``int64``); floats narrower than ``float64`` by their largest
    finite value. ``None`` when every JSON number fits (``float64`` features).
    """
    try:
        dtype = np.dtype(feature.dtype.lower())
    except TypeError:
        dtype = np.dtype(np.float64)
    if feature.kind == "integer":
        if dtype.kind not in "iu":
            dtype = np.dtype(np.int64)
        info = np.iinfo(dtype)
        return Bounds(int(info.min), int(info.max), dtype.name)
    if feature.kind == "number" and dtype.kind == "f" and dtype.itemsize < 8:
        largest = float(np.finfo(dtype).max)
        return Bounds(-largest, largest, dtype.name)
    return None


def unknown_features(count: int, suggestions: Iterable[str] = ()) -> str:
    """The problem for ``count`` keys that are not features; their names are not repeated."""
    them = "it" if count == 1 else "them"
    found = "an unknown feature" if count == 1 else f"{count} unknown features"
    message = f"{found} (names are not repeated back); this model was not trained on {them}"
    named = list(suggestions)
    if named:
        quoted = " or ".join(f'"{name}"' for name in named)
        message += f"; did you mean {quoted}?"
    return message


def close_features(unknown: Iterable[str], candidates: Collection[str]) -> list[str]:
    """Features (from ``candidates``) that the first few unknown names look like typos of."""
    found: list[str] = []
    for key in islice(unknown, _SUGGESTIONS):
        if len(key) <= _SUGGEST_UP_TO:
            for name in difflib.get_close_matches(key, candidates, n=1, cutoff=0.75):
                if name not in found:
                    found.append(name)
    return found


def null_problem(feature: FeatureSpec) -> str:
    """Why a feature that does not accept null refuses it: its data dictionary says so, or
    nothing showed that the model can do without it."""
    return NULL_DECLARED if "nullable" in feature.declared else NULL


def plausible_limits(feature: FeatureSpec) -> Limits | None:
    """A number or integer feature's plausible limits, or ``None`` when its author gave none
    (limits on other kinds are refused when the model is captured). The problem is the
    packager's text, so the card, ``deployml inspect`` and the 422 word the limits alike."""
    low, high = feature.plausible_min, feature.plausible_max
    if feature.kind not in ("number", "integer") or (low is None and high is None):
        return None
    return Limits(
        -math.inf if low is None else low,
        math.inf if high is None else high,
        limits_problem(feature),
    )


def value_check(feature: FeatureSpec, *, refuse_unseen: bool = False) -> Check:
    """The check for one non-null value of ``feature`` (nulls are handled by the caller);
    with ``refuse_unseen``, a category not seen in training is a problem too."""
    kind = feature.kind
    if kind in ("number", "integer"):
        check: Check = _number if kind == "number" else _integer
        # The author's limits are checked before the type's range, which they lie within:
        # a value beyond both is told the limits, the reason that helps the client.
        limits = plausible_limits(feature)
        if limits is not None:
            check = _bounded(check, *limits)
        bounds = type_bounds(feature)
        if bounds is None:
            return check
        outside = f"outside the range of this feature's type ({bounds.type_name})"
        return _bounded(check, bounds.low, bounds.high, outside)
    if kind == "boolean":
        return _boolean
    if kind == "string":
        return _string
    seen = frozenset(feature.categories or ()) if refuse_unseen and feature.categories else None
    return _category(category_types(feature.categories), seen)


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


def _bounded(check: Check, low: float, high: float, outside: str) -> Check:
    """``check``, then ``outside`` for a value beyond ``low``..``high`` (compared exactly)."""

    def bounded(value: object) -> str | None:
        problem = check(value)
        if problem is None and not low <= value <= high:  # type: ignore[operator]
            return outside
        return problem

    return bounded


def _boolean(value: object) -> str | None:
    if type(value) is bool:
        return None
    return f"expected true or false, got {kind_of(value)}"


def _string(value: object) -> str | None:
    if type(value) is str:
        return None
    return f"expected a string, got {kind_of(value)}"


def _category(accepted: frozenset[type], seen: frozenset[Label] | None) -> Check:
    names = sorted({_LABEL_KINDS.get(t, "a boolean") for t in accepted})
    expected = f"expected a category ({' or '.join(names)})"

    def check(value: object) -> str | None:
        kind = type(value)
        if kind in accepted:
            if kind is float and not math.isfinite(value):  # type: ignore[arg-type]
                return NON_FINITE
            if seen is not None and value not in seen:
                return UNSEEN_CATEGORY
            return None
        return f"{expected}, got {kind_of(value)}"

    return check
