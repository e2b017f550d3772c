"""What Prometheus scrapes: request, row, prediction and warning counters, and the live rows
counted into the training bins recorded in the manifest (drift without patient data).

``use_directory`` sets up prometheus-client's multiprocess mode before the app is built (every
gunicorn worker counts in its own files, which /metrics adds up); ``Metrics`` holds one
model's metrics and counts each request and scored batch; ``exposed_registry`` is what a
scrape reads; ``mark_worker_dead`` is gunicorn's ``child_exit`` hook.
"""

from __future__ import annotations

from server.metrics.buckets import BulkHistogram
from server.metrics.drift import MIN_LIVE_ROWS, drift_report
from server.metrics.observer import Metrics, ModelFacts
from server.metrics.process import (
    exposed_registry,
    mark_worker_dead,
    release_directory,
    use_directory,
)

__all__ = [
    "MIN_LIVE_ROWS",
    "BulkHistogram",
    "Metrics",
    "ModelFacts",
    "drift_report",
    "exposed_registry",
    "mark_worker_dead",
    "release_directory",
    "use_directory",
]
