"""Every feature's training bins as one vector of counts, filled from a batch in a few numpy
calls.

``FeatureBins.count`` (packager) counts one feature; a request's cost would then grow with
its features (a numpy call or three each, some microseconds even for one row). A
:class:`BinTable` lays every feature's bins end to end and counts a whole batch at once: its
number features as one float matrix (each value's bin is how many of its feature's edges lie
below it, the ``searchsorted(edges, value, "left")`` of ``FeatureBins.count``; null is
``missing``), its categories with one ``Counter`` per column (a category seen in training, else
``other``, or ``missing``). The result is exactly ``FeatureBins.count`` of each feature, side
by side (a test checks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from packager.artefact import FeatureBins

__all__ = ["BROADCAST_UP_TO", "BinTable"]

# Up to this many rows, every value is compared with every edge of its feature in one call
# (for 30 features of 10 bins: 32 µs for 100 rows, where one call per feature and edge takes
# 230 µs); above it, one call per feature and edge uses less memory and is as fast.
BROADCAST_UP_TO = 2048


class BinTable:
    """The bins of every binned feature, end to end: ``labels`` is (feature, bin) per slot."""

    def __init__(self, drift: Mapping[str, FeatureBins], features: Sequence[str]) -> None:
        order = {name: column for column, name in enumerate(features)}
        self.labels: list[tuple[str, str]] = []
        numbers: list[tuple[str, int, FeatureBins, int]] = []
        # (feature, its slots' offset, category -> bin, "other" bin, "missing" bin)
        self._categories: list[tuple[str, int, dict[Any, int], int, int]] = []
        for name, bins in drift.items():
            if name not in order:
                continue
            offset = len(self.labels)
            self.labels.extend((name, label) for label in bins.labels)
            missing = offset + len(bins.labels) - 1
            if bins.kind == "number":
                numbers.append((name, order[name], bins, offset))
            else:
                known = {value: offset + i for i, value in enumerate(bins.categories)}
                self._categories.append((name, offset, known, missing - 1, missing))
        self.size = len(self.labels)
        self._number_names = [name for name, _, _, _ in numbers]
        self._columns = np.array([column for _, column, _, _ in numbers], dtype=np.intp)
        width = max((len(bins.edges) for _, _, bins, _ in numbers), default=0)
        # Padded with +inf, which no value exceeds: a short feature's padding never counts.
        self._padded = np.full((len(numbers), width), np.inf)
        for row, (_, _, bins, _) in enumerate(numbers):
            self._padded[row, : len(bins.edges)] = bins.edges
        self._edges = [[float(edge) for edge in bins.edges] for _, _, bins, _ in numbers]
        # Where each number bin's count goes (its slot) and where it is found in the
        # edges-by-features table of bin counts (row: the bin, column: the feature).
        self._slots = np.array(
            [offset + i for _, _, bins, offset in numbers for i in range(len(bins.edges) + 1)],
            dtype=np.intp,
        )
        self._picks = np.array(
            [
                i * len(numbers) + j
                for j, (_, _, bins, _) in enumerate(numbers)
                for i in range(len(bins.edges) + 1)
            ],
            dtype=np.intp,
        )
        self._missing = np.array(
            [offset + len(bins.labels) - 1 for _, _, bins, offset in numbers], dtype=np.intp
        )

    def count(
        self, rows: int, matrix: np.ndarray | None, columns: Mapping[str, Sequence[Any]] | None
    ) -> np.ndarray:
        """The batch's rows per slot: from its float matrix (all-number schemas) or columns."""
        counts = np.zeros(self.size, dtype=np.int64)
        if self._number_names:
            if matrix is not None:
                values = np.ascontiguousarray(matrix[:, self._columns].T)
            else:
                assert columns is not None
                picked = [columns[name] for name in self._number_names]
                values = np.array(picked, dtype=np.float64).reshape(len(picked), rows)
            counts += self._count_numbers(values)
        if self._categories:
            assert columns is not None, "a float matrix holds numbers only"
            for name, _, known, other, missing in self._categories:
                for value, n in Counter(columns[name]).items():
                    if value is None:
                        counts[missing] += n
                    else:
                        counts[known.get(value, other)] += n
        return counts

    def _count_numbers(self, values: np.ndarray) -> np.ndarray:
        """Slot counts of a matrix of number features by rows (null as NaN), each feature's
        values side by side in memory (comparisons and counts run along them)."""
        features, rows = values.shape
        if rows <= BROADCAST_UP_TO:
            greater = (values[:, None, :] > self._padded[:, :, None]).sum(axis=2).T
        else:
            # One feature's values against one edge at a time, into one reused buffer:
            # count_nonzero of a whole vector is several times faster than along an axis.
            greater = np.zeros(self._padded.shape[::-1], dtype=np.intp)
            buffer = np.empty(rows, dtype=bool)
            for feature, edges in enumerate(self._edges):
                column = values[feature]
                for k, edge in enumerate(edges):
                    np.greater(column, edge, out=buffer)
                    greater[k, feature] = np.count_nonzero(buffer)
        nulls = np.isnan(values).sum(axis=1)  # NaN exceeds no edge: only "missing" has them
        # Rows above each edge, from "every row with a value" down to "none": the differences
        # of neighbours are each bin's rows (a padded +inf edge has none above it).
        above = np.vstack([rows - nulls, greater, np.zeros(features, dtype=np.intp)])
        per_bin = (above[:-1] - above[1:]).ravel()
        counts = np.zeros(self.size, dtype=np.int64)
        counts[self._slots] = per_bin[self._picks]
        counts[self._missing] = nulls
        return counts
