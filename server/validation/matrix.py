"""The fast path for schemas of numbers only: one float matrix per batch, checked with numpy.

Most clinical models take numbers only. For them a batch becomes a single ``float64``
matrix in training order (null becomes NaN), which also feeds the model without building
one array per column. :meth:`NumericMatrix.build` gives up (returns ``None``) whenever a
value needs a closer look (a null where none is allowed, a value beyond its type or its
plausible limits), and the caller then checks value by value with the shared per-value
checks, so the messages stay the same on every path.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import NoneType
from typing import Any

import numpy as np

from packager.artefact import FeatureSpec
from server.errors import Detail
from server.validation import checks
from server.validation.imputed import NONE, imputed_from_matrix

__all__ = ["NumericMatrix"]


class NumericMatrix:
    """Builds and range-checks the float matrix of an all-number schema."""

    def __init__(self, features: Sequence[FeatureSpec]) -> None:
        self.names = [f.name for f in features]
        self.nullable = np.array([f.nullable for f in features], dtype=bool)
        self.lows = np.array([np.nan if f.min is None else f.min for f in features])
        self.highs = np.array([np.nan if f.max is None else f.max for f in features])
        self.accepted = frozenset({int, float} | ({NoneType} if self.nullable.any() else set()))
        # Features held as float32 (or narrower) overflow to inf above their largest value.
        bounds = [checks.type_bounds(f) for f in features]
        self.largest = np.array([np.inf if b is None else b.high for b in bounds])
        self.narrow = any(b is not None for b in bounds)
        limits = [checks.plausible_limits(f) for f in features]
        self.plausible_lows = np.array([-np.inf if p is None else p.low for p in limits])
        self.plausible_highs = np.array([np.inf if p is None else p.high for p in limits])
        self.limited = any(p is not None for p in limits)

    @staticmethod
    def applies_to(features: Sequence[FeatureSpec]) -> bool:
        """Whether every feature is a number, so a float matrix holds the whole batch."""
        return bool(features) and all(f.kind == "number" for f in features)

    def build(self, flat: list[Any], rows: int, *, by_column: bool = False) -> np.ndarray | None:
        """The batch (values row after row, or ``by_column`` column after column) as a
        matrix, or None if some value is not a finite number that fits its feature's type,
        or an allowed null."""
        kinds = set(map(type, flat))
        if not kinds <= self.accepted:
            return None
        values = np.array(flat, dtype=np.float64)
        if by_column:
            matrix = np.ascontiguousarray(values.reshape(len(self.names), rows).T)
        else:
            matrix = values.reshape(rows, len(self.names))
        if not self.passes(matrix):
            return None
        # A NaN must come from a null (orjson yields no NaN, but other readers might).
        nans = int(np.isnan(matrix).sum())
        if nans and nans != flat.count(None):
            return None
        return matrix

    def passes(self, matrix: np.ndarray) -> bool:
        """Whether every value of a float matrix (null as NaN) is finite, fits its feature's
        type and plausible limits, and is NaN only where the feature takes null."""
        if not self.nullable.any():
            # One pass finds both: no NaN is allowed, and no infinity.
            if not np.isfinite(matrix).all():
                return False
        elif np.isinf(matrix).any() or (
            not self.nullable.all() and np.isnan(matrix[:, ~self.nullable]).any()
        ):
            return False
        if self.narrow and (np.abs(matrix) > self.largest).any():
            return False
        return not self.limited or not (
            (matrix < self.plausible_lows).any() or (matrix > self.plausible_highs).any()
        )

    def imputed(self, matrix: np.ndarray) -> list[list[str]]:
        """Per row, the features sent as null (NaN in the matrix), in feature order."""
        if not self.nullable.any():
            return [NONE] * len(matrix)
        return imputed_from_matrix(matrix, self.names)

    def warnings(self, matrix: np.ndarray) -> list[Detail]:
        """Per-row warnings for values outside the training range, row by row in feature order."""
        below = matrix < self.lows  # NaN (null, or no recorded bound) compares False
        above = matrix > self.highs
        outside = below | above
        if not outside.any():  # the usual batch: 3 µs to say so, against 440 µs for nonzero
            return []
        rows, columns = np.nonzero(outside)
        return [
            {
                "row": int(row),
                "feature": self.names[column],
                "problem": checks.BELOW_RANGE if below[row, column] else checks.ABOVE_RANGE,
            }
            for row, column in zip(rows.tolist(), columns.tolist(), strict=True)
        ]
