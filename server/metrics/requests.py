"""Requests counted by route, method and status, and their durations, a second at a time.

In multiprocess mode every ``inc`` and ``observe`` of prometheus-client takes a lock and
writes to a memory-mapped file: a counter and a latency histogram were three such writes per
request. :class:`RequestCounts` keeps each answered request as one tuple in the process
instead, and :meth:`RequestCounts.flush` adds them up (one ``inc`` per route, method and
status seen, and each route's durations into its histogram with numpy), so a busy worker pays
a few writes a second, not three per request. The histogram ends as ``observe`` one by one
would have left it (:class:`~server.metrics.buckets.BulkHistogram`).
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections import defaultdict
from typing import Any

import numpy as np
from prometheus_client import Counter, Histogram

from server.metrics.buckets import BulkHistogram

__all__ = ["MAX_WAITING_REQUESTS", "RequestCounts"]

# Requests that make the one adding to them count them all (a bound on memory).
MAX_WAITING_REQUESTS = 4096


class RequestCounts:
    """The requests answered in this process since the last flush."""

    def __init__(self, requests: Counter, duration: Histogram) -> None:
        self._requests = requests
        self._duration = duration
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[str, BulkHistogram] = {}
        self._lock = threading.Lock()
        self._waiting: list[tuple[str, str, int, float]] = []

    def add(self, endpoint: str, method: str, status: int, seconds: float) -> bool:
        """Keep one answered request; True when enough wait that they should be flushed."""
        with self._lock:
            self._waiting.append((endpoint, method, status, seconds))
            return len(self._waiting) >= MAX_WAITING_REQUESTS

    def flush(self) -> None:
        """Add the waiting requests to the Prometheus counters and histograms."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        durations: defaultdict[str, list[float]] = defaultdict(list)
        for endpoint, _, _, seconds in waiting:
            durations[endpoint].append(seconds)
        for key, count in Tally(request[:3] for request in waiting).items():
            self._counter(key).inc(count)
        for endpoint, taken in durations.items():
            self._histogram(endpoint).observe_many(np.asarray(taken, dtype=np.float64))

    def _counter(self, key: tuple[str, str, int]) -> Any:
        counter = self._counters.get(key)
        if counter is None:
            # Bounded: routes and standard methods are fixed sets, statuses nearly so.
            endpoint, method, status = key
            counter = self._counters[key] = self._requests.labels(endpoint, method, str(status))
        return counter

    def _histogram(self, endpoint: str) -> BulkHistogram:
        histogram = self._histograms.get(endpoint)
        if histogram is None:
            histogram = BulkHistogram(self._duration.labels(endpoint))
            self._histograms[endpoint] = histogram
        return histogram
