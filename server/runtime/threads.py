"""Per-worker limits on the model's OpenMP and BLAS threads.

Several gunicorn workers on a small machine, each starting an OpenMP pool as wide as the
machine, fight over the cores (histogram gradient boosting slows down several times).
OpenMP's thread count is a per-thread setting, so the cap is applied in each thread that
predicts, once, before the model runs there.
"""

from __future__ import annotations

import threading

from threadpoolctl import ThreadpoolController

__all__ = ["ThreadLimit"]


class ThreadLimit:
    """Caps OpenMP/BLAS threads in each thread that predicts, so workers do not contend."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._controller = ThreadpoolController()
        self._local = threading.local()

    def apply(self, limit: int | None = None) -> None:
        """Set the cap for the calling thread once (OpenMP's setting is per thread)."""
        wanted = self.limit if limit is None else limit
        if getattr(self._local, "limit", None) != wanted:
            self._controller.limit(limits=wanted)
            self._local.limit = wanted
