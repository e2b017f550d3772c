"""Drift without patient data: live rows counted into the training bins the manifest records.

The manifest keeps, per feature, the bins of its training values (deciles' edges, or the
categories) and how many training rows fell in each (``packager.artefact.FeatureBins``). Each
scored batch is counted into the same bins, column by column with numpy (one ``count`` per
feature, one ``inc`` per bin that got rows), as ``deployml_feature_bin_total{feature,bin}``;
``deployml_feature_bin_expected_ratio{feature,bin}`` holds the training proportions, so the
population stability index can be computed in PromQL as well as by ``GET /drift``. Bin labels
are the manifest's (edges and category names from training), never a request's values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge

from server.validation import Batch

__all__ = ["BIN_METRIC", "LiveBins"]

BIN_METRIC = "deployml_feature_bin"


class LiveBins:
    """The live bin counters of every feature with recorded bins."""

    def __init__(
        self, drift: Mapping[str, Any] | None, features: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self.drift = dict(drift or {})
        live = Counter(
            BIN_METRIC,
            "Live rows counted into each feature's training bins.",
            ["feature", "bin"],
            registry=registry,
        )
        expected = Gauge(
            BIN_METRIC + "_expected_ratio",
            "Each training bin's proportion of the training rows.",
            ["feature", "bin"],
            multiprocess_mode="max",
            registry=registry,
        )
        order = {name: column for column, name in enumerate(features)}
        # (feature, its column in a matrix batch, its bins, one counter per bin)
        self._features: list[tuple[str, int, Any, list[Any]]] = []
        for name, bins in self.drift.items():
            if name not in order:
                continue
            total = sum(bins.counts) or 1
            for label, count in zip(bins.labels, bins.counts, strict=True):
                expected.labels(name, label).set(count / total)
            counters = [live.labels(name, label) for label in bins.labels]
            self._features.append((name, order[name], bins, counters))

    def count(self, batch: Batch) -> None:
        """Count the batch's rows into each feature's bins."""
        for name, column, bins, counters in self._features:
            values = batch.matrix[:, column] if batch.matrix is not None else _column(batch, name)
            counts = bins.count(values)
            for index in np.flatnonzero(counts).tolist():
                counters[index].inc(int(counts[index]))


def _column(batch: Batch, name: str) -> Any:
    assert batch.columns is not None
    return batch.columns[name]
