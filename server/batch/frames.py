"""Tables in and out of scoring: a frame's cells as the JSON values a request would send, and
a scored payload as the columns a run writes.

In, each feature column becomes the values ``/predict`` would have been sent, so the one
validator judges them: typed cells (Parquet) as they are, NaN, None and NA as null; text
cells (CSV read as text) as the server's CSV protocol reads them
(:func:`server.validation.column_from_text`), an empty cell as null.

Out, one row per input row, in order: ``prediction``; ``probability_<label>`` per class for
classifiers that give them; ``decision``, ``profile`` and ``threshold`` where a threshold
profile decides; then ``status`` (``scored`` or ``refused``), ``errors`` (JSON text of the
row's problems, as /predict words them; null for a scored row), ``warnings`` and ``imputed``
(JSON text; null for a refused row). A refused row's outputs are null. Every column has one
pandas dtype whatever the rows (``Int64``, ``Float64``, ``boolean`` or ``string``), so every
chunk of a run writes the same schema.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from packager.artefact import FeatureSpec, has_predict_proba
from server.runtime import Runtime, Scored
from server.validation import Payload, column_from_text

__all__ = [
    "REFUSED",
    "SCORED",
    "STATUS_COLUMNS",
    "feature_payload",
    "output_dtypes",
    "output_frame",
]

SCORED, REFUSED = "scored", "refused"
# The columns every run adds after the model's outputs.
STATUS_COLUMNS = ("status", "errors", "warnings", "imputed")
_STRING = "string"


def feature_payload(
    frame: pd.DataFrame, features: Sequence[FeatureSpec], *, cells_are_text: bool
) -> Payload:
    """The frame's feature columns as a payload of JSON values, held column by column in
    training order (the validator checks them a column at a time)."""
    names = [f.name for f in features]
    if cells_are_text:
        columns = [column_from_text(_texts(frame[f.name]), f) for f in features]
    else:
        columns = [_typed(frame[name]) for name in names]
    return Payload(rows=len(frame), columns=names, by_column=columns)


def _typed(column: pd.Series) -> list[Any]:
    """A typed column's cells as Python values, NaN, None and NA as None."""
    values: list[Any] = column.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]
    return values


def _texts(column: pd.Series) -> list[str]:
    """A text column's cells, a missing cell (Spark reads an empty one as null) as ``""``."""
    texts: list[str] = column.astype(object).where(column.notna(), "").astype(str).tolist()
    return texts


def output_dtypes(runtime: Runtime) -> dict[str, str]:
    """The columns a run adds for this model, in order, with their pandas dtypes."""
    model = runtime.artefact.model
    if runtime.labels is None:
        label = "Float64"
    else:
        label = _label_dtype(np.asarray(getattr(model, "classes_", [])))
    dtypes = {"prediction": label}
    if runtime.labels is not None and has_predict_proba(model):
        dtypes.update({f"probability_{name}": "Float64" for name in runtime.labels})
        if runtime.profiles.default is not None:
            dtypes.update({"decision": label, "profile": _STRING, "threshold": "Float64"})
    dtypes.update(dict.fromkeys(STATUS_COLUMNS, _STRING))
    return dtypes


def _label_dtype(classes: np.ndarray) -> str:
    kind = classes.dtype.kind
    if kind == "b":
        return "boolean"
    if kind in "iu":
        return "Int64"
    if kind == "f":
        return "Float64"
    return _STRING


def output_frame(
    scored: Scored, runtime: Runtime, dtypes: dict[str, str], index: pd.Index
) -> pd.DataFrame:
    """The added columns for the rows of ``scored`` (one per input row, on ``index``)."""
    batch, outputs = scored.batch, scored.outputs
    rows = len(index)
    columns: dict[str, Any] = {"prediction": scored.per_row(outputs.predictions)}
    if runtime.labels is not None and f"probability_{runtime.labels[0]}" in dtypes:
        probabilities = outputs.probabilities or []
        for i, label in enumerate(runtime.labels):
            columns[f"probability_{label}"] = scored.per_row([row[i] for row in probabilities])
    if "decision" in dtypes:
        profile = scored.profile
        decisions = scored.decisions or [None] * batch.rows
        columns["decision"] = scored.per_row(decisions)
        name = None if profile is None else profile.name
        threshold = None if profile is None else profile.threshold
        columns["profile"] = scored.per_row([name] * batch.rows)
        columns["threshold"] = scored.per_row([threshold] * batch.rows)
    columns.update(_status_columns(scored, rows))
    return pd.DataFrame(
        {name: pd.Series(columns[name], dtype=dtype, index=index) for name, dtype in dtypes.items()}
    )


def _status_columns(scored: Scored, rows: int) -> dict[str, list[Any]]:
    """status, errors, warnings and imputed per row: JSON text without values or row numbers."""
    batch = scored.batch
    refused = set(batch.refused_rows)
    errors: dict[int, list[dict[str, object]]] = defaultdict(list)
    for detail in batch.errors:
        errors[int(detail["row"])].append(_unrowed(detail))  # type: ignore[call-overload]
    warnings: dict[int, list[dict[str, object]]] = defaultdict(list)
    for detail in batch.warnings:
        warnings[int(detail["row"])].append(_unrowed(detail))  # type: ignore[call-overload]
    imputed = scored.per_row(batch.imputed, None)
    status: list[str] = []
    error_texts: list[str | None] = []
    warning_texts: list[str | None] = []
    imputed_texts: list[str | None] = []
    for row in range(rows):
        if row in refused:
            status.append(REFUSED)
            error_texts.append(_json(errors.get(row, [])))
            warning_texts.append(None)
            imputed_texts.append(None)
        else:
            status.append(SCORED)
            error_texts.append(None)
            warning_texts.append(_json(warnings[row]) if row in warnings else "[]")
            names = imputed[row]
            imputed_texts.append(_json(names) if names else "[]")
    return {
        "status": status,
        "errors": error_texts,
        "warnings": warning_texts,
        "imputed": imputed_texts,
    }


def _unrowed(detail: dict[str, object]) -> dict[str, object]:
    """A problem without its row number (the output row is its row)."""
    return {key: value for key, value in detail.items() if key != "row"}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
