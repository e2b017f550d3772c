"""The proof a compiled model must pass before it is written: every checked row answered as
scikit-learn answers it.

The rows: the test rows given when packaging (``--test``), the stored self-test and example
rows, the edge cases, and rows at the training range's edges (the typical row with one feature
at a time at its minimum, its maximum, each quantile, each category, each boolean, and null
where allowed). Labels must be identical; every probability and regression output within
``TOLERANCE`` of scikit-learn's, measured as ``|compiled - scikit-learn| / max(1, |scikit-learn|)``:
absolute for probabilities, relative for outputs larger than one. 1e-5 is about a hundred
float32 roundings (the compiled model computes in float32), and a thousand times smaller than
any threshold a profile is chosen at (four figures).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from packager.artefact import (
    FeatureSpec,
    InputSpec,
    Outputs,
    model_input,
    model_outputs,
    records_to_columns,
)
from packager.capture import TYPICAL, synthetic_rows

__all__ = [
    "ROW_SETS",
    "TOLERANCE",
    "beyond",
    "built",
    "differences",
    "range_edge_rows",
    "scored",
]

TOLERANCE = 1e-5
# The row sets by their key in the manifest's ``rows_checked``, and their words in a refusal.
ROW_SETS = {
    "test": "test rows",
    "self_test": "self-test rows",
    "examples": "example rows",
    "edge_cases": "edge cases",
    "range_edges": "rows at the training range's edges",
}


def differences(expected: Outputs, got: Outputs, task: str) -> dict[str, float]:
    """Per output, how far ``got`` is from ``expected``: ``labels`` counts rows whose label
    differs; ``probabilities`` and ``predictions`` (regression) the worst scaled difference."""
    if task == "regression":
        return {"predictions": _worst(expected.predictions, got.predictions)}
    if len(expected.predictions) != len(got.predictions):
        return {"labels": float(len(expected.predictions))}
    pairs = zip(expected.predictions, got.predictions, strict=True)
    found = {"labels": float(sum(a != b for a, b in pairs))}
    if expected.probabilities is not None and got.probabilities is not None:
        found["probabilities"] = _worst(expected.probabilities, got.probabilities)
    return found


def beyond(found: Mapping[str, float], tolerance: float, rows: int) -> tuple[str, str] | None:
    """The first output over the tolerance, and its difference in words; None when none is."""
    if found.get("labels", 0):
        return "labels", f"differ on {int(found['labels'])} of {rows} rows"
    for output, size in found.items():
        if output != "labels" and not size <= tolerance:  # NaN is beyond too
            return output, f"differ by up to {size:.3g}"
    return None


def scored(model: Any, X: Any, task: str) -> Outputs:
    """scikit-learn's outputs, its warnings (an edge value unlike most) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model_outputs(model, X, task)


def range_edge_rows(spec: InputSpec) -> list[dict[str, Any]]:
    """The typical row with one feature at a time at each edge of what training held."""
    typical = synthetic_rows(spec)[TYPICAL]
    rows = [typical]
    for feature in spec.features:
        for value in _edges(feature):
            row = {**typical, feature.name: value}
            if row not in rows:
                rows.append(row)
    return rows


def built(rows: Sequence[Mapping[str, Any]], spec: InputSpec) -> Any:
    """Rows (JSON values by feature) built as the server builds a request's."""
    return model_input(records_to_columns(rows, spec.names), spec)


def _edges(feature: FeatureSpec) -> list[Any]:
    values: list[Any] = []
    if feature.kind in ("number", "integer"):
        values = [feature.min, feature.max, *(feature.quantiles or {}).values()]
        values = [v for v in values if v is not None]
        if feature.kind == "integer":
            values = [round(v) for v in values]
    elif feature.kind == "boolean":
        values = [False, True]
    elif feature.categories:
        values = list(feature.categories)
    return [*values, None] if feature.nullable else values


def _worst(expected: Any, got: Any) -> float:
    want = np.asarray(expected, dtype=np.float64)
    have = np.asarray(got, dtype=np.float64)
    if want.shape != have.shape:
        return float("inf")
    if not want.size:
        return 0.0
    scaled = np.abs(have - want) / np.maximum(1.0, np.abs(want))
    # Both missing (a regressor's null) is agreement; one missing is not.
    scaled[np.isnan(want) & np.isnan(have)] = 0.0
    return float(np.nan_to_num(scaled, nan=np.inf).max())
