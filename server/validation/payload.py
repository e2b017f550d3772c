"""The three accepted request bodies, read into rows without looking at feature values.

- one instance: ``{"age": 52, "sex": "F"}``;
- a batch: ``{"instances": [{...}, {...}]}``;
- a columnar batch: ``{"columns": ["age", "sex"], "data": [[52, "F"], [61, "M"]]}``.

An object whose only key is ``instances``, or whose keys are exactly ``columns`` and
``data``, is read as a batch; any other object is one instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from server.errors import (
    Detail,
    EmptyBatchError,
    InvalidInputError,
    InvalidPayloadError,
    MalformedJSONError,
    TooManyRowsError,
)

__all__ = ["MAX_DETAILS", "Payload", "kind_of", "parse_body", "read_payload"]

MAX_DETAILS = 100
_SHAPES = (
    'expected one instance as an object, {"instances": [{...}, ...]}, '
    'or {"columns": [...], "data": [[...], ...]}'
)
_JSON_KINDS: dict[type, str] = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
    list: "an array",
    dict: "an object",
}


def kind_of(value: object) -> str:
    """The JSON kind of a parsed value, for messages that must not quote the value."""
    return _JSON_KINDS.get(type(value), "an unsupported value")


@dataclass(frozen=True)
class Payload:
    """The rows of a request: ``records`` (one object per row) or ``columns`` + ``data``."""

    rows: int
    records: list[Any] | None = None
    columns: list[str] | None = None
    data: list[list[Any]] | None = None


def parse_body(body: bytes) -> Any:
    """Parse a JSON body with orjson, which also refuses NaN and Infinity tokens."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        # orjson's message names the position, never the offending text.
        raise MalformedJSONError(f"line {error.lineno} column {error.colno}") from None


def read_payload(parsed: Any, max_rows: int) -> Payload:
    """Recognise the shape of a parsed body and enforce the row limits."""
    if not isinstance(parsed, dict):
        raise InvalidPayloadError(f"the body is {kind_of(parsed)}; {_SHAPES}")
    keys = parsed.keys()
    if keys == {"instances"}:
        records = parsed["instances"]
        if not isinstance(records, list):
            raise InvalidPayloadError(f'"instances" is {kind_of(records)}; expected an array')
        payload = Payload(rows=len(records), records=records)
    elif keys == {"columns", "data"}:
        payload = _columnar(parsed["columns"], parsed["data"])
    else:
        payload = Payload(rows=1, records=[parsed])
    if payload.rows == 0:
        raise EmptyBatchError()
    if payload.rows > max_rows:
        raise TooManyRowsError(payload.rows, max_rows)
    return payload


def _columnar(columns: Any, data: Any) -> Payload:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidPayloadError('"columns" must be an array of feature names (strings)')
    if len(set(columns)) != len(columns):
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        raise InvalidPayloadError(f'"columns" names {", ".join(repeated)} more than once')
    if not isinstance(data, list):
        raise InvalidPayloadError(f'"data" is {kind_of(data)}; expected an array of rows')
    width = len(columns)
    if set(map(type, data)) - {list} or set(map(len, data)) - {width}:
        details: list[Detail] = [
            {"row": i, "problem": _row_shape_problem(row, width)}
            for i, row in enumerate(data)
            if not isinstance(row, list) or len(row) != width
        ]
        raise InvalidInputError(details[:MAX_DETAILS], len(details))
    return Payload(rows=len(data), columns=columns, data=data)


def _row_shape_problem(row: Any, width: int) -> str:
    if not isinstance(row, list):
        return f"is {kind_of(row)}; expected an array of {width} values"
    return f"has {len(row)} values; expected {width}, one per column"
