"""The three accepted request bodies, read into rows without looking at feature values.

- one instance: ``{"age": 52, "sex": "F"}``;
- a batch: ``{"instances": [{...}, {...}]}``;
- a columnar batch: ``{"columns": ["age", "sex"], "data": [[52, "F"], [61, "M"]]}``.

An object with ``instances``, ``columns`` or ``data`` (those of them that are not the
model's feature names) is a batch; any other object is one instance. A batch may also say
what to do with invalid rows (``"on_error": "fail"`` or ``"skip"``) and name the threshold
profile to decide with (``"profile": "site-b"``), and nothing else: another key is refused,
counted and not named, since it is request text (``"id"`` beside ``"instances"`` would
otherwise be read as one row with every feature missing). One instance can say neither,
since ``profile`` may be a feature's name: send it as a batch of one. Whether each row has
the right shape is the validator's question, asked with its values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import orjson

from server.errors import (
    EmptyBatchError,
    InvalidPayloadError,
    MalformedJSONError,
    TooManyRowsError,
)
from server.settings import ON_ERROR

__all__ = [
    "BATCH_KEYS",
    "FAIL",
    "ON_ERROR_KEY",
    "PROFILE_KEY",
    "SKIP",
    "Payload",
    "kind_of",
    "parse_body",
    "read_payload",
    "with_options",
]

# The keys that make a body a batch (unless the model has a feature of that name).
BATCH_KEYS = ("instances", "columns", "data")
# The key of a batch that names the threshold profile to decide with.
PROFILE_KEY = "profile"
# The key of a batch that says what invalid rows do: fail the batch, or are skipped.
ON_ERROR_KEY = "on_error"
FAIL, SKIP = ON_ERROR
_BATCH_TAKES = frozenset({*BATCH_KEYS, PROFILE_KEY, ON_ERROR_KEY})

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
    """The rows of a request: ``records`` (one object per row) or ``columns`` + ``data``; or,
    already checked, a float ``matrix`` (all-number schemas) or ``checked`` columns; or a
    table's columns ``by_column``."""

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
    # A valid batch, every value already checked (server.validation.typed): its rows as a
    # float matrix in training order (null as NaN), or its columns in training order.
    matrix: np.ndarray | None = None
    checked: dict[str, Sequence[Any]] | None = None
    # A table's values held column by column, one list per feature in training order
    # (``columns``), not yet checked: batch scoring, which reads tables a column at a time.
    by_column: list[list[Any]] | None = None


def parse_body(body: bytes) -> Any:
    """Parse a JSON body with orjson, which also refuses NaN and Infinity tokens."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        # orjson's message names the position, never the offending text.
        raise MalformedJSONError(f"line {error.lineno} column {error.colno}") from None


def read_payload(parsed: Any, max_rows: int, *, features: Collection[str]) -> Payload:
    """Recognise the shape of a parsed body (``features``: the model's feature names) and
    enforce the row limits."""
    if not isinstance(parsed, dict):
        raise InvalidPayloadError(f"the body is {kind_of(parsed)}; {_SHAPES}")
    if any(key in parsed and key not in features for key in BATCH_KEYS):
        payload = _batch(parsed)
    else:
        # One instance: a "profile" or "on_error" key is one of its features, as it always was.
        payload = Payload(rows=1, records=[parsed])
    if payload.rows == 0:
        raise EmptyBatchError()
    if payload.rows > max_rows:
        raise TooManyRowsError(payload.rows, max_rows)
    return payload


def _batch(parsed: dict[str, Any]) -> Payload:
    others = len(parsed.keys() - _BATCH_TAKES)
    if others:
        keys = "1 other key" if others == 1 else f"{others} other keys"
        raise InvalidPayloadError(
            'a batch takes "instances" (or "columns" and "data"), "profile" and "on_error"; '
            f"this body has {keys} (names are not repeated); "
            "send a request id in the X-Request-ID header"
        )
    if "instances" in parsed:
        if "columns" in parsed or "data" in parsed:
            raise InvalidPayloadError(
                'a batch is "instances" or "columns" and "data", not both; send one of them'
            )
        records = parsed["instances"]
        if not isinstance(records, list):
            raise InvalidPayloadError(f'"instances" is {kind_of(records)}; expected an array')
        payload = Payload(rows=len(records), records=records)
    elif "data" not in parsed:
        raise InvalidPayloadError(
            '"columns" comes with "data": the rows, each an array of values in column order'
        )
    elif "columns" not in parsed:
        raise InvalidPayloadError(
            '"data" comes with "columns": the feature names its rows hold values of, in order'
        )
    else:
        payload = _columnar(parsed["columns"], parsed["data"])
    return with_options(payload, parsed)


def with_options(payload: Payload, options: Mapping[str, Any]) -> Payload:
    """``payload`` with the ``on_error`` and ``profile`` that ``options`` (a batch, or
    another protocol's parameters) holds, if any; an ``on_error`` other than the two is
    refused."""
    if ON_ERROR_KEY in options:
        on_error = options[ON_ERROR_KEY]
        if type(on_error) is not str or on_error not in ON_ERROR:
            allowed = " or ".join(f'"{value}"' for value in ON_ERROR)
            raise InvalidPayloadError(
                f'"on_error" must be {allowed} (what was sent is not repeated)'
            )
        payload = replace(payload, on_error=on_error)
    if PROFILE_KEY in options:
        payload = replace(payload, profile=options[PROFILE_KEY], names_profile=True)
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
