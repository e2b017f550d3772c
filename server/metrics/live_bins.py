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

from packager.artefact import FeatureBins
from server.metrics.binning import BinTable
from server.validation import Batch

__all__ = ["BIN_METRIC", "LiveBins"]

BIN_METRIC = "deployml_feature_bin"


class LiveBins:
    """The live bin counters of every feature with recorded bins, and their training shares."""

    def __init__(
        self,
        drift: Mapping[str, FeatureBins] | None,
        features: Sequence[str],
        registry: CollectorRegistry,
    ) -> None:
        self.drift = {name: bins for name, bins in (drift or {}).items() if name in features}
        live = Counter(
            BIN_METRIC,
            "Live rows counted into each feature's training bins.",
            ["feature", "bin"],
            registry=registry,
        )
        expected = Gauge(
            BIN_METRIC + "_expected_ratio",
            "Each training bin's share of the training rows.",
            ["feature", "bin"],
            multiprocess_mode="max",
            registry=registry,
        )
        for name, bins in self.drift.items():
            total = sum(bins.counts) or 1
            for label, count in zip(bins.labels, bins.counts, strict=True):
                expected.labels(name, label).set(count / total)
        self._table = BinTable(self.drift, features)
        self._counters: list[Any] = [live.labels(*slot) for slot in self._table.labels]

    def count(self, batch: Batch) -> None:
        """Count the batch's rows into each feature's bins (one ``inc`` per bin with rows)."""
        if not self._counters:
            return
        counts = self._table.count(batch.rows, batch.matrix, batch.columns)
        for slot in np.flatnonzero(counts).tolist():
            self._counters[slot].inc(int(counts[slot]))
