"""The floor: the estimator's own ``predict`` timed in-process on a ready DataFrame.

No HTTP, no JSON, no DataFrame construction: what is left when serving costs nothing. For a
classifier ``predict_proba`` is timed too, since both servers return probabilities.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from models import Reference


def _median_seconds(call: Callable[[], Any], repeats: int, min_total_s: float) -> float:
    call()  # warm caches and any lazily built state before timing
    times: list[float] = []
    began = time.perf_counter()
    while len(times) < repeats or time.perf_counter() - began < min_total_s:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
        if time.perf_counter() - began > 10 * max(min_total_s, 1.0):
            break  # bounded even for a slow model
    return statistics.median(times)


def median_us(call: Callable[[], Any], min_seconds: float = 1.0, min_calls: int = 20) -> float:
    """The median microseconds of ``call``, over at least ``min_calls`` calls and
    ``min_seconds`` (bounded for a slow call)."""
    return _median_seconds(call, min_calls, min_seconds) * 1e6


def time_model(ref: Reference, one: pd.DataFrame, batch: pd.DataFrame) -> dict[str, Any]:
    """Median single-row latency and 10,000-row throughput of predict (and predict_proba)."""
    model = ref.estimator

    def both(frame: pd.DataFrame) -> Callable[[], Any]:
        if ref.is_classifier:
            return lambda: (model.predict(frame), model.predict_proba(frame))
        return lambda: model.predict(frame)

    one_predict = _median_seconds(lambda: model.predict(one), repeats=200, min_total_s=1.0)
    one_both = _median_seconds(both(one), repeats=200, min_total_s=1.0)
    batch_predict = _median_seconds(lambda: model.predict(batch), repeats=5, min_total_s=1.0)
    batch_both = _median_seconds(both(batch), repeats=5, min_total_s=1.0)
    return {
        "one_row_predict_ms": one_predict * 1000,
        "one_row_with_proba_ms": one_both * 1000,
        "one_row_per_s": 1 / one_both,
        "batch_rows": len(batch),
        "batch_predict_ms": batch_predict * 1000,
        "batch_with_proba_ms": batch_both * 1000,
        "batch_rows_per_s": len(batch) / batch_both,
    }
