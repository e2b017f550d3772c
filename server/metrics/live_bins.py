"""Drift without patient data: live rows counted into the training bins the manifest records.

The manifest keeps, per feature, the bins of its training values (deciles' edges, or the
categories) and how many training rows fell in each (``packager.artefact.FeatureBins``). Each
scored batch (or many small ones together, see :mod:`server.metrics.observer`) is counted into
the same bins at once (:class:`~server.metrics.binning.BinTable`) and added to counts kept in
the process, which :meth:`LiveBins.flush` moves to ``deployml_feature_bin_total{feature,bin}``
(an increment per bin that got rows, not per feature of each request).
``deployml_feature_bin_expected_ratio`` holds the training shares and
``deployml_feature_training_rows`` their number of rows, so that PromQL can compute the
population stability index as ``GET /drift`` does, smoothing included. Bin labels are the
manifest's (rounded edges and training categories), never a request's values.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from itertools import chain
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
        training = Gauge(
            "deployml_feature_training_rows",
            "Training rows counted into each feature's bins (what PSI's smoothing needs).",
            ["feature"],
            multiprocess_mode="max",
            registry=registry,
        )
        for name, bins in self.drift.items():
            total = sum(bins.counts)
            training.labels(name).set(total)
            for label, count in zip(bins.labels, bins.counts, strict=True):
                expected.labels(name, label).set(count / (total or 1))
        self._table = BinTable(self.drift, features)
        self._counters: list[Any] = [live.labels(*slot) for slot in self._table.labels]
        self._pending = np.zeros(self._table.size, dtype=np.int64)
        self._lock = threading.Lock()

    def count(self, batches: Sequence[Batch]) -> None:
        """Count the batches' rows into each feature's bins, as one batch (those of a float
        matrix apart); the counts reach Prometheus when flushed."""
        if not self._counters or not batches:
            return
        counts = np.zeros(self._table.size, dtype=np.int64)
        matrices = [batch.matrix for batch in batches if batch.matrix is not None]
        if matrices:
            merged = np.concatenate(matrices) if len(matrices) > 1 else matrices[0]
            counts += self._table.count(merged.shape[0], merged, None)
        tables = [batch.columns for batch in batches if batch.columns is not None]
        if tables:
            columns = (
                {
                    name: list(chain.from_iterable(table[name] for table in tables))
                    for name in tables[0]
                }
                if len(tables) > 1
                else tables[0]
            )
            rows = sum(batch.rows for batch in batches if batch.columns is not None)
            counts += self._table.count(rows, None, columns)
        with self._lock:
            self._pending += counts

    def flush(self) -> None:
        """Move the counts kept in this process to the Prometheus counters."""
        with self._lock:
            pending, self._pending = self._pending, np.zeros_like(self._pending)
        for slot in np.flatnonzero(pending).tolist():
            self._counters[slot].inc(int(pending[slot]))
