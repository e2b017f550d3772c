"""Calibration: do the predicted probabilities match how often the positive class occurs?

The rows are sorted by score and cut into (at most) ten bins of nearly equal size (quantile
bins); each bin records the mean predicted probability, the observed share of positive rows
and its row count. Equal counts keep every bin's observed share as precise as the others, and
ties (many scores of exactly 0 or 1) cannot empty a bin, as they can with fixed quantile edges.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from packager.evaluation.scored import Scored

__all__ = ["CALIBRATION_BINS", "calibration_bins", "calibration_curve"]

CALIBRATION_BINS = 10


def calibration_curve(scored: Scored, n_bins: int = CALIBRATION_BINS) -> dict[str, Any] | None:
    """The quantile-binned calibration curve of a binary classifier (None without scores)."""
    if scored.proba is None or scored.task != "binary" or len(scored) == 0:
        return None
    bins = calibration_bins(scored.positive, scored.score, n_bins)
    return {"strategy": "quantile", "bins": bins}


def calibration_bins(
    positive: np.ndarray, score: np.ndarray, n_bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """``n_bins`` (fewer when fewer rows) equal-count bins of rows sorted by ``score``."""
    order = np.argsort(score, kind="stable")
    bins = np.array_split(order, min(n_bins, len(order)))
    return [
        {
            "mean_predicted": float(np.mean(score[rows])),
            "observed": float(np.mean(positive[rows])),
            "n": len(rows),
        }
        for rows in bins
    ]
