"""A table's text cells read as the JSON values a request would send (CSV bodies, CSV files).

An empty cell is null; a number feature's cell a number (whole as an integer, as written); a
boolean's ``true``/``false``/``1``/``0``; a category's the training category it spells (``2``
for a category of numbers). A cell that cannot be read so stays text, which the validator
refuses by row and feature, like a string sent for a number; a category never seen in
training goes on, to be warned about or refused as in JSON. A column that is no feature stays
text. Numbers are read a column at a time by numpy, other kinds once per distinct text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from packager.artefact import FeatureSpec, value_from_text

__all__ = ["column_from_text"]

_NUMBERS = ("number", "integer")


def column_from_text(texts: Sequence[str], feature: FeatureSpec | None) -> list[Any]:
    """One column's cells as JSON values (text, for a column that is not a feature)."""
    cells = np.array(texts, dtype=str)
    empty = cells == ""
    if feature is None:
        values = np.array(texts, dtype=object)
    elif feature.kind in _NUMBERS:
        values = _numbers(cells, empty)
    else:
        found, inverse = np.unique(cells, return_inverse=True)
        read = np.empty(len(found), dtype=object)
        read[:] = [_cell(str(text), feature) for text in found]
        values = read[inverse.reshape(-1)]
    values[empty] = None
    result: list[Any] = values.tolist()
    return result


def _numbers(cells: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Numbers as written: whole ones as integers, others as floats, unreadable ones as text."""
    filled = np.where(empty, "0", cells)
    for kind in (np.int64, np.float64):
        try:
            return filled.astype(kind).astype(object)
        except (ValueError, OverflowError):
            continue
    # Some cell is not a number: read each, keeping the others' text for the validator.
    values = np.empty(len(cells), dtype=object)
    values[:] = [_number(str(text)) for text in filled]
    return values


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _cell(text: str, feature: FeatureSpec) -> Any:
    """A boolean's or a category's cell, as ``value_from_text`` reads it; a text it refuses
    stays text, or a number for a category of numbers (the validator judges either)."""
    if text == "":
        return None
    try:
        return value_from_text(text, feature)
    except ValueError:
        pass
    if feature.kind == "category" and any(
        isinstance(c, int | float) and not isinstance(c, bool) for c in feature.categories or ()
    ):
        return _number(text)
    return text
