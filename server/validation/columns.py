"""The column path for large batches: a whole column judged at once where it can be.

A column passes in a few set operations when its JSON kinds are all acceptable, its
numbers lie within the type's range and the plausible limits (compared at its extremes),
and, where unseen categories are refused, its values are all categories seen in training.
Any other column is checked value by value with the very checks the row path calls, so both
paths word the same problems.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from types import NoneType
from typing import Any

import numpy as np

from packager.artefact import FeatureSpec
from server.errors import LISTED, MAX_DETAILS, Detail
from server.validation import checks

__all__ = ["ColumnChecks"]

Kinds = Mapping[str, set[type]]


class ColumnChecks:
    """Checks the columns of a regular batch (every row holding every feature)."""

    def __init__(
        self,
        features: Sequence[FeatureSpec],
        value_checks: Mapping[str, checks.Check],
        refused_categories: Mapping[str, frozenset[Any]],
    ) -> None:
        self.features = features
        self._checks = value_checks
        self._order = {f.name: i for i, f in enumerate(features)}
        self._fast = {f.name: _fast_types(f) for f in features}
        # Where any finite float passes the kind check (an integer's must also be whole).
        self._floats = {
            f.name
            for f in features
            if f.kind == "number"
            or (f.kind == "category" and float in checks.category_types(f.categories))
        }
        self._extremes = {f.name: _extremes(f) for f in features}
        self._refused = refused_categories

    def first_problems(self, columns: Mapping[str, Sequence[Any]], kinds: Kinds) -> list[Detail]:
        """Problems by row then feature; each column stops at one more than can be listed."""
        found: list[Detail] = []
        for name, problems in self._problems(columns, kinds):
            found.extend(_details(name, islice(problems, MAX_DETAILS + 1)))
        # The first problems by row come from the first of each column's problems.
        found.sort(key=self._key)
        return found

    def refusals(
        self, columns: Mapping[str, Sequence[Any]], kinds: Kinds, limit: int | None = LISTED
    ) -> tuple[list[int], list[Detail]]:
        """Every row with a problem, and the first ``limit`` problems (default: one more
        than can be listed; None: every problem)."""
        refused: set[int] = set()
        found: list[Detail] = []
        for name, problems in self._problems(columns, kinds):
            every = list(problems)
            refused.update(row for row, _ in every)
            found.extend(_details(name, every[:limit]))
        found.sort(key=self._key)
        return sorted(refused), found[:limit]

    def _problems(
        self, columns: Mapping[str, Sequence[Any]], kinds: Kinds
    ) -> Iterator[tuple[str, Iterator[tuple[int, str]]]]:
        """Each failing column's name and (row, problem) pairs, lazily, in row order."""
        for feature in self.features:
            name = feature.name
            column = columns[name]
            if not self._passes(name, column, kinds[name]):
                yield name, _column_problems(feature, column, self._checks[name])

    def _passes(self, name: str, column: Sequence[Any], kinds: set[type]) -> bool:
        """Whether a whole column is acceptable, judged from its kinds and its extremes."""
        fast = self._fast[name]
        if not kinds <= fast and not (
            name in self._floats and kinds <= fast | {float} and _all_finite(column)
        ):
            return False
        extremes = self._extremes[name]
        if extremes is not None and not _within(column, *extremes):
            return False
        seen = self._refused.get(name)
        return seen is None or set(column) - {None} <= seen

    def _key(self, detail: Detail) -> tuple[int, int]:
        return int(detail["row"]), self._order[str(detail["feature"])]  # type: ignore[call-overload]


def _fast_types(feature: FeatureSpec) -> frozenset[type]:
    """JSON kinds that need no per-value look (floats need a finiteness check elsewhere)."""
    kinds = {
        "number": frozenset({int}),
        "integer": frozenset({int}),
        "boolean": frozenset({bool}),
        "string": frozenset({str}),
    }.get(feature.kind)
    if kinds is None:
        kinds = checks.category_types(feature.categories) - {float}
    return kinds | {NoneType} if feature.nullable else kinds


def _extremes(feature: FeatureSpec) -> tuple[float, float] | None:
    """The narrowest of the type's range and the plausible limits, or None for neither."""
    low, high = -math.inf, math.inf
    for bounds in (checks.type_bounds(feature), checks.plausible_limits(feature)):
        if bounds is not None:
            low, high = max(low, bounds[0]), min(high, bounds[1])
    return None if (low, high) == (-math.inf, math.inf) else (low, high)


def _all_finite(column: Sequence[Any]) -> bool:
    """Whether the numbers are finite; nulls (NaN once converted) are counted apart."""
    # orjson never yields inf or NaN, but a float column is cheap to make sure of.
    values = np.asarray(column, dtype=np.float64)
    return not np.isinf(values).any() and int(np.isnan(values).sum()) == column.count(None)


def _column_problems(
    feature: FeatureSpec, column: Sequence[Any], check: checks.Check
) -> Iterator[tuple[int, str]]:
    """Each (row, problem) of a column, lazily, in row order."""
    null = None if feature.nullable else checks.null_problem(feature)
    for row, value in enumerate(column):
        problem = null if value is None else check(value)
        if problem is not None:
            yield row, problem


def _details(name: str, problems: Iterable[tuple[int, str]]) -> list[Detail]:
    return [{"row": row, "feature": name, "problem": problem} for row, problem in problems]


def _within(column: Sequence[Any], low: float, high: float) -> bool:
    """Whether every number of the column lies in ``low``..``high`` (compared exactly)."""
    present = [v for v in column if v is not None] if None in column else column
    return not present or (low <= min(present) and max(present) <= high)
