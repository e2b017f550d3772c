"""A DataFrame as the cheapest body ``POST /predict`` takes, and the answers back as one.

The body is columnar, ``{"columns": [...], "data": [[...], ...]}``, written by orjson: a
frame of float64 columns straight from its numpy array, any other frame column by column
(numpy and pandas scalars as JSON numbers and booleans). A missing value (NaN, None,
``pd.NA``, ``NaT``) is sent as ``null``; infinity, which JSON cannot carry, is refused here
before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

__all__ = ["Answers", "columnar_body"]

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def columnar_body(frame: pd.DataFrame, **keys: Any) -> bytes:
    """``frame`` as a columnar body with ``keys`` (``profile``, ``on_error``) beside it."""
    columns = [str(name) for name in frame.columns]
    _refuse_infinity(frame)
    if len(frame.columns) and all(dtype == np.float64 for dtype in frame.dtypes):
        data: Any = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
    else:
        data = list(zip(*(frame.iloc[:, i].tolist() for i in range(frame.shape[1])), strict=True))
    body = {"columns": columns, "data": data, **{k: v for k, v in keys.items() if v is not None}}
    return orjson.dumps(body, option=_NUMPY, default=_missing)


def _missing(value: Any) -> None:
    """What orjson cannot write itself: pandas' missing markers become null."""
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"a {type(value).__name__} cannot be sent as JSON")


def _refuse_infinity(frame: pd.DataFrame) -> None:
    for name, column in frame.items():
        values = (
            column.to_numpy(dtype=np.float64, na_value=np.nan) if column.dtype.kind == "f" else None
        )
        if values is not None and np.isinf(values).any():
            raise ValueError(
                f"column {name!r} holds an infinite value, which JSON cannot carry; "
                "send null for a missing value"
            )


@dataclass
class Answers:
    """The server's answers to the chunks of one frame, gathered in row order."""

    predictions: list[Any] = field(default_factory=list)
    probabilities: list[dict[str, float] | None] = field(default_factory=list)
    decisions: list[Any] = field(default_factory=list)
    imputed: list[list[str]] = field(default_factory=list)
    warnings: list[list[dict[str, Any]]] = field(default_factory=list)
    errors: list[list[dict[str, Any]]] = field(default_factory=list)
    about: dict[str, Any] = field(default_factory=dict)
    said: set[str] = field(default_factory=set)  # the keys some answer had

    def add(self, answer: dict[str, Any], rows: int) -> None:
        """One chunk's answer, for its ``rows`` rows (the next in the frame)."""
        self.said.update(answer)
        self.predictions.extend(answer["predictions"])
        self.probabilities.extend(answer.get("probabilities") or [None] * rows)
        self.decisions.extend(answer.get("decisions") or [None] * rows)
        self.imputed.extend(answer.get("imputed") or [[] for _ in range(rows)])
        self.warnings.extend(_by_row(answer.get("warnings", []), rows))
        self.errors.extend(_by_row(answer.get("errors", []), rows))
        self.about = {k: answer[k] for k in ("model", "profile") if k in answer}

    def frame(self, index: pd.Index, labels: list[str] | None, task: str | None) -> pd.DataFrame:
        """One row per row sent, on its index: the prediction (a number for a regressor, else
        the label as the server sent it), a column per label's probability, the decision, and
        the features imputed, warnings (and errors) per row."""
        number = task == "regression"
        columns: dict[str, Any] = {
            "prediction": pd.Series(
                self.predictions, index=index, dtype=float if number else object
            )
        }
        for key in labels or _keys(self.probabilities):
            found = [np.nan if p is None else p[key] for p in self.probabilities]
            columns[f"probability_{key}"] = np.array(found, dtype=np.float64)
        if "decisions" in self.said:
            columns["decision"] = pd.Series(self.decisions, index=index, dtype=object)
        columns["imputed"] = pd.Series(self.imputed, index=index, dtype=object)
        columns["warnings"] = pd.Series(self.warnings, index=index, dtype=object)
        if "errors" in self.said:
            columns["errors"] = pd.Series(self.errors, index=index, dtype=object)
        result = pd.DataFrame(columns, index=index)
        result.attrs.update(self.about)
        return result


def _by_row(found: list[dict[str, Any]], rows: int) -> list[list[dict[str, Any]]]:
    """Per row of a chunk, its entries without their row number."""
    per_row: list[list[dict[str, Any]]] = [[] for _ in range(rows)]
    for entry in found:
        per_row[int(entry["row"])].append({k: v for k, v in entry.items() if k != "row"})
    return per_row


def _keys(probabilities: list[dict[str, float] | None]) -> list[str]:
    return next((list(p) for p in probabilities if p is not None), [])
