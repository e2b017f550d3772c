"""Drift without patient data: live rows counted into the training bins the manifest records.

The manifest keeps, per feature, the bins of its training values (deciles' edges, or the
categories) and how many training rows fell in each (``packager.artefact.FeatureBins``). Each
scored batch is counted into the same bins at once (:class:`~server.metrics.binning.BinTable`)
and added to counts kept in the process; a thread of each worker moves them to
``deployml_feature_bin_total{feature,bin}`` every ``FLUSH_SECONDS`` (and /metrics and /drift
first move the answering worker's own), so that a one-row request pays one numpy addition
instead of a Prometheus increment per feature. ``deployml_feature_bin_expected_ratio`` holds
the training shares, so the population stability index can be computed in PromQL as well as
by ``GET /drift``. Bin labels are the manifest's (rounded edges and training categories),
never a request's values.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge

from packager.artefact import FeatureBins
from server.metrics.binning import BinTable
from server.validation import Batch

__all__ = ["BIN_METRIC", "FLUSH_SECONDS", "LiveBins"]

BIN_METRIC = "deployml_feature_bin"
# How long live bin counts may wait in a worker before a scrape sees them. A worker killed
# outright (SIGKILL, out of memory) loses at most this long's counts; one that stops loses none.
FLUSH_SECONDS = 1.0
# Batches up to this many rows wait to be counted with others; larger ones are counted at
# once (their numpy calls cost little per row).
SMALL_BATCH = 64
# Waiting rows that make the request adding to them count them all (a bound on memory).
MAX_WAITING_ROWS = 4096


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
        self._pending = np.zeros(self._table.size, dtype=np.int64)
        self._lock = threading.Lock()
        self._flusher: int | None = None  # the process whose thread flushes
        # Small batches wait to be counted together: one count of numpy calls for many
        # one-row requests, off their path (held in memory only, at most a second).
        self._waiting: list[Batch] = []
        self._waiting_rows = 0

    def count(self, batch: Batch) -> None:
        """Count the batch's rows into each feature's bins: a large batch now, a small one
        with the others waiting (the counts reach Prometheus when flushed)."""
        if not self._counters:
            return
        if batch.rows > SMALL_BATCH:
            counts = self._table.count(batch.rows, batch.matrix, batch.columns)
            with self._lock:
                self._pending += counts
        else:
            with self._lock:
                self._waiting.append(batch)
                self._waiting_rows += batch.rows
                full = self._waiting_rows >= MAX_WAITING_ROWS
            if full:
                self._count_waiting()
        if self._flusher != os.getpid():
            self._start_flushing()

    def flush(self) -> None:
        """Move the counts kept in this process to the Prometheus counters."""
        self._count_waiting()
        with self._lock:
            pending, self._pending = self._pending, np.zeros_like(self._pending)
        for slot in np.flatnonzero(pending).tolist():
            self._counters[slot].inc(int(pending[slot]))

    def _count_waiting(self) -> None:
        """Count the small batches waiting, as one batch (those of a float matrix apart)."""
        with self._lock:
            waiting, self._waiting, self._waiting_rows = self._waiting, [], 0
        if not waiting:
            return
        counts = np.zeros(self._table.size, dtype=np.int64)
        matrices = [batch.matrix for batch in waiting if batch.matrix is not None]
        if matrices:
            merged = np.concatenate(matrices)
            counts += self._table.count(merged.shape[0], merged, None)
        tables = [batch.columns for batch in waiting if batch.columns is not None]
        if tables:
            columns = {
                name: list(chain.from_iterable(table[name] for table in tables))
                for name in tables[0]
            }
            rows = sum(batch.rows for batch in waiting if batch.columns is not None)
            counts += self._table.count(rows, None, columns)
        with self._lock:
            self._pending += counts

    def _start_flushing(self) -> None:
        """A thread of this process flushing every FLUSH_SECONDS (threads do not survive a
        fork, so each worker starts its own with its first batch)."""
        with self._lock:
            if self._flusher == os.getpid():
                return
            self._flusher = os.getpid()
        threading.Thread(target=self._flush_forever, name="deployml-bins", daemon=True).start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()
