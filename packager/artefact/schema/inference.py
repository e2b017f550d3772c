"""The schema inferred from the training frame, the model's own pipeline and the data dictionary.

Kinds in format 4.0. A column of an integer dtype is a ``number`` (its dtype kept): whole
training values say nothing of what a request may hold. ``integer`` (whole numbers only)
comes from the dictionary alone. A numeric column is a ``category`` of numeric codes when the
dictionary says ``categorical: true``, or when the model's pipeline one-hot or ordinal encodes
it and it has at most :data:`MAX_CATEGORIES` codes. A feature is nullable when the dictionary
says so, else when training had gaps, the estimator accepts NaN, or its pipeline imputes it.
Where the dictionary and the data disagree, a :class:`~packager.errors.DictionaryError` says so
(it names the feature and key, and counts rows; it never quotes a value).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from packager.artefact.manifest import FeatureSpec, InputSpec, Kind, Label
from packager.artefact.schema.declared import (
    NUMBER_KINDS,
    Dictionary,
    Entry,
    check_limits_of,
    check_not_measured,
    limits_of,
    said,
)
from packager.artefact.values import json_label, json_value, sorted_labels
from packager.errors import DictionaryError

__all__ = [
    "MAX_CATEGORIES",
    "MIN_SHARED_TEXT",
    "QUANTILES",
    "ColumnHint",
    "feature_spec",
    "feature_without_data",
    "infer_input_spec",
]

QUANTILES = (0.01, 0.25, 0.5, 0.75, 0.99)
# A free-text value is recorded as the most frequent only if this many rows share it, so that
# no one row's text (a name, say) is ever written into the manifest.
MIN_SHARED_TEXT = 10
# A text column with more distinct values than this is free text ("string"), not a category;
# a numeric column the pipeline encodes is taken for codes up to this many distinct values.
MAX_CATEGORIES = 50
DEFAULT_SOURCE = "the data dictionary"


class ColumnHint(NamedTuple):
    """What the model's own pipeline does with a column: the categories an encoder learned
    (None when it is not encoded), whether an imputer fills in its missing values, and
    whether its missing values reach, unfilled, steps that all accept them."""

    categories: list[Label] | None = None
    imputed: bool = False
    accepts_nan: bool = False


def infer_input_spec(
    X: pd.DataFrame,
    *,
    format: str,
    names_generated: bool,
    allow_nan: bool,
    hints: Mapping[str, ColumnHint] | None = None,
    dictionary: Dictionary | None = None,
    identifiers: Collection[str] = (),
) -> InputSpec:
    """The schema of the training frame ``X``, its columns in training order.

    ``hints`` is what the model's pipeline does with each column, ``dictionary`` what the
    author says of it, and ``identifiers`` the columns found to look like identifiers (the
    dictionary's ``identifier`` key overrides that finding).
    """
    hints = hints or {}
    source = DEFAULT_SOURCE if dictionary is None else dictionary.source
    features = tuple(
        feature_spec(
            str(name),
            X[name],
            allow_nan=allow_nan,
            hint=hints.get(str(name)),
            entry=None if dictionary is None else dictionary.entry(str(name)),
            identifier=str(name) in identifiers,
            source=source,
        )
        for name in X.columns
    )
    return InputSpec(
        format="dataframe" if format == "dataframe" else "array",
        names_generated=names_generated,
        features=features,
    )


def feature_spec(
    name: str,
    column: pd.Series,
    *,
    allow_nan: bool,
    hint: ColumnHint | None = None,
    entry: Entry | None = None,
    identifier: bool = False,
    source: str = DEFAULT_SOURCE,
) -> FeatureSpec:
    """One column's kind, dtype, missing rate, range (numbers) or allowed values (categories),
    with what its pipeline does and what its dictionary entry says."""
    hint = hint or ColumnHint()
    given = said(entry)
    missing = column.isna()
    n_missing = int(missing.sum())
    present = column[~missing]
    kind = _declared_kind(name, column, present, hint, given, source)
    nullable = given.get("nullable", n_missing > 0 or allow_nan or hint.imputed or hint.accepts_nan)
    spec: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "nullable": bool(nullable),
        "dtype": str(column.dtype),
        "missing_rate": float(n_missing / len(column)) if len(column) else 0.0,
        "unit": given.get("unit"),
        "description": given.get("description"),
        "imputed": hint.imputed,
        "identifier": bool(given.get("identifier", identifier)),
        "declared": list(given),
    }
    spec["plausible_min"], spec["plausible_max"] = limits_of(name, kind, given, source)
    if kind in NUMBER_KINDS and len(present):
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
    feature = FeatureSpec(**spec)
    check_limits_of(feature, present, "training", source)
    return feature


def feature_without_data(
    name: str,
    hint: ColumnHint | None,
    *,
    allow_nan: bool,
    entry: Entry | None = None,
    identifier: bool = False,
    source: str = DEFAULT_SOURCE,
) -> FeatureSpec:
    """A feature of a model packaged without data: what its pipeline and the dictionary say.

    Encoder categories make a category (a boolean if they are true and false); the rest is a
    ``float64`` number unless the dictionary says otherwise.
    """
    hint = hint or ColumnHint()
    given = said(entry)
    categories = None if hint.categories is None else sorted_labels(hint.categories)
    kind: Kind = "number"
    dtype = "float64"
    if categories and all(isinstance(c, bool) for c in categories):
        kind, dtype = "boolean", "bool"
    elif categories is not None and given.get("categorical") is not False:
        check_not_measured(name, given, source)
        kind, dtype = "category", _codes_dtype(categories)
    if given.get("categorical") is True and kind == "number":
        if categories is None:
            raise DictionaryError(
                source,
                f"{name!r}: categorical: true, but no encoder of the model learned its codes and "
                "no training data was given, so they are unknown; give the training data too",
            )
        kind = "category"
    elif given.get("categorical") is False and kind == "category":
        kind, categories = "number", None
        dtype = "float64"
    if given.get("integer"):
        kind = "integer"
    limits = limits_of(name, kind, given, source)
    return FeatureSpec(
        name,
        kind,
        bool(given.get("nullable", allow_nan or hint.imputed or hint.accepts_nan)),
        dtype,
        categories=categories if kind == "category" else None,
        unit=given.get("unit"),
        description=given.get("description"),
        plausible_min=limits[0],
        plausible_max=limits[1],
        imputed=hint.imputed,
        identifier=bool(given.get("identifier", identifier)),
        declared=list(given),
    )


def _codes_dtype(categories: Sequence[Label]) -> str:
    """The dtype that rebuilds an encoder's categories as it saw them."""
    if categories and all(isinstance(c, int) and not isinstance(c, bool) for c in categories):
        return "int64"
    if categories and all(
        isinstance(c, int | float) and not isinstance(c, bool) for c in categories
    ):
        return "float64"
    return "object"


def _declared_kind(
    name: str,
    column: pd.Series,
    present: pd.Series,
    hint: ColumnHint,
    given: Mapping[str, Any],
    source: str,
) -> Kind:
    """The kind the training values show, as the dictionary and the pipeline refine it."""
    kind = _kind(column, present)
    categorical, integer = given.get("categorical"), given.get("integer")
    if categorical is False and kind in ("category", "string"):
        raise DictionaryError(
            source,
            f"{name!r}: categorical: false, but its training column holds text (or is a "
            "pandas Categorical), which a model can only take as categories",
        )
    encoded = hint.categories is not None and int(present.nunique()) <= MAX_CATEGORIES
    if kind == "number" and encoded and categorical is None:
        check_not_measured(name, given, source)
        return "category"
    if integer:
        if kind != "number":
            raise DictionaryError(
                source, f"{name!r}: integer: true, but its training values are not numbers"
            )
        values = present.to_numpy(dtype="float64")
        fractions = int(np.count_nonzero(values != np.round(values)))
        if fractions:
            raise DictionaryError(
                source,
                f"{name!r}: integer: true, but {fractions} training "
                f"{'row holds' if fractions == 1 else 'rows hold'} a fraction; "
                "correct the data or the dictionary",
            )
        return "integer"
    if kind == "number" and categorical:
        return "category"
    return kind


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
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"  # an integer dtype too: its dtype is kept, fractions are valid
    if len(present) and all(isinstance(v, bool | np.bool_) for v in present):
        return "boolean"
    if len(present) and all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in present
    ):
        return "number"
    return "category" if present.nunique() <= MAX_CATEGORIES else "string"
