"""The metrics of one served model, and the counting of each request and each scored batch.

Every label value comes from the schema, the manifest, the model's classes or a fixed set
(the matched route, a standard method, a status code): never from a request's values, so a
patient's value can neither reach a scrape nor grow the number of series. Every labelled
series is made at start-up, so that ``rate()`` starts from zero and no request pays for it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from itertools import chain
from operator import itemgetter

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from packager.artefact import FeatureBins, Outputs
from server.metrics.buckets import BulkHistogram
from server.metrics.live_bins import LiveBins
from server.metrics.requests import RequestCounts
from server.validation import WARNING_KINDS, Batch

__all__ = [
    "DURATION_BUCKETS",
    "FLUSH_SECONDS",
    "SCORE_BUCKETS",
    "SMALL_BATCH",
    "Metrics",
    "ModelFacts",
]

# Seconds: from a one-row answer (a millisecond) to a slow large batch.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Probabilities, in twentieths: fine enough for a score's distribution to show a shift.
SCORE_BUCKETS = tuple(round(i / 20, 2) for i in range(1, 21))
SCORED, REFUSED = "scored", "refused"
# Batches up to this many rows wait in the process to be counted with others; larger ones are
# counted at once (their numpy calls cost little per row).
SMALL_BATCH = 64
# Waiting rows that make the request adding to them count them all (a bound on memory).
MAX_WAITING_ROWS = 4096
# How long counts may wait in a worker before a scrape sees them. A worker killed outright
# (SIGKILL, out of memory) loses at most this long's; one that stops loses none.
FLUSH_SECONDS = 1.0


class ModelFacts:
    """What the metrics need to know of the served model, from its manifest and classes."""

    def __init__(
        self,
        *,
        model: Mapping[str, str],
        features: Sequence[str],
        labels: Sequence[str] | None,
        positive_column: int | None,
        drift: Mapping[str, FeatureBins] | None,
    ) -> None:
        self.model = model
        self.features = list(features)
        self.labels = None if labels is None else list(labels)
        # A binary classifier's positive class's column; None: the top probability is scored.
        self.positive_column = positive_column
        self.drift = drift


class Metrics:
    """The model's metrics in their own registry, and the counting of requests and batches."""

    def __init__(self, facts: ModelFacts) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.facts = facts
        registry = self.registry
        self._requests = Counter(
            "deployml_requests",
            "HTTP requests by matched route (or 'unmatched'), method and status.",
            ["endpoint", "method", "status"],
            registry=registry,
        )
        self._duration = Histogram(
            "deployml_request_duration_seconds",
            "Seconds from a request's first hook to its answer, by matched route.",
            ["endpoint"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        rows = Counter(
            "deployml_rows",
            "Rows scored, and rows refused (whole failed batches and skipped rows).",
            ["outcome"],
            registry=registry,
        )
        self._scored, self._refused = rows.labels(SCORED), rows.labels(REFUSED)
        predictions = Counter(
            "deployml_predictions",
            "Predicted rows by class label (classifiers).",
            ["label"],
            registry=registry,
        )
        self._predictions = {label: predictions.labels(label) for label in facts.labels or []}
        warnings = Counter(
            "deployml_input_warnings",
            "Warnings on answered rows by feature and kind (values unlike training).",
            ["feature", "kind"],
            registry=registry,
        )
        self._warnings = {
            (feature, problem): warnings.labels(feature, kind)
            for feature in facts.features
            for problem, kind in WARNING_KINDS.items()
        }
        self._score: BulkHistogram | None = None
        if facts.labels is not None:
            score = Histogram(
                "deployml_prediction_score",
                "The positive class's probability (binary), else the top class's probability.",
                buckets=SCORE_BUCKETS,
                registry=registry,
            )
            self._score = BulkHistogram(score)
        info = Gauge(
            "deployml_model_info",
            "The model served (always 1).",
            ["name", "version", "sha256"],
            multiprocess_mode="max",
            registry=registry,
        )
        info.labels(facts.model["name"], facts.model["version"], facts.model["sha256"]).set(1)
        self._workers = Gauge(
            "deployml_workers",
            "Worker processes alive.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.bins = LiveBins(facts.drift, facts.features, registry)
        self._answered = RequestCounts(self._requests, self._duration)
        self._lock = threading.Lock()
        # Held through a whole flush: a flush returns only once every batch taken off the
        # waiting list (by it or by the flushing thread) is counted, so a stopping worker's
        # last flush cannot leave the thread's half-counted batches behind.
        self._flushing = threading.Lock()
        self._waiting: list[tuple[Batch, Outputs]] = []
        self._waiting_rows = 0
        self._flusher: int | None = None  # the process whose thread flushes

    def worker_started(self) -> None:
        """Count this process as a live worker (gunicorn's ``post_worker_init``)."""
        self._workers.set(1)

    def count_request(
        self, endpoint: str, method: str, status: int, seconds: float, refused: int
    ) -> None:
        """Count one answered request (``refused``: rows of a batch refused whole). It waits
        in the process to be counted with others, as small batches do."""
        full = self._answered.add(endpoint, method, status, seconds)
        if refused:
            self._refused.inc(refused)
        if full:
            self.flush()
        if self._flusher != os.getpid():
            self._start_flushing()

    def observe(self, batch: Batch, outputs: Outputs) -> None:
        """Count a scored batch: rows, predictions, warnings, scores and the live bins. A
        small batch waits to be counted with others (within FLUSH_SECONDS, or when /metrics
        or /drift is asked), so a one-row request pays an append, not some forty calls."""
        if batch.rows > SMALL_BATCH:
            self._count([(batch, outputs)])
        else:
            with self._lock:
                self._waiting.append((batch, outputs))
                self._waiting_rows += batch.rows
                full = self._waiting_rows >= MAX_WAITING_ROWS
            if full:
                self.flush()
        if self._flusher != os.getpid():
            self._start_flushing()

    def flush(self) -> None:
        """Count what waits in this process and move it to Prometheus: every FLUSH_SECONDS,
        before a scrape, and when a worker stops."""
        with self._flushing:
            self._count_waiting()
            self.bins.flush()
            self._answered.flush()

    def _count_waiting(self) -> None:
        with self._lock:
            waiting, self._waiting, self._waiting_rows = self._waiting, [], 0
        if waiting:
            self._count(waiting)

    def _count(self, scored: list[tuple[Batch, Outputs]]) -> None:
        """Count scored batches as one."""
        batches = [batch for batch, _ in scored]
        self._scored.inc(sum(batch.rows for batch in batches))
        refused = sum(len(batch.refused_rows) for batch in batches)
        if refused:
            self._refused.inc(refused)
        if self._predictions:
            predicted = (
                scored[0][1].predictions
                if len(scored) == 1
                else chain.from_iterable(outputs.predictions for _, outputs in scored)
            )
            for label, count in Tally(predicted).items():
                child = self._predictions.get(str(label))
                if child is not None:
                    child.inc(count)
        warnings = Tally((w["feature"], w["problem"]) for batch in batches for w in batch.warnings)
        for key, count in warnings.items():
            child = self._warnings.get(key)  # type: ignore[arg-type]
            if child is not None:
                child.inc(count)
        if self._score is not None:
            if len(scored) == 1:
                # A large batch, counted at once: its rows as they are, not copied.
                probabilities = scored[0][1].probabilities or []
            else:
                probabilities = [row for _, o in scored for row in (o.probabilities or [])]
            self._score.observe_many(self._scores(probabilities))
        self.bins.count(batches)

    def _start_flushing(self) -> None:
        """A thread of this process flushing every FLUSH_SECONDS (threads do not survive a
        fork, so each worker starts its own with its first batch)."""
        with self._lock:
            if self._flusher == os.getpid():
                return
            self._flusher = os.getpid()
        threading.Thread(target=self._flush_forever, name="deployml-metrics", daemon=True).start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def _scores(self, probabilities: list[list[float]]) -> np.ndarray:
        """The scored probability of each row (NaN where the model gave none)."""
        column = self.facts.positive_column
        try:
            # A fifth of np.asarray's time on the list of rows: only the numbers needed.
            if column is not None:
                picked = map(itemgetter(column), probabilities)
                return np.fromiter(picked, np.float64, count=len(probabilities))
            flat = np.fromiter(chain.from_iterable(probabilities), np.float64)
            return flat.reshape(len(probabilities), -1).max(axis=1)
        except (TypeError, ValueError):
            # A row without probabilities (null: the model gave NaN) or of another width.
            table = np.asarray(probabilities, dtype=np.float64)
            if table.ndim != 2 or not table.size:
                return np.empty(0)
            return table[:, column] if column is not None else table.max(axis=1)
