"""The feature schema: inferring it from training data, and building model input from it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from packager.artefact.manifest import FeatureSpec, InputSpec, Kind, Label
from packager.artefact.values import INT64, json_label, json_value, sorted_labels

__all__ = [
    "MAX_CATEGORIES",
    "MIN_SHARED_TEXT",
    "QUANTILES",
    "feature_spec",
    "infer_input_spec",
    "label_from_text",
    "model_input",
    "records_to_columns",
    "value_from_text",
]

QUANTILES = (0.01, 0.25, 0.5, 0.75, 0.99)
# A free-text value is recorded as the most frequent only if this many rows share it, so that
# no one row's text (a name, say) is ever written into the manifest.
MIN_SHARED_TEXT = 10
# A text column with more distinct values than this is free text ("string"), not a category.
MAX_CATEGORIES = 50
# How a boolean may be written as text (a CSV cell), in any case.
TRUE_TEXT, FALSE_TEXT = ("true", "1"), ("false", "0")


def infer_input_spec(
    X: pd.DataFrame, *, format: str, names_generated: bool, allow_nan: bool
) -> InputSpec:
    """The schema of the training frame ``X``, its columns in training order."""
    features = tuple(feature_spec(str(name), X[name], allow_nan=allow_nan) for name in X.columns)
    return InputSpec(
        format="dataframe" if format == "dataframe" else "array",
        names_generated=names_generated,
        features=features,
    )


def feature_spec(name: str, column: pd.Series, *, allow_nan: bool) -> FeatureSpec:
    """One column's kind, dtype, missing rate, range (numbers) or allowed values (categories)."""
    missing = column.isna()
    n_missing = int(missing.sum())
    present = column[~missing]
    kind = _kind(column, present)
    spec: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "nullable": n_missing > 0 or allow_nan,
        "dtype": str(column.dtype),
        "missing_rate": float(n_missing / len(column)) if len(column) else 0.0,
    }
    if kind in ("number", "integer") and len(present):
        values = present.to_numpy(dtype="float64")
        spec["min"] = json_value(values.min())
        spec["max"] = json_value(values.max())
        spec["quantiles"] = {
            str(q): json_value(v)
            for q, v in zip(QUANTILES, np.quantile(values, QUANTILES), strict=True)
        }
    elif kind == "category":
        if isinstance(column.dtype, pd.CategoricalDtype):
            # Kept in the dtype's order: rebuilding the column must give the same codes.
            spec["categories"] = [json_label(v) for v in column.cat.categories]
        else:
            spec["categories"] = sorted_labels([json_label(v) for v in pd.unique(present)])
    if kind in ("category", "boolean", "string") and len(present):
        spec["most_frequent"] = _most_frequent(
            present, shared=MIN_SHARED_TEXT if kind == "string" else 1
        )
    return FeatureSpec(**spec)


def _most_frequent(present: pd.Series, *, shared: int) -> Any:
    """The most frequent value (ties broken by a fixed order), if ``shared`` rows hold it."""
    counts = present.value_counts(sort=False)
    counts = counts[counts > 0]
    if not len(counts) or counts.max() < shared:
        return None
    return json_label(counts.idxmax())


def _kind(column: pd.Series, present: pd.Series) -> Kind:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if len(present) and all(isinstance(v, bool | np.bool_) for v in present):
        return "boolean"
    if len(present) and all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in present
    ):
        return "number"
    return "category" if present.nunique() <= MAX_CATEGORIES else "string"


def records_to_columns(records: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict:
    """Turn row records into a dict of columns (absent keys become None)."""
    return {name: [row.get(name) for row in records] for name in names}


def model_input(columns: Mapping[str, Sequence[Any]], spec: InputSpec) -> Any:
    """What the estimator expects: a DataFrame (training order and dtypes) or a 2-D array.

    ``columns`` must already be validated against ``spec`` (the server does this); values that
    cannot be cast raise ``ValueError`` or ``TypeError``.
    """
    if spec.format == "dataframe":
        data = {f.name: _column(columns[f.name], f) for f in spec.features}
        return pd.DataFrame(data, columns=spec.names, copy=False)
    arrays = [_array(columns[f.name], f) for f in spec.features]
    if not arrays:
        return np.empty((0, 0))
    dtype = (
        np.result_type(*(a.dtype for a in arrays))
        if all(a.dtype != object for a in arrays)
        else np.dtype(object)
    )
    out = np.empty((len(arrays[0]), len(arrays)), dtype=dtype)
    for i, array in enumerate(arrays):
        out[:, i] = array
    return out


def _array(values: Sequence[Any], feature: FeatureSpec) -> np.ndarray:
    """One column as a numpy array of the training dtype (float when missing values appear)."""
    if feature.kind == "boolean" and feature.dtype == "object":
        # Booleans with gaps, as pandas reads them: True/False objects and NaN. Floats
        # instead would not match what an encoder learned from the training column.
        array = np.empty(len(values), dtype=object)
        array[:] = [np.nan if v is None else bool(v) for v in values]
        return array
    if feature.kind in ("number", "integer", "boolean"):
        dtype = np.dtype(feature.dtype if _is_numpy_numeric(feature.dtype) else "float64")
        if dtype.kind == "f":
            return np.asarray(values, dtype=dtype)  # numpy turns None into NaN itself
        if dtype.kind == "b" and any(v is None for v in values):
            # numpy would turn None into False; a missing boolean must stay missing.
            return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
        try:
            return np.asarray(values, dtype=dtype)
        except TypeError:  # None among integers: the column must be float to hold NaN
            return np.asarray(values, dtype=np.float64)
    array = np.empty(len(values), dtype=object)
    array[:] = [np.nan if v is None else v for v in values]
    return array


def _column(values: Sequence[Any], feature: FeatureSpec) -> Any:
    if feature.kind in ("number", "integer", "boolean") and _is_numpy_numeric(feature.dtype):
        return _array(values, feature)
    array = _array(values, feature)
    if feature.dtype in ("object", "float64", "int64", "bool"):
        return array
    if feature.dtype == "category":
        return pd.Categorical(array, categories=feature.categories)
    try:
        dtype = pd.api.types.pandas_dtype(feature.dtype)
    except TypeError:
        # A dtype this pandas does not know: object keeps the values as given.
        return array
    if isinstance(dtype, np.dtype) and dtype.kind in "OSU":
        # "str" is pandas 3's string dtype but numpy's fixed-width text before it, which
        # would turn missing values into the text "nan"; object keeps them missing.
        return array
    try:
        return pd.Series(array, dtype=dtype, copy=False)
    except (TypeError, ValueError):
        return array


def _is_numpy_numeric(dtype: str) -> bool:
    try:
        return np.dtype(dtype).kind in "biuf"
    except TypeError:
        return False


def label_from_text(text: str, classes: Sequence[Label]) -> Label | None:
    """The model's class written as ``text``, or None."""
    for label in classes:
        if isinstance(label, bool):
            if text.lower() == str(label).lower():
                return label
        elif isinstance(label, int | float):
            if _finite(text) == label:
                return label
        elif text == label:
            return label
    return None


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def value_from_text(text: str, feature: FeatureSpec) -> Label | None:
    """``text`` as the JSON value of ``feature``'s kind; ValueError says what the schema refuses
    (never the value)."""
    if text == "":
        if not feature.nullable:
            raise ValueError("is empty, and this feature may not be missing")
        return None
    kind = feature.kind
    if kind in ("number", "integer"):
        value = _finite(text)
        if value is None:
            raise ValueError(f"is not a finite number, as this {kind} feature needs")
        if kind == "integer" and not value.is_integer():
            raise ValueError("is not a whole number, as this integer feature needs")
        low, high = _integer_range(feature.dtype)
        if kind == "integer" and not low <= value <= high:
            raise ValueError("is outside the range of this feature's type, as a request would be")
        return int(value) if kind == "integer" else _as_written(text, value)
    if kind == "boolean":
        if text.strip().lower() not in TRUE_TEXT + FALSE_TEXT:
            raise ValueError("is not true or false, as this boolean feature needs")
        return text.strip().lower() in TRUE_TEXT
    if kind == "category" and feature.categories:
        found = label_from_text(text, feature.categories)
        if found is None:
            raise ValueError("is not one of the categories the model was trained on")
        return found
    return text


def _as_written(text: str, value: float) -> int | float:
    """A number as a request would send it: a whole number written so stays an integer."""
    try:
        whole = int(text)
    except ValueError:
        return value
    return whole if INT64[0] <= whole <= INT64[1] else value


def _integer_range(dtype: str) -> tuple[int, int]:
    """The whole numbers an integer feature's type holds (as the request checks hold them)."""
    try:
        found = np.dtype(dtype.lower())
    except TypeError:
        return INT64
    info = np.iinfo(found if found.kind in "iu" else np.int64)
    return int(info.min), int(info.max)
