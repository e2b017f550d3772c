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

# Up to this many rows, every value is compared with every edge of its feature in one call;
# above it, one comparison of the whole matrix per edge uses less memory and time.
BROADCAST_UP_TO = 64


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
        self._counting = np.int8 if width < np.iinfo(np.int8).max else np.intp
        self._offsets = np.array([offset for _, _, _, offset in numbers], dtype=np.intp)
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
                values = matrix[:, self._columns]
            else:
                assert columns is not None
                picked = [columns[name] for name in self._number_names]
                values = np.array(picked, dtype=np.float64).reshape(len(picked), rows).T
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
        """Slot counts of a matrix of rows by number features (null as NaN)."""
        if values.shape[0] <= BROADCAST_UP_TO:
            below = (values[:, :, None] > self._padded[None, :, :]).sum(axis=2)
        else:
            # One comparison of the whole matrix per edge, added up in bytes when the edges
            # fit (deciles: 9): a third of the time of a searchsorted per column.
            below = np.zeros(values.shape, dtype=self._counting)
            for edge in self._padded.T:
                np.add(below, values > edge, out=below, casting="unsafe")
        counts = np.bincount((below + self._offsets).ravel(), minlength=self.size)
        # NaN exceeds no edge, so nulls were counted in each feature's first bin: move them.
        nulls = np.isnan(values).sum(axis=0)
        counts[self._offsets] -= nulls
        counts[self._missing] += nulls
        return counts
