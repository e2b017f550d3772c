"""Calibration bins: equal-count quantile bins whose counts add up to the rows."""

from __future__ import annotations

import numpy as np
import pytest

from packager.evaluation import Scored, calibration_bins, calibration_curve


@pytest.mark.parametrize("rows", [1, 4, 10, 37, 500])
def test_calibration_bins_sum_to_the_rows_and_number_ten_at_most(rows: int) -> None:
    rng = np.random.default_rng(rows)
    score = rng.random(rows)
    positive = rng.random(rows) < score
    bins = calibration_bins(positive, score)
    assert len(bins) == min(10, rows)
    assert sum(b["n"] for b in bins) == rows
    assert max(b["n"] for b in bins) - min(b["n"] for b in bins) <= 1
    means = [b["mean_predicted"] for b in bins]
    assert means == sorted(means)
    observed = sum(b["observed"] * b["n"] for b in bins)
    assert observed == pytest.approx(positive.sum())


def test_tied_scores_still_fill_every_bin() -> None:
    score = np.array([0.0] * 60 + [1.0] * 40)
    positive = np.arange(100) % 2 == 0
    bins = calibration_bins(positive, score)
    assert len(bins) == 10 and all(b["n"] == 10 for b in bins)
    assert [b["mean_predicted"] for b in bins] == [0.0] * 6 + [1.0] * 4


def test_calibration_counts_the_positive_class() -> None:
    y = np.array(["a", "b", "b", "a"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
    for positive, column in (("b", 1), ("a", 0)):
        curve = calibration_curve(Scored("binary", y, y.copy(), proba, ("a", "b"), positive))
        assert curve is not None and curve["strategy"] == "quantile"
        predicted = sorted(proba[:, column])
        assert [b["mean_predicted"] for b in curve["bins"]] == predicted
        assert [b["observed"] for b in curve["bins"]] == [0.0, 0.0, 1.0, 1.0]
    assert calibration_curve(Scored("binary", y, y.copy(), None, ("a", "b"), "b")) is None
