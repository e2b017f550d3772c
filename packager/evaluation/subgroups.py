"""Subgroups: the headline metrics of each group of patients, and the gaps between groups.

A subgroup spec names a column of the test data (``"sex"``: one group per value, as it is),
or bins a numeric one (``"age:0,40,65,120"``: the groups ``0-40``, ``40-65`` and ``65-120``).
A bin holds its lower edge and not its upper one, except the last, which holds both:
[0, 40), [40, 65), [65, 120]. Values outside the edges form the group ``outside 0-120`` and
rows without a value the group ``missing``: every test row is in exactly one group.

Each group gets its size, prevalence, the headline metrics with bootstrap intervals and, for
a binary classifier, a calibration curve, unless it is too small to say anything: fewer than
:data:`MIN_GROUP_ROWS` rows, or (binary) no row of one of the two classes. Such a group is
listed with its size, prevalence and the reason, never dropped, and has no metrics. The gap
of a metric is the difference between the best and the worst of the groups measured.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from packager.artefact import HEADLINE_METRICS, json_label, json_value, sorted_labels
from packager.errors import CaptureError
from packager.evaluation.bootstrap import Bootstrap
from packager.evaluation.calibration import calibration_curve
from packager.evaluation.headline import headline, headline_intervals
from packager.evaluation.scored import Scored

__all__ = [
    "CALIBRATION_BINS",
    "LOWER_IS_BETTER",
    "MAX_GROUPS",
    "MIN_GROUP_ROWS",
    "MISSING_GROUP",
    "SubgroupSpec",
    "group_labels",
    "parse_subgroups",
    "subgroup_report",
]

# A group with fewer test rows than this is reported as too small, without metrics.
MIN_GROUP_ROWS = 30
# A column with more distinct values than this is refused: bin it, or it is an identifier.
MAX_GROUPS = 30
# A group's calibration curve has fewer bins than the whole test data's, as it has fewer rows.
CALIBRATION_BINS = 5
# Metrics where a lower value is better: the worst group is the one with the highest.
LOWER_IS_BETTER = frozenset({"brier", "log_loss", "mae", "rmse"})
# The group of the rows without a value in the subgroup column.
MISSING_GROUP = "missing"

_EXAMPLE = "a column name, or COLUMN:EDGES such as age:0,40,65,120"


@dataclass(frozen=True)
class SubgroupSpec:
    """A subgroup column, as given (``spec``), and its bin edges if it is binned."""

    column: str
    spec: str
    edges: tuple[float, ...] | None = None

    @property
    def bins(self) -> list[str]:
        """The names of the bins, in order (empty for a column taken as it is)."""
        edges = [_number(e) for e in self.edges or ()]
        return [f"{low}-{high}" for low, high in itertools.pairwise(edges)]

    @property
    def outside(self) -> str:
        """The name of the group of values outside the edges."""
        edges = self.edges or (math.nan,)
        return f"outside {_number(edges[0])}-{_number(edges[-1])}"


def parse_subgroups(specs: Sequence[str]) -> tuple[SubgroupSpec, ...]:
    """The subgroup specs, checked: each a column name or ``COLUMN:EDGES``, no column twice."""
    parsed = tuple(_parse(spec) for spec in specs)
    columns = [p.column for p in parsed]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise CaptureError(f"subgroup column {twice[0]!r} is given more than once")
    return parsed


def _parse(spec: Any) -> SubgroupSpec:
    if not isinstance(spec, str) or not spec.strip():
        raise CaptureError(f"a subgroup must be {_EXAMPLE}, not {spec!r}")
    if ":" not in spec:
        return SubgroupSpec(spec, spec)
    column, _, text = spec.rpartition(":")
    if not column:
        raise CaptureError(f"subgroup {spec!r} names no column before ':'; give {_EXAMPLE}")
    try:
        edges = tuple(float(e) for e in text.split(","))
    except ValueError:
        raise CaptureError(
            f"subgroup {spec!r}: the bin edges must be numbers separated by commas, "
            "as in age:0,40,65,120"
        ) from None
    if len(edges) < 2:
        raise CaptureError(f"subgroup {spec!r}: binning needs at least two edges")
    if not all(math.isfinite(e) for e in edges):
        raise CaptureError(f"subgroup {spec!r}: the bin edges must be finite numbers")
    if any(high <= low for low, high in itertools.pairwise(edges)):
        raise CaptureError(f"subgroup {spec!r}: the bin edges must be strictly increasing")
    return SubgroupSpec(column, spec, edges)


def group_labels(spec: SubgroupSpec, values: pd.Series) -> np.ndarray:
    """The group of each row under ``spec`` (text); refuses columns that cannot be grouped."""
    absent = values.isna().to_numpy()
    if spec.edges is None:
        texts = [
            MISSING_GROUP if gone else _text(v) for v, gone in zip(values, absent, strict=True)
        ]
        labels = np.array(texts, dtype=object)
        distinct = set(labels[~absent])
        if len(distinct) > MAX_GROUPS:
            raise CaptureError(
                f"subgroup {spec.spec!r}: the column has {len(distinct)} distinct values, more "
                f"than {MAX_GROUPS}; bin a numeric column with {spec.column}:EDGES"
            )
        if MISSING_GROUP in distinct and absent.any():
            raise CaptureError(
                f"subgroup {spec.spec!r}: the column holds the value {MISSING_GROUP!r} and also "
                f"empty cells, which would share the group {MISSING_GROUP!r}"
            )
        return labels
    kind = values.dtype
    if not pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind):
        raise CaptureError(
            f"subgroup {spec.spec!r}: column {spec.column!r} is not numeric, so it cannot be "
            f"binned; give it as {spec.column!r} to group by its values"
        )
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    edges = np.asarray(spec.edges)
    last = len(edges) - 2
    index = np.searchsorted(edges, numbers, side="right") - 1
    index[numbers == edges[-1]] = last  # the last bin holds its upper edge
    inside = (index >= 0) & (index <= last)
    names = np.array(spec.bins, dtype=object)[np.clip(index, 0, last)]
    return np.where(absent, MISSING_GROUP, np.where(inside, names, spec.outside))


def subgroup_report(
    scored: Scored,
    specs: Sequence[SubgroupSpec],
    values: pd.DataFrame,
    features: Collection[str],
    bootstrap: Bootstrap,
) -> dict[str, Any]:
    """``manifest.subgroups``: each column's groups measured on ``scored``'s rows.

    ``values`` holds the subgroup columns for the same rows, in the same order; ``features``
    are the model's inputs (a subgroup column need not be one).
    """
    return {
        "min_rows": MIN_GROUP_ROWS,
        "bootstrap": bootstrap.record(),
        "columns": [
            _column(scored, spec, values[spec.column], spec.column in features, bootstrap)
            for spec in specs
        ],
    }


def _column(
    scored: Scored, spec: SubgroupSpec, values: pd.Series, in_model: bool, bootstrap: Bootstrap
) -> dict[str, Any]:
    labels = group_labels(spec, values)
    groups = [
        _group(name, scored.subset(np.flatnonzero(labels == name)), bootstrap)
        for name in _order(spec, values, labels)
    ]
    return {
        "column": spec.column,
        "spec": spec.spec,
        "edges": None if spec.edges is None else [json_value(_number(e)) for e in spec.edges],
        "in_model": in_model,
        "groups": groups,
        "gaps": _gaps(groups, HEADLINE_METRICS[scored.task]),
    }


def _order(spec: SubgroupSpec, values: pd.Series, labels: np.ndarray) -> list[str]:
    """Bins in edge order, or the values sorted; then outside the edges, then missing."""
    if spec.edges is None:
        named = [_text(v) for v in sorted_labels(list(pd.unique(values.dropna())))]
    else:
        named = [*spec.bins, spec.outside]
    present = set(labels)
    order = [name for name in dict.fromkeys([*named, MISSING_GROUP]) if name in present]
    return order


def _group(name: str, rows: Scored, bootstrap: Bootstrap) -> dict[str, Any]:
    reason = _too_small(rows)
    group: dict[str, Any] = {
        "group": name,
        "n": len(rows),
        "prevalence": _prevalence(rows),
        "too_small": reason is not None,
        "reason": reason,
        "metrics": {},
        "intervals": {},
        "calibration": None,
    }
    if reason is None:
        group["metrics"] = json_value(headline(rows))
        group["intervals"] = headline_intervals(rows, bootstrap)
        group["calibration"] = calibration_curve(rows, CALIBRATION_BINS)
    return group


def _too_small(rows: Scored) -> str | None:
    if len(rows) < MIN_GROUP_ROWS:
        return f"{len(rows)} rows, fewer than the {MIN_GROUP_ROWS} needed to measure a group"
    if rows.task == "binary":
        positives = int(rows.positive.sum())
        if positives == 0:
            return f"no row of the positive class {rows.positive_class!r}"
        if positives == len(rows):
            return "no row of the negative class, only the positive one"
    return None


def _prevalence(rows: Scored) -> Any:
    """Binary: the positive class's share; multiclass: each class's share; regression: None."""
    if rows.task == "regression" or len(rows) == 0:
        return None
    if rows.task == "binary":
        return float(np.mean(rows.positive))
    return {str(c): float(np.mean(rows.y_true == c)) for c in rows.classes}


def _gaps(groups: list[dict[str, Any]], metrics: Sequence[str]) -> dict[str, Any]:
    """Per metric measured in two groups or more: the spread, the best and the worst group."""
    gaps: dict[str, Any] = {}
    for metric in metrics:
        measured = [
            (g["metrics"][metric], g["group"])
            for g in groups
            if not g["too_small"] and g["metrics"].get(metric) is not None
        ]
        if len(measured) < 2:
            continue
        high = max(measured, key=lambda m: m[0])
        low = min(measured, key=lambda m: m[0])
        best, worst = (low, high) if metric in LOWER_IS_BETTER else (high, low)
        gaps[metric] = {"value": high[0] - low[0], "best": best[1], "worst": worst[1]}
    return gaps


def _text(value: Any) -> str:
    """A value as a group's name: ``F``, ``2`` (also for 2.0, as a column with gaps reads)."""
    label = json_label(value)
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def _number(edge: float) -> int | float:
    """An edge as written: 40, not 40.0."""
    return int(edge) if float(edge).is_integer() else float(edge)
