"""Whether a column looks like a record identifier rather than a measurement.

An identifier (a patient or record number) predicts nothing that generalises, and a model
that uses one memorises rows. A column looks like one by its name (tokens such as ``id``,
``mrn``, ``uuid``, or ``patient``/``record``/``case`` followed by ``number``/``no``) or by
its values: whole numbers or text, at least :data:`MIN_ROWS` of them, nearly all distinct.
``train`` leaves such columns out unless told to keep them; ``capture`` records and warns.
The reason given names counts, never a value.
"""

from __future__ import annotations

import re
from itertools import pairwise

import numpy as np
import pandas as pd

__all__ = ["DISTINCT_SHARE", "MIN_ROWS", "identifier_reason", "name_tokens"]

# A column with at least this many values, of which this share are distinct, is an identifier.
MIN_ROWS = 50
DISTINCT_SHARE = 0.9
_ID_TOKENS = frozenset({"id", "ids", "uuid", "guid", "mrn"})
_SUBJECTS = frozenset(
    {"record", "patient", "case", "subject", "encounter", "nhs", "specimen", "accession"}
)
_NUMBERS = frozenset({"no", "nr", "num", "number"})
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def name_tokens(name: str) -> list[str]:
    """The words of a column name: split on anything not a letter or digit, and on camelCase
    (``PassengerId`` -> passenger, id; ``patientID`` -> patient, id)."""
    return [
        token.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for token in _CAMEL.findall(part)
    ]


def identifier_reason(name: str, column: pd.Series) -> str | None:
    """Why ``column`` (called ``name``) looks like an identifier, or None."""
    tokens = name_tokens(name)
    if _ID_TOKENS.intersection(tokens) or any(
        first in _SUBJECTS and second in _NUMBERS for first, second in pairwise(tokens)
    ):
        return "its name looks like an identifier's"
    present = column.dropna()
    if len(present) < MIN_ROWS or not _whole_or_text(present):
        return None
    distinct = int(present.nunique())
    if distinct < DISTINCT_SHARE * len(present):
        return None
    return f"{distinct} distinct values in {len(present)} rows"


def _whole_or_text(present: pd.Series) -> bool:
    dtype = present.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return False
    if pd.api.types.is_integer_dtype(dtype):
        return True
    if pd.api.types.is_float_dtype(dtype):
        values = present.to_numpy(dtype=np.float64)
        return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    return bool(present.map(lambda v: isinstance(v, str)).all())
