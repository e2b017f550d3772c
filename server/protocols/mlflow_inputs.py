"""MLflow's request bodies read into a :class:`~server.validation.Payload`, values untouched.

The JSON body holds exactly one of MLflow's four input keys, and may hold ``"params"``:

- ``{"dataframe_split": {"columns": [...], "data": [[...], ...], "index": [...]}}``, pandas'
  ``split`` orient (``DataFrame.to_dict(orient="split")``, which MLflow's own client sends);
- ``{"dataframe_records": [{...}, ...]}``, pandas' ``records`` orient;
- ``{"instances": ...}`` and ``{"inputs": ...}``: a list of records, or an object of columns
  (``{"age": [52, 61], ...}``); an object of single values is one row.

Rows need feature names, as MLflow needs them for a model whose signature names its columns
(every deployml model): rows as bare arrays are refused. ``params`` may carry ``profile`` and
``on_error``. Whether each row holds the right features and values is the validator's
question. Keys that are not MLflow's, like unknown params, are request text: counted, never
repeated.

MLflow's client writes a DataFrame's missing values as ``NaN`` tokens (Python's ``json``
does), which are not JSON: here, as in MLflow, ``NaN`` reads as a missing value (null).
Infinity stays refused.
"""

from __future__ import annotations

import json
from typing import Any

from server.errors import InvalidPayloadError, MalformedJSONError
from server.validation import Payload, kind_of, parse_body, read_payload, with_options

__all__ = ["INPUT_KEYS", "PARAMS_KEY", "parse_json", "read_inputs", "with_params"]

SPLIT, RECORDS, INSTANCES, INPUTS = "dataframe_split", "dataframe_records", "instances", "inputs"
INPUT_KEYS = (SPLIT, RECORDS, INSTANCES, INPUTS)
PARAMS_KEY = "params"
PARAMS = ("profile", "on_error")
# The keys pandas' "split" orient may hold (MLflow refuses any other).
_SPLIT_KEYS = frozenset({"columns", "data", "index"})
_ONE_OF = ", ".join(f'"{key}"' for key in INPUT_KEYS)


def parse_json(body: bytes) -> Any:
    """The parsed body, ``NaN`` tokens read as null (as MLflow's client sends missing values)."""
    try:
        return parse_body(body)
    except MalformedJSONError as error:
        refused = error
    try:
        # Only a body orjson refused comes here: the common case costs nothing more.
        return json.loads(body, parse_constant=_nan_as_null)
    # Not JSON, Infinity, or nested deeper than Python recurses (orjson refuses past 1,024
    # levels too): orjson's message, a position, never text.
    except (ValueError, RecursionError):
        raise refused from None


def _nan_as_null(constant: str) -> None:
    if constant != "NaN":
        raise ValueError("not a finite number")


def read_inputs(parsed: Any, max_rows: int) -> Payload:
    """The rows of a parsed MLflow JSON body, with its ``params``, the row limits enforced."""
    if not isinstance(parsed, dict):
        raise InvalidPayloadError(
            f"the body is {kind_of(parsed)}; expected an object with exactly one of {_ONE_OF}"
        )
    given = [key for key in INPUT_KEYS if key in parsed]
    others = len(parsed.keys() - {*INPUT_KEYS, PARAMS_KEY})
    if len(given) != 1 or others:
        found = f"{len(given)} of them" + (f" and {_keys(others)}" if others else "")
        raise InvalidPayloadError(
            f'the body takes exactly one of {_ONE_OF}, and optionally "{PARAMS_KEY}"; it has '
            f"{found} (names are not repeated)"
        )
    key = given[0]
    inputs = parsed[key]
    if key == SPLIT:
        batch = _split(inputs)
    elif key == RECORDS:
        if not isinstance(inputs, list):
            raise InvalidPayloadError(
                f'"{RECORDS}" is {kind_of(inputs)}; expected an array of records (objects)'
            )
        batch = {"instances": inputs}
    else:
        batch = _tensor_input(key, inputs)
    # deployml's own reader: the columnar checks, empty batches and the row limits.
    payload = read_payload(batch, max_rows, features=())
    return with_params(payload, parsed.get(PARAMS_KEY))


def with_params(payload: Payload, params: Any) -> Payload:
    """``payload`` with what MLflow's ``params`` asks for: a ``profile``, an ``on_error``."""
    if params is None:
        return payload
    if not isinstance(params, dict):
        raise InvalidPayloadError(f'"{PARAMS_KEY}" is {kind_of(params)}; expected an object')
    others = len(params.keys() - set(PARAMS))
    if others:
        allowed = " and ".join(f'"{name}"' for name in PARAMS)
        raise InvalidPayloadError(
            f'"{PARAMS_KEY}" takes {allowed}; it has {_keys(others, "param")} '
            "(names are not repeated)"
        )
    return with_options(payload, params)


def _split(inputs: Any) -> dict[str, Any]:
    if not isinstance(inputs, dict):
        raise InvalidPayloadError(
            f'"{SPLIT}" is {kind_of(inputs)}; expected an object with "columns" and "data" '
            '(and optionally "index"), as DataFrame.to_dict(orient="split") gives'
        )
    others = len(inputs.keys() - _SPLIT_KEYS)
    if others:
        raise InvalidPayloadError(
            f'"{SPLIT}" takes "columns", "data" and "index"; it has {_keys(others)} '
            "(names are not repeated)"
        )
    if "columns" not in inputs or "data" not in inputs:
        raise InvalidPayloadError(
            f'"{SPLIT}" needs "data" and "columns": the rows, and the feature names their '
            "values are of, in order (rows without feature names are not scored)"
        )
    data, index = inputs["data"], inputs.get("index")
    if index is not None and (not isinstance(index, list) or _length(data) != len(index)):
        raise InvalidPayloadError(
            f'"index" of "{SPLIT}" must be an array with one entry per row of "data"'
        )
    return {"columns": inputs["columns"], "data": data}


def _tensor_input(key: str, inputs: Any) -> dict[str, Any]:
    """``instances`` or ``inputs`` as deployml's batch: records, or columns."""
    if isinstance(inputs, list):
        if any(isinstance(row, list) for row in inputs[:1]):
            raise InvalidPayloadError(
                f'"{key}" holds rows as arrays; send records (objects of feature names) or '
                "an object of columns: rows without feature names are not scored"
            )
        return {"instances": inputs}
    if not isinstance(inputs, dict):
        raise InvalidPayloadError(
            f'"{key}" is {kind_of(inputs)}; expected an array of records or an object of columns'
        )
    columns = list(inputs)
    values = list(inputs.values())
    if not any(isinstance(value, list) for value in values):
        return {"instances": [inputs]}  # one value per name: one row
    if not all(isinstance(value, list) for value in values):
        raise InvalidPayloadError(
            f'"{key}" mixes columns (arrays) and single values; send every column as an array'
        )
    lengths = {len(value) for value in values}
    if len(lengths) > 1:
        raise InvalidPayloadError(
            f'the columns of "{key}" hold different numbers of values; each holds one per row'
        )
    return {"columns": columns, "data": [list(row) for row in zip(*values, strict=True)]}


def _length(data: Any) -> int | None:
    return len(data) if isinstance(data, list) else None


def _keys(count: int, what: str = "key") -> str:
    return f"1 other {what}" if count == 1 else f"{count} other {what}s"
