"""The bulk histogram adapter: a batch observed at once ends as if observed value by value."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram

from server.metrics import BulkHistogram

BOUNDS = (0.1, 0.25, 0.5, 1.0)


def samples(histogram: Histogram) -> dict[tuple[str, str], float]:
    """Each sample by its suffix (``_bucket``, ``_count``, ``_sum``) and bound."""
    return {
        (sample.name.rsplit("_", 1)[1], sample.labels.get("le", "")): sample.value
        for metric in histogram.collect()
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def pair() -> tuple[Histogram, Histogram]:
    registry = CollectorRegistry()
    one = Histogram("one_by_one", "observe()", buckets=BOUNDS, registry=registry)
    bulk = Histogram("all_at_once", "observe_many()", buckets=BOUNDS, registry=registry)
    return one, bulk


@pytest.mark.parametrize(
    "values",
    [
        [0.3],
        [0.1, 0.25, 0.5, 1.0],  # on the bounds: "le" includes them
        [-3.0, 0.0, 0.1000001, 0.7, 0.7, 0.7, 99.0],
        list(np.random.default_rng(5).normal(0.5, 0.4, 10_000)),
        [],
    ],
)
def test_observing_many_gives_the_buckets_count_and_sum_of_observing_one_by_one(
    values: list[float],
) -> None:
    one, bulk = pair()
    for value in values:
        one.observe(value)
    BulkHistogram(bulk).observe_many(np.asarray(values, dtype=np.float64))
    expected, got = samples(one), samples(bulk)
    assert got.keys() == expected.keys()
    assert got == pytest.approx(expected)


def test_nan_and_infinite_values_are_left_out_instead_of_spoiling_the_sum() -> None:
    _, bulk = pair()
    BulkHistogram(bulk).observe_many(np.array([0.2, np.nan, np.inf, 0.4]))
    got = samples(bulk)
    assert got[("count", "")] == 2
    assert got[("sum", "")] == pytest.approx(0.6)


def test_a_labelled_histograms_child_is_filled_alone() -> None:
    registry = CollectorRegistry()
    histogram = Histogram("scores", "by kind", ["kind"], buckets=BOUNDS, registry=registry)
    BulkHistogram(histogram.labels("a")).observe_many(np.array([0.05, 0.3, 0.3]))
    counts = {
        (s.labels["kind"], s.labels.get("le")): s.value
        for m in registry.collect()
        for s in m.samples
        if s.name == "scores_bucket"
    }
    assert counts[("a", "0.1")] == 1 and counts[("a", "0.5")] == 3 and counts[("a", "+Inf")] == 3
