"""A CSV body (a header row, then one line per row) read into a columnar payload by the schema.

Each cell becomes the JSON value a request would send for its feature
(:func:`server.validation.column_from_text`, which batch scoring of CSV files uses too), so
the validator judges it as it judges JSON. Columns that are not features stay text and are
counted, never named.

A first header cell left empty is the index ``DataFrame.to_csv()`` writes by default, and is
dropped, as pandas reads it into a column MLflow then ignores.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from packager.artefact import FeatureSpec
from server.errors import EmptyBatchError, InvalidPayloadError, TooManyRowsError
from server.validation import Payload, column_from_text

__all__ = ["read_csv"]


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
        column_from_text(texts, features.get(name))
        for name, texts in zip(header, zip(*kept, strict=True), strict=True)
    ]
    read = [list(row) for row in zip(*columns, strict=True)]
    if len(regular) == len(rows):
        return read
    out: list[list[Any]] = list(rows)
    for i, row in zip(regular, read, strict=True):
        out[i] = row
    return out
