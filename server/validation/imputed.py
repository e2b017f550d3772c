"""Which features each row sent as null, for the model's pipeline to fill in.

A nullable feature sent as ``null`` reaches the model as missing, and the model fills it in
(its imputer, or an estimator that handles missing values); the answer says so per row, in
feature order. Rows without a null, nearly all of them, share one empty list, so a batch
without nulls costs a list of references and nothing else. Never mutate a row's list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np

__all__ = ["NONE", "imputed_counts", "imputed_from_columns", "imputed_from_matrix"]

NONE: list[str] = []  # shared by every row without a null: never mutate it


def imputed_from_columns(
    columns: Mapping[str, Sequence[Any]], with_nulls: Sequence[str], rows: int
) -> list[list[str]]:
    """Per row, the features of ``with_nulls`` (in feature order) that are null in it."""
    imputed = [NONE] * rows
    for name in with_nulls:
        for row in [r for r, value in enumerate(columns[name]) if value is None]:
            imputed[row] = [name] if imputed[row] is NONE else [*imputed[row], name]
    return imputed


def imputed_from_matrix(matrix: np.ndarray, names: Sequence[str]) -> list[list[str]]:
    """Per row of a float matrix (null as NaN), the features that are null in it."""
    imputed = [NONE] * len(matrix)
    missing = np.isnan(matrix)
    for row in np.flatnonzero(missing.any(axis=1)).tolist():
        imputed[row] = [names[column] for column in np.flatnonzero(missing[row]).tolist()]
    return imputed


def imputed_counts(imputed: Sequence[Sequence[str]]) -> dict[str, int]:
    """How many rows had each feature filled in; ``{}`` when none had (found cheaply)."""
    if not any(imputed):
        return {}
    return dict(Counter(chain.from_iterable(imputed)))
