"""Bootstrap confidence intervals: seeded, recorded with their method, the same every run.

Every interval deployml reports comes from :func:`intervals`: the rows are resampled with
replacement ``resamples`` times (within each stratum, when strata are given, so that a rare
class is in every resample), the statistic is computed on each resample, and the interval is
the ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of the values that were defined.
A statistic undefined on more than half the resamples (a sensitivity with almost no positive
rows) has no interval (``None``), rather than one made from the few resamples that had it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from packager.errors import CaptureError

__all__ = ["Bootstrap", "Statistic", "intervals"]

# A statistic maps the row indices of one resample to named values (None: undefined there).
Statistic = Callable[[np.ndarray], Mapping[str, float | None]]


@dataclass(frozen=True)
class Bootstrap:
    """How intervals are made; recorded next to them as ``bootstrap`` in the manifest."""

    resamples: int = 1000
    seed: int = 0
    level: float = 0.95
    method: str = "percentile"

    def __post_init__(self) -> None:
        """Refuse a method that would fail after the slow work, or be recorded wrongly."""
        whole = (int, np.integer)
        if isinstance(self.resamples, bool) or not isinstance(self.resamples, whole):
            raise CaptureError(
                f"bootstrap resamples must be a whole number, not {self.resamples!r}"
            )
        if self.resamples < 1:
            raise CaptureError(f"bootstrap resamples must be at least 1, not {self.resamples}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, whole) or self.seed < 0:
            raise CaptureError(f"the bootstrap seed must be a whole number >= 0, not {self.seed!r}")
        if not isinstance(self.level, float | int) or not 0 < self.level < 1:
            raise CaptureError(
                f"the bootstrap level must be a share between 0 and 1 (0.95), not {self.level!r}"
            )
        if self.method != "percentile":
            raise CaptureError(f"the bootstrap method must be 'percentile', not {self.method!r}")

    def record(self) -> dict[str, Any]:
        """The JSON-ready record of the method, stored beside the intervals it made."""
        return asdict(self)


def intervals(
    n_rows: int,
    statistic: Statistic,
    bootstrap: Bootstrap,
    strata: np.ndarray | None = None,
) -> dict[str, list[float] | None]:
    """The percentile interval of each value ``statistic`` returns, over seeded resamples.

    ``strata`` (one label per row) keeps each stratum's size in every resample.
    """
    rng = np.random.default_rng(bootstrap.seed)
    groups = [np.arange(n_rows)] if strata is None else _strata(strata)
    collected: dict[str, list[float]] = {}
    for _ in range(bootstrap.resamples):
        rows = np.concatenate([rng.choice(group, size=len(group)) for group in groups])
        for name, value in statistic(rows).items():
            values = collected.setdefault(name, [])
            if value is not None and np.isfinite(value):
                values.append(float(value))
    low, high = (1 - bootstrap.level) / 2 * 100, (1 + bootstrap.level) / 2 * 100
    return {
        name: None
        if len(values) * 2 < bootstrap.resamples
        else [float(np.percentile(values, low)), float(np.percentile(values, high))]
        for name, values in collected.items()
    }


def _strata(labels: np.ndarray) -> list[np.ndarray]:
    _, inverse = np.unique(labels, return_inverse=True)
    return [np.flatnonzero(inverse == i) for i in range(inverse.max() + 1)]
