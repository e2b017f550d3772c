"""What Prometheus scrapes: request, row, prediction and warning counters, and the live rows
counted into the training bins recorded in the manifest (drift without patient data)."""

from __future__ import annotations

__all__: list[str] = []
