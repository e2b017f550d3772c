"""The card's building blocks: plain facts both renderings share, and how numbers are written.

Text in a block is plain (never Markdown, never HTML): each rendering escapes it for its own
format. The one mark-up is a code span, made with :func:`code` (a name, a hash, a rule), which
Markdown keeps and HTML turns into ``<code>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "Block",
    "Card",
    "Figure",
    "Items",
    "Section",
    "Table",
    "Text",
    "Tone",
    "code",
    "metric_name",
]

Tone = Literal["plain", "alert", "good", "note"]


@dataclass(frozen=True)
class Text:
    """A paragraph; an ``alert`` one is shown loudly."""

    text: str
    tone: Tone = "plain"


@dataclass(frozen=True)
class Items:
    """A bulleted list."""

    items: tuple[str, ...]
    tone: Tone = "plain"


@dataclass(frozen=True)
class Table:
    """Rows under a head (an empty head: a two-column table of names and values).

    ``marked`` holds the ``(row, column)`` cells to highlight (the worst group's value). A
    cell reading exactly PASS or FAIL is shown as a verdict. A row shorter than the head ends
    in a cell that spans the columns left (a too-small group's reason, across its metrics).
    """

    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marked: frozenset[tuple[int, int]] = frozenset()
    caption: str | None = None


@dataclass(frozen=True)
class Figure:
    """A plot stored in the artefact, by its path inside it."""

    path: str
    caption: str


Block = Text | Items | Table | Figure


@dataclass(frozen=True)
class Section:
    """A titled part of the card; ``key`` names it in the HTML page (an id)."""

    title: str
    blocks: tuple[Block, ...]
    key: str = ""


@dataclass(frozen=True)
class Card:
    """The whole card: a title, what the model is, the loud warnings, then the sections."""

    title: str
    summary: str
    alerts: tuple[str, ...]
    sections: tuple[Section, ...]
    sha256: str | None = None


def code(value: Any) -> str:
    """``value`` as a code span."""
    return f"`{str(value).replace('`', chr(0x2018))}`"


_NAMES = {
    "roc_auc": "ROC AUC",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "PPV",
    "npv": "NPV",
    "brier": "Brier score",
    "log_loss": "Log loss",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
    "alerts_per_100": "Alerts per 100",
}
# These depend on which class is positive, so the card names it next to each.
POSITIVE_DEPENDENT = frozenset({"sensitivity", "specificity", "ppv", "npv"})


def metric_name(metric: str, positive: Any = None) -> str:
    """A metric's name for people, with the positive class where the metric depends on it."""
    name = _NAMES.get(metric, metric.replace("_", " "))
    if metric in POSITIVE_DEPENDENT and positive is not None:
        return f"{name} (positive: {positive})"
    return name
