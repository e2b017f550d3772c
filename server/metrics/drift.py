"""``GET /drift``: each feature's population stability index (PSI) of its live rows, summed
over every worker, against its training bins.

PSI = Σ (live - training proportion) · ln(live / training proportion) over a feature's bins
(``packager.artefact.population_stability``). Read by the usual rule of thumb: below 0.1
stable, 0.1 to 0.25 a moderate shift, above 0.25 a major one. Below ``MIN_LIVE_ROWS`` live
rows the index is mostly noise, and the feature's status says so.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from prometheus_client import CollectorRegistry

from packager.artefact import population_stability
from server.metrics.live_bins import BIN_METRIC
from server.metrics.observer import Metrics

__all__ = ["MAJOR_ABOVE", "MIN_LIVE_ROWS", "STABLE_BELOW", "drift_report", "drift_status"]

# Live rows below which a feature's PSI is reported but not judged.
MIN_LIVE_ROWS = 100
STABLE_BELOW = 0.1
MAJOR_ABOVE = 0.25
TOO_FEW = "too few rows"
NOT_RECORDED = (
    "drift bins were not recorded in this artefact (manifest format before 4.1); package the "
    "model again with this deployml to record them"
)


def drift_status(psi: float, live_rows: int) -> str:
    """The verdict on one feature's index."""
    if live_rows < MIN_LIVE_ROWS:
        return TOO_FEW
    if psi < STABLE_BELOW:
        return "stable"
    if psi <= MAJOR_ABOVE:
        return "moderate"
    return "major"


def drift_report(metrics: Metrics, registry: CollectorRegistry) -> dict[str, Any]:
    """The /drift answer (without the model): per feature its PSI, status, row counts and
    each bin's training and live proportions."""
    recorded = metrics.bins.drift
    if not recorded:
        return {"recorded": False, "message": NOT_RECORDED, "features": {}}
    live = live_counts(registry)
    features: dict[str, Any] = {}
    for name, bins in recorded.items():
        counts = live.get(name, {})
        actual = [int(counts.get(label, 0.0)) for label in bins.labels]
        features[name] = _feature(bins.labels, list(bins.counts), actual)
    return {
        "recorded": True,
        "min_live_rows": MIN_LIVE_ROWS,
        "thresholds": {"stable_below": STABLE_BELOW, "major_above": MAJOR_ABOVE},
        "features": features,
    }


def live_counts(registry: CollectorRegistry) -> dict[str, dict[str, float]]:
    """The live rows of each feature's bins, from a registry (every worker's, when exposed)."""
    found: dict[str, dict[str, float]] = defaultdict(dict)
    for family in registry.collect():
        if family.name != BIN_METRIC:
            continue
        for sample in family.samples:
            if sample.name == BIN_METRIC + "_total":
                found[sample.labels["feature"]][sample.labels["bin"]] = sample.value
    return found


def _feature(labels: list[str], expected: list[int], actual: list[int]) -> dict[str, Any]:
    training_rows, live_rows = sum(expected), sum(actual)
    psi = population_stability(expected, actual) if live_rows else None
    return {
        "psi": None if psi is None else round(float(psi), 6),
        "status": TOO_FEW if psi is None else drift_status(float(psi), live_rows),
        "live_rows": live_rows,
        "training_rows": training_rows,
        "bins": [
            {
                "bin": label,
                "training": _share(count, training_rows),
                "live": _share(seen, live_rows),
            }
            for label, count, seen in zip(labels, expected, actual, strict=True)
        ],
    }


def _share(count: float, total: float) -> float:
    return round(count / total, 6) if total else 0.0
