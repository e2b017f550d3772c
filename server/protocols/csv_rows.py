"""A CSV body (a header row, then one line per row) read into a columnar payload by the schema.

Each cell becomes the JSON value a request would send for its feature, so the validator
judges it as it judges JSON: an empty cell is null; a number feature's cell a number (whole
as an integer, as written); a boolean's ``true``/``false``/``1``/``0``; a category's the
training category it spells (``2`` for a category of numbers). A cell that cannot be read so
stays text, which the validator refuses by row and feature, like a string sent for a number;
a category never seen in training goes on, to be warned about or refused as in JSON. Columns
that are not features stay text and are counted, never named. Numbers are read a column at a
time by numpy, other kinds once per distinct text.

A first header cell left empty is the index ``DataFrame.to_csv()`` writes by default, and is
dropped, as pandas reads it into a column MLflow then ignores.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from packager.artefact import FeatureSpec, value_from_text
from server.errors import EmptyBatchError, InvalidPayloadError, TooManyRowsError
from server.validation import Payload

__all__ = ["read_csv"]

_NUMBERS = ("number", "integer")


def read_csv(body: bytes, max_rows: int, features: Sequence[FeatureSpec]) -> Payload:
    """The rows of a CSV body, each cell read by its column's feature; the row limits
    enforced."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidPayloadError(
            f"the CSV body is not UTF-8 text (byte {error.start:,} is not)"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        # pandas skips blank lines; so does this.
        lines = [line for line in reader if line]
    except csv.Error:
        # csv's message may quote the line; only its number is told.
        raise InvalidPayloadError(
            f"the CSV body cannot be read as CSV at line {reader.line_num}"
        ) from None
    if not lines:
        raise InvalidPayloadError("the CSV body is empty; send a header row of feature names")
    header, rows = lines[0], lines[1:]
    if header[0] == "" and all(f.name != "" for f in features):
        header, rows = header[1:], [row[1:] for row in rows]
    if not header:
        # Only the index (a DataFrame of no column, or a header cell of "" alone).
        raise InvalidPayloadError("the CSV header names no column; send the feature names")
    repeated = sum(1 for count in Counter(header).values() if count > 1)
    if repeated:
        raise InvalidPayloadError(
            f"the CSV header repeats {repeated} name(s); name each column once"
        )
    if not rows:
        raise EmptyBatchError()
    if len(rows) > max_rows:
        raise TooManyRowsError(len(rows), max_rows)
    by_name = {f.name: f for f in features}
    return Payload(rows=len(rows), columns=header, data=_values(rows, header, by_name))


def _values(
    rows: list[list[str]], header: list[str], features: Mapping[str, FeatureSpec]
) -> list[list[Any]]:
    """The rows with each cell read by its feature; a row of the wrong width stays as it is,
    for the validator to refuse by its row."""
    width = len(header)
    regular = [i for i, row in enumerate(rows) if len(row) == width]
    if not regular:
        return list(rows)
    kept = rows if len(regular) == len(rows) else [rows[i] for i in regular]
    columns = [
        _column(texts, features.get(name))
        for name, texts in zip(header, zip(*kept, strict=True), strict=True)
    ]
    read = [list(row) for row in zip(*columns, strict=True)]
    if len(regular) == len(rows):
        return read
    out: list[list[Any]] = list(rows)
    for i, row in zip(regular, read, strict=True):
        out[i] = row
    return out


def _column(texts: tuple[str, ...], feature: FeatureSpec | None) -> list[Any]:
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
