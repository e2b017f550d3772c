"""The three accepted request bodies, read into rows without looking at feature values.

- one instance: ``{"age": 52, "sex": "F"}``;
- a batch: ``{"instances": [{...}, {...}]}``;
- a columnar batch: ``{"columns": ["age", "sex"], "data": [[52, "F"], [61, "M"]]}``.

An object whose only key is ``instances``, or whose keys are exactly ``columns`` and
``data``, is read as a batch; any other object is one instance. A batch may also name the
threshold profile to decide with (``{"profile": "site-b", "instances": [...]}``); one
instance cannot, since ``profile`` may be a feature's name: send it as a batch of one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

import orjson

from server.errors import (
    MAX_DETAILS,
    EmptyBatchError,
    InvalidInputError,
    InvalidPayloadError,
    MalformedJSONError,
    TooManyRowsError,
)

__all__ = ["MAX_DETAILS", "PROFILE_KEY", "Payload", "kind_of", "parse_body", "read_payload"]

# The key of a batch that names the threshold profile to decide with.
PROFILE_KEY = "profile"

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
    # A batch's "profile" as sent (any JSON value: server.runtime.profiles checks it), when
    # the body had that key.
    profile: Any = None
    names_profile: bool = False
    # A batch's "on_error" ("fail" or "skip"), when the body had that key; None: the setting.
    on_error: str | None = None


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
    keys = parsed.keys() - {PROFILE_KEY}
    names_profile = PROFILE_KEY in parsed
    if keys == {"instances"}:
        records = parsed["instances"]
        if not isinstance(records, list):
            raise InvalidPayloadError(f'"instances" is {kind_of(records)}; expected an array')
        payload = Payload(rows=len(records), records=records)
    elif keys == {"columns", "data"}:
        payload = _columnar(parsed["columns"], parsed["data"])
    else:
        # One instance: a "profile" key is one of its features, as it always was.
        names_profile = False
        payload = Payload(rows=1, records=[parsed])
    if names_profile:
        payload = replace(payload, profile=parsed[PROFILE_KEY], names_profile=True)
    if payload.rows == 0:
        raise EmptyBatchError()
    if payload.rows > max_rows:
        raise TooManyRowsError(payload.rows, max_rows)
    if payload.data is not None:
        _check_row_shapes(payload.data, len(payload.columns or ()))
    return payload


def _columnar(columns: Any, data: Any) -> Payload:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidPayloadError('"columns" must be an array of feature names (strings)')
    repeated = sum(1 for count in Counter(columns).values() if count > 1)
    if repeated:
        # The names are request text: count them, do not repeat them.
        raise InvalidPayloadError(f'"columns" repeats {repeated} name(s); name each column once')
    if not isinstance(data, list):
        raise InvalidPayloadError(f'"data" is {kind_of(data)}; expected an array of rows')
    return Payload(rows=len(data), columns=columns, data=data)


def _check_row_shapes(data: list[Any], width: int) -> None:
    """Refuse rows that are not arrays of ``width`` values, looking no further than the cap."""
    if not set(map(type, data)) - {list} and not set(map(len, data)) - {width}:
        return
    wrong = (
        {"row": i, "problem": _row_shape_problem(row, width)}
        for i, row in enumerate(data)
        if not isinstance(row, list) or len(row) != width
    )
    raise InvalidInputError(list(islice(wrong, MAX_DETAILS + 1)))


def _row_shape_problem(row: Any, width: int) -> str:
    if not isinstance(row, list):
        return f"is {kind_of(row)}; expected an array of {width} values"
    return f"has {len(row)} values; expected {width}, one per column"
