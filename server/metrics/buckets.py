"""Many observations of a Prometheus histogram at once, counted with numpy.

prometheus-client's ``Histogram.observe`` takes one value: a 10,000-row batch would be
10,000 calls, each a lock and, in multiprocess mode, a write to a shared file. A
:class:`BulkHistogram` finds every value's bucket with one ``np.searchsorted`` and adds to
each bucket that got values once, so the histogram ends as it would after ``observe`` value by
value: the same bucket counts, count and sum. Non-finite values (a model's NaN probability)
are left out, where ``observe`` would have turned the sum into NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from prometheus_client import Histogram

__all__ = ["BulkHistogram"]


class BulkHistogram:
    """Adds a batch of values to one histogram (a labelled histogram's child, or one without
    labels)."""

    def __init__(self, histogram: Histogram) -> None:
        # prometheus-client keeps the bucket counts uncumulated, one value per upper bound
        # ("le": a value lands in the first bucket whose bound it does not exceed).
        self._bounds = np.asarray(histogram._upper_bounds, dtype=np.float64)
        self._buckets: list[Any] = histogram._buckets
        self._sum: Any = histogram._sum

    def observe_many(self, values: np.ndarray) -> None:
        """Observe every finite value of ``values`` (any shape)."""
        finite = values[np.isfinite(values)] if values.size else values
        if not finite.size:
            return
        if finite.size == 1:
            value = float(finite[0])
            self._sum.inc(value)
            self._buckets[int(np.searchsorted(self._bounds, value))].inc(1)
            return
        counts = np.bincount(np.searchsorted(self._bounds, finite), minlength=self._bounds.size)
        for bucket in np.flatnonzero(counts).tolist():
            self._buckets[bucket].inc(int(counts[bucket]))
        self._sum.inc(float(finite.sum()))
