"""The model's input built from validated request values: training order, training dtypes.

A column is rebuilt in the dtype the estimator was fitted on, so that it sees what it learned
from: numeric category codes as numbers (not objects), booleans with gaps as objects. A
column of an integer dtype keeps it only when every value is a whole number that dtype holds;
a fraction, a null or a number beyond the type makes it ``float64``, so that no value is ever
truncated (55.5 to 55) or wrapped around (1e30); so does a number beyond a ``float32``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from packager.artefact.manifest import FeatureSpec, InputSpec

__all__ = ["model_input", "records_to_columns"]

_NUMERIC_KINDS = ("number", "integer", "boolean")


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
    numeric = _numpy_numeric(feature.dtype)
    if feature.kind in _NUMERIC_KINDS or (feature.kind == "category" and numeric is not None):
        dtype = numeric or np.dtype(np.float64)
        if dtype.kind == "f":
            return _floats(values, dtype)
        if dtype.kind == "b":
            if any(v is None for v in values):
                # numpy would turn None into False; a missing boolean must stay missing.
                return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
            return np.asarray(values, dtype=dtype)
        return _whole_or_float(values, dtype)
    array = np.empty(len(values), dtype=object)
    array[:] = [np.nan if v is None else v for v in values]
    return array


def _floats(values: Sequence[Any], dtype: np.dtype) -> np.ndarray:
    """``values`` in the float ``dtype`` if it holds every one, else ``float64`` (1e39 would
    be infinity as a float32)."""
    array = np.asarray(values, dtype=np.float64)  # numpy turns None into NaN itself
    if dtype == array.dtype:
        return array
    with np.errstate(invalid="ignore"):
        beyond = bool((np.abs(array) > np.finfo(dtype).max).any())
    return array if beyond else array.astype(dtype)


def _whole_or_float(values: Sequence[Any], dtype: np.dtype) -> np.ndarray:
    """``values`` in the integer ``dtype`` if it holds every one exactly, else ``float64``."""
    array = values if isinstance(values, np.ndarray) else np.asarray(values)
    if array.dtype == dtype:  # numpy read every value as this very type
        return array
    if array.dtype.kind in "iu":  # whole numbers all: in the dtype, unless beyond it
        return array.astype(dtype if _within(array, dtype) else np.float64, copy=False)
    if array.dtype.kind != "f":  # None among them, or integers beyond numpy's: floats
        return np.asarray(values, dtype=np.float64)  # None becomes NaN
    floats = array.astype(np.float64, copy=False)
    whole = _as_whole(floats, dtype)
    return floats if whole is None else whole


def _as_whole(floats: np.ndarray, dtype: np.dtype) -> np.ndarray | None:
    """``floats`` in the integer ``dtype``, or None unless it holds every one exactly."""
    with np.errstate(invalid="ignore"):  # NaN and numbers beyond the type cast to anything
        whole = floats.astype(dtype)
    return whole if bool((whole == floats).all()) and _within(floats, dtype) else None


def _within(array: np.ndarray, dtype: np.dtype) -> bool:
    """Whether every one of ``array`` lies in the integer ``dtype``'s range."""
    if not array.size:
        return True
    info = np.iinfo(dtype)
    if array.dtype.kind in "iu":
        return bool(array.min() >= info.min and array.max() <= info.max)
    # float(info.max) rounds up to 2**63 for int64: compare below it, not up to it.
    return bool(array.min() >= info.min and array.max() < float(info.max) + 1)


def _column(values: Sequence[Any], feature: FeatureSpec) -> Any:
    array = _array(values, feature)
    if _numpy_numeric(feature.dtype) is not None or feature.dtype == "object":
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
    # pandas' nullable integers (Int64) hold missing values, not fractions or 1e30.
    if (
        array.dtype.kind == "f"
        and pd.api.types.is_integer_dtype(dtype)
        and _as_whole(array[~np.isnan(array)], np.dtype(getattr(dtype, "numpy_dtype", "int64")))
        is None
    ):
        return array
    try:
        return pd.Series(array, dtype=dtype, copy=False)
    except (TypeError, ValueError):
        return array


def _numpy_numeric(dtype: str) -> np.dtype | None:
    """The numpy dtype named ``dtype`` when it is a number or boolean one, else None."""
    try:
        found = np.dtype(dtype)
    except TypeError:
        return None
    return found if found.kind in "biuf" else None
