"""The manifest's ``training`` object: what ``train`` was given, decided and met on the way."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd

from packager.errors import DeploymlWarning
from packager.training.columns import ColumnPlan
from packager.training.table import TableOptions

__all__ = ["DataSource", "training_record", "warning_lines"]


@dataclass(frozen=True)
class DataSource:
    """Where the training table came from, for the record: a file name, its SHA-256 and how
    it was read."""

    name: str
    sha256: str | None = None
    table: TableOptions | None = None


def training_record(
    data: pd.DataFrame,
    source: DataSource | None,
    plan: ColumnPlan,
    model: str,
    options: dict[str, Any],
    split: tuple[int, int],
) -> dict[str, Any]:
    """The manifest's ``training`` object, but for the search and the warnings."""
    return {
        "data": {
            "source": source.name if source else None,
            "sha256": source.sha256 if source else None,
            "rows": len(data),
            "columns": data.shape[1],
            "rows_without_target": plan.rows_without_target,
            **({"read_with": source.table.record()} if source and source.table else {}),
        },
        "target": plan.target,
        "task": plan.task,
        "task_reason": plan.task_reason,
        "model": model,
        "features": {"numeric": list(plan.numeric), "categorical": list(plan.categorical)},
        "dropped_columns": dict(plan.dropped),
        "options": options,
        "split": {
            "train_rows": split[0],
            "test_rows": split[1],
            "stratified": plan.task == "classification",
        },
    }


def warning_lines(caught: list[warnings.WarningMessage]) -> list[str]:
    """One line per distinct warning, in order; repeats are counted, not listed."""
    counts: Counter[str] = Counter()
    for warning in caught:
        if issubclass(warning.category, DeploymlWarning):
            text = str(warning.message)
        else:
            lines = [line.strip() for line in str(warning.message).splitlines() if line.strip()]
            text = f"{warning.category.__name__}: {lines[0] if lines else ''}"
        counts[text] += 1
    return [text if n == 1 else f"{text} ({n} times)" for text, n in counts.items()]
