"""Values unlike anything seen in training: numbers outside the range, unseen categories.

Both are per-row warnings, because the model still answers but is being asked about
something it never saw. Where unseen categories are refused instead (features whose model
cannot score them, found at start-up, or strict mode), the per-value checks have already
refused them with the other problems (:mod:`server.validation.checks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from packager.artefact import FeatureSpec
from server.errors import Detail
from server.validation import checks

__all__ = ["WARNING_KINDS", "Novelty"]

# Each warning's problem and its kind as the metrics count it (a small fixed set of labels).
WARNING_KINDS = {
    checks.BELOW_RANGE: "below_range",
    checks.ABOVE_RANGE: "above_range",
    checks.UNSEEN_CATEGORY: "unseen_category",
}


class Novelty:
    """Finds out-of-range numbers and unseen categories in validated columns."""

    def __init__(
        self, features: Sequence[FeatureSpec], *, refused: Iterable[str], vectorise_from: int
    ) -> None:
        self.features = features
        self.vectorise_from = vectorise_from
        self._order = {f.name: i for i, f in enumerate(features)}
        refused = frozenset(refused)
        # Refused unseen categories never reach here: the checks turned them away.
        self._categories = {
            f.name: frozenset(f.categories)
            for f in features
            if f.kind == "category" and f.categories and f.name not in refused
        }

    def find(self, columns: Mapping[str, Sequence[Any]], rows: int) -> list[Detail]:
        """Warnings row by row in feature order."""
        warnings: list[Detail] = []
        for feature in self.features:
            name, column = feature.name, columns[feature.name]
            if feature.kind in ("number", "integer"):
                for row, problem in _out_of_range(feature, column, rows >= self.vectorise_from):
                    warnings.append({"row": row, "feature": name, "problem": problem})
            elif name in self._categories:
                unseen = checks.UNSEEN_CATEGORY
                for row in _unseen(column, self._categories[name]):
                    warnings.append({"row": row, "feature": name, "problem": unseen})
        warnings.sort(key=self._key)
        return warnings

    def _key(self, detail: Detail) -> tuple[int, int]:
        return int(str(detail["row"])), self._order[str(detail["feature"])]


def _out_of_range(
    feature: FeatureSpec, column: Sequence[Any], vectorised: bool
) -> list[tuple[int, str]]:
    low, high = feature.min, feature.max
    if low is None and high is None:
        return []
    if vectorised:
        values = np.asarray(column, dtype=np.float64)  # None becomes NaN, which compares False
        below = np.flatnonzero(values < low).tolist() if low is not None else []
        above = np.flatnonzero(values > high).tolist() if high is not None else []
        found = [(r, checks.BELOW_RANGE) for r in below] + [(r, checks.ABOVE_RANGE) for r in above]
        return sorted(found)
    found = []
    for row, value in enumerate(column):
        if value is None:
            continue
        if low is not None and value < low:
            found.append((row, checks.BELOW_RANGE))
        elif high is not None and value > high:
            found.append((row, checks.ABOVE_RANGE))
    return found


def _unseen(column: Sequence[Any], categories: frozenset[Any]) -> list[int]:
    if set(column) <= categories | {None}:
        return []
    return [
        row for row, value in enumerate(column) if value is not None and value not in categories
    ]
