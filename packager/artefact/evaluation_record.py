"""The manifest's record of the clinical evaluation (format 3.0): which headline metrics each
task records, the threshold profiles and the data each was chosen on, the release gates'
results, the edge cases' summary, and the artefact a derived one came from.

Part of the format that ``manifest.py`` owns; documented in ``docs/artefact-format.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # manifest.py imports this module, and Task is only a type
    from packager.artefact.manifest import Task

__all__ = [
    "ALL_HEADLINE_METRICS",
    "HEADLINE_METRICS",
    "DataRecord",
    "EdgeCaseSummary",
    "ParentRecord",
    "RequirementResult",
    "ThresholdProfile",
]

# The headline metrics ``metrics.test`` records (each with its interval) for each task, in the
# order they are shown; and every one of them, in that order.
HEADLINE_METRICS: dict[Task, tuple[str, ...]] = {
    "binary": (
        "roc_auc",
        "accuracy",
        "balanced_accuracy",
        "sensitivity",
        "specificity",
        "ppv",
        "npv",
        "brier",
        "log_loss",
    ),
    "multiclass": ("accuracy", "balanced_accuracy", "roc_auc", "log_loss"),
    "regression": ("mae", "rmse", "r2"),
}
ALL_HEADLINE_METRICS = tuple(dict.fromkeys(m for ms in HEADLINE_METRICS.values() for m in ms))


@dataclass(frozen=True)
class DataRecord:
    """Labelled rows something was measured on: whence, how many, how common the positive."""

    source: str
    rows: int
    sha256: str | None = None
    prevalence: float | None = None
    date: str | None = None


@dataclass(frozen=True)
class ThresholdProfile:
    """A named decision rule for a binary classifier: positive when the score reaches
    ``threshold``, chosen by ``rule`` on ``chosen_on``, giving ``metrics`` there."""

    name: str
    threshold: float
    rule: str
    chosen_on: DataRecord
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParentRecord:
    """The artefact this one was derived from without retraining, and what changed."""

    sha256: str
    name: str
    version: str
    change: str


@dataclass(frozen=True)
class RequirementResult:
    """A release gate (``roc_auc>=0.80``) and what the finished manifest measured for it."""

    requirement: str
    measured: float | None
    interval: list[float] | None
    passed: bool


@dataclass(frozen=True)
class EdgeCaseSummary:
    """The edge cases stored in ``file``: how many, how many passed, which failed, and
    whether packaging was allowed to go ahead with failing ones."""

    file: str
    total: int
    passed: int
    failing: list[str] = field(default_factory=list)
    allowed_failing: bool = False
