"""Which columns of a table ``train`` uses and how: the target, the task, and the features.

Every decision taken on the user's behalf (a column left out, rows without a target dropped)
is issued as a :class:`~packager.errors.DeploymlWarning` and recorded in the plan, so that it
reaches the terminal and the manifest. Messages name columns, never cell values. Left out:
empty and constant columns, identifiers (``packager.capture.identifier_reason``, or the data
dictionary's ``identifier: true``; ``--keep`` keeps one), dates not parsed with ``--date``,
and text with too many values to one-hot encode. A few distinct numbers are kept as numbers
with a warning that they may be codes, unless ``--categorical`` or the dictionary says.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from packager.artefact import MAX_CATEGORIES
from packager.capture import FeatureDictionary, FeatureEntry, identifier_reason
from packager.errors import DeploymlWarning, TrainingError
from packager.evaluation import group_labels, parse_subgroups
from packager.training.dates import looks_like_dates

__all__ = [
    "MAX_CODES",
    "MAX_INTEGER_CLASSES",
    "TASKS",
    "ColumnPlan",
    "TaskName",
    "plan_columns",
    "subgroup_columns",
]

TaskName = Literal["classification", "regression"]
TASKS: tuple[TaskName, ...] = ("classification", "regression")
# An integer target with at most this many distinct values is taken for class labels.
MAX_INTEGER_CLASSES = 10
# A numeric feature with at most this many distinct values (but 0/1) may hold codes.
MAX_CODES = 5


@dataclass(frozen=True)
class ColumnPlan:
    """The target, the task, and the features (in the table's order) by treatment."""

    target: str
    task: TaskName
    task_reason: str
    features: tuple[str, ...]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped: dict[str, str] = field(default_factory=dict)
    rows_without_target: int = 0


def plan_columns(
    data: pd.DataFrame,
    target: str,
    *,
    task: str = "auto",
    drop: Sequence[str] = (),
    categorical: Sequence[str] = (),
    keep: Sequence[str] = (),
    dictionary: FeatureDictionary | None = None,
    max_categories: int = MAX_CATEGORIES,
) -> ColumnPlan:
    """Decide the task and the features of ``data`` (whose column names are strings).

    ``keep`` names columns to use although they look like identifiers; ``dictionary`` (the
    data dictionary) may say a column is categorical, or is (or is not) an identifier.
    """
    columns = [str(c) for c in data.columns]
    if target not in columns:
        raise TrainingError(f"the target column {target!r} is not in the data; {_listing(columns)}")
    said = dictionary or FeatureDictionary({})
    _check_options(target, columns, drop, categorical, keep, said)
    y = data[target]
    n_without = int(y.isna().sum())
    if n_without == len(y):
        raise TrainingError(f"the target column {target!r} has no values")
    if n_without:
        _warn(f"{n_without} row(s) have no value for the target {target!r} and are left out")
    chosen, reason = _task(y.dropna(), target, task)
    rows = data[y.notna()]
    dropped = {name: "left out with --drop" for name in drop}
    treatments: dict[str, str] = {}
    for name in columns:
        if name == target or name in dropped:
            continue
        entry = said.entry(name)
        as_category = name in categorical or bool(entry.categorical)
        kept = name in keep or entry.identifier is False
        treatment = _treatment(rows[name], name, entry, as_category, kept, max_categories)
        if treatment in ("numeric", "categorical"):
            treatments[name] = treatment
        else:
            dropped[name] = treatment
            _warn(f"column {name!r} is left out: {treatment}")
    if not treatments:
        raise TrainingError("no feature columns are left to train on; " + _reasons(dropped))
    return ColumnPlan(
        target=target,
        task=chosen,
        task_reason=reason,
        features=tuple(treatments),
        numeric=tuple(n for n, t in treatments.items() if t == "numeric"),
        categorical=tuple(n for n, t in treatments.items() if t == "categorical"),
        dropped=dropped,
        rows_without_target=n_without,
    )


def subgroup_columns(data: pd.DataFrame, target: str, specs: Sequence[str]) -> list[str]:
    """The columns ``--subgroup`` names, checked against the data before anything is fitted.

    A subgroup column may be a feature, a column left out (``--drop``, or one ``train``
    cannot use), but not the target.
    """
    columns = [str(c) for c in data.columns]
    parsed = parse_subgroups(specs)
    for spec in parsed:
        if spec.column == target:
            raise TrainingError(f"--subgroup names the target column {target!r}")
        if spec.column not in columns:
            raise TrainingError(
                f"--subgroup names {spec.column!r}, not in the data; {_listing(columns)}"
            )
        group_labels(spec, data[spec.column])  # refuses a column that cannot be grouped
    return [spec.column for spec in parsed]


def _task(y: pd.Series, target: str, task: str) -> tuple[TaskName, str]:
    n_distinct = int(y.nunique())
    numeric = pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype)
    if task == "regression":
        if not numeric:
            raise TrainingError(
                f"--task regression needs a numeric target, but {target!r} holds text or "
                "booleans; use --task classification"
            )
        return "regression", "set with --task"
    if task == "classification":
        if n_distinct > MAX_CATEGORIES:
            raise TrainingError(
                f"the target {target!r} has {n_distinct} distinct values, too many classes "
                f"(at most {MAX_CATEGORIES}); is it a numeric outcome (--task regression)?"
            )
        chosen: TaskName = "classification"
        reason = "set with --task"
    elif task != "auto":
        raise TrainingError(f"unknown task {task!r}; choose auto, {' or '.join(TASKS)}")
    elif not numeric:
        chosen, reason = "classification", "the target holds labels, not numbers"
    elif _whole_numbers(y) and n_distinct <= MAX_INTEGER_CLASSES:
        chosen = "classification"
        reason = f"the target holds {n_distinct} distinct whole numbers"
    else:
        chosen, reason = "regression", "the target is numeric"
    if chosen == "classification" and n_distinct < 2:
        raise TrainingError(f"the target {target!r} has one class; a classifier needs at least two")
    return chosen, reason


def _whole_numbers(y: pd.Series) -> bool:
    values = y.to_numpy(dtype=np.float64)
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _treatment(
    column: pd.Series,
    name: str,
    entry: FeatureEntry,
    as_category: bool,
    kept: bool,
    max_categories: int,
) -> str:
    """ "numeric", "categorical", or the reason the column is left out."""
    present = column.dropna()
    if present.empty:
        return "every value is missing"
    n_distinct = int(present.nunique())
    if n_distinct == 1 and len(present) == len(column):
        return "it has the same value in every row"
    if entry.identifier:
        return "the data dictionary says it is an identifier"
    kind = column.dtype
    is_number = pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind)
    if not is_number and not as_category and looks_like_dates(present):
        return f"it holds dates; to use them (as days and weekday), pass --date {name}"
    if is_number and not as_category:
        if not np.all(np.isfinite(present.to_numpy(dtype=np.float64))):
            raise TrainingError(
                f"column {name!r} holds infinite values; replace them or leave the column out "
                "with --drop"
            )
    elif n_distinct > max_categories:
        if as_category:
            raise TrainingError(
                f"--categorical {name}: the column has {n_distinct} distinct values, more than "
                f"{max_categories} (--max-categories)"
            )
        return (
            f"it has {n_distinct} distinct text values, more than --max-categories "
            f"({max_categories}): free text or an identifier, which one-hot encoding cannot use"
        )
    if not kept and (reason := identifier_reason(name, column)):
        return (
            f"it may be an identifier ({reason}), which a model would use to memorise rows; "
            f"to use it as a feature, pass --keep {name}, or say identifier: false for it in "
            "--features"
        )
    if is_number and not as_category:
        _warn_of_codes(present, name, entry)
        return "numeric"
    if not is_number and _mostly_numbers(present):
        _warn(
            f"column {name!r} is mostly numbers but holds some text, so it is treated as "
            "categories; if that text marks missing values, pass it with --na-values"
        )
    return "categorical"


def _warn_of_codes(present: pd.Series, name: str, entry: FeatureEntry) -> None:
    """A few distinct numbers may be codes (stage 1 to 4); 0/1 flags and numbers the
    dictionary describes are left alone."""
    if entry.categorical is not None or entry.integer:
        return
    values = np.unique(present.to_numpy(dtype=np.float64))
    if 2 <= len(values) <= MAX_CODES and not set(values.tolist()) <= {0.0, 1.0}:
        _warn(
            f"column {name!r} holds {len(values)} distinct numbers, which may be codes; if "
            f"they are categories, pass --categorical {name}, or say categorical: true for it "
            "in --features"
        )


def _mostly_numbers(present: pd.Series) -> bool:
    parsed = pd.to_numeric(present.astype(str), errors="coerce")
    return bool(parsed.notna().mean() >= 0.9)


def _check_options(
    target: str,
    columns: list[str],
    drop: Sequence[str],
    categorical: Sequence[str],
    keep: Sequence[str],
    said: FeatureDictionary,
) -> None:
    """The columns named by options exist, are not the target, and do not contradict."""
    named = {"--drop": drop, "--categorical": categorical, "--keep": keep}
    for option, names in named.items():
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise TrainingError(
                f"{option} names {', '.join(repr(n) for n in unknown)}, not in the data; "
                + _listing(columns)
            )
        if target in names:
            raise TrainingError(f"{option} names the target column {target!r}")
    for other in ("--categorical", "--keep"):
        if both := sorted(set(drop) & set(named[other])):
            raise TrainingError(f"--drop and {other} both name {', '.join(both)}")
    for name in keep:
        if said.entry(name).identifier:
            raise TrainingError(
                f"--keep names {name!r}; the data dictionary says it is an identifier"
            )
    for name in categorical:
        entry = said.entry(name)
        # Limits or integer make the schema record a number, whose codes would go unchecked.
        number = entry.integer or entry.min is not None or entry.max is not None
        if entry.categorical is False or number:
            raise TrainingError(
                f"--categorical names {name!r}; the data dictionary says it is "
                + ("not categorical" if not number else "a number (integer, min or max)")
            )


def _listing(columns: list[str], shown: int = 20) -> str:
    if len(columns) == 1:
        return (
            f"it has one column, {columns[0]!r}: is the file separated by something other "
            "than commas?"
        )
    more = f", and {len(columns) - shown} more" if len(columns) > shown else ""
    return "its columns are " + ", ".join(repr(c) for c in columns[:shown]) + more


def _reasons(dropped: dict[str, str]) -> str:
    return "; ".join(f"{name!r}: {reason}" for name, reason in dropped.items()) or "none"


def _warn(message: str) -> None:
    warnings.warn(DeploymlWarning(message), stacklevel=3)
