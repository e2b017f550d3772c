"""An Open Inference Protocol infer request read into a payload, and its answer into tensors.

The body is read whatever its Content-Type: a JSON header, then (the binary tensor data
extension, which tritonclient uses by default) the inputs' raw bytes in input order, the
header's length in the ``Inference-Header-Content-Length`` request header. Every feature
comes as one input tensor of the same N rows; the columns become the rows of a
:class:`~server.validation.Payload` in training order. Python's ``json.dumps`` writes a NaN
as ``NaN``, which is not JSON: such a header is read again with the standard library, a NaN
as null (missing). Outputs come back in JSON ``data``, or as raw bytes after the header where
the request asks (``binary_data`` on an output, or ``binary_data_output`` for all of them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from server.errors import InvalidTensorError, TooManyRowsError
from server.http import Answer
from server.protocols.oip.signature import (
    DECISION,
    IMPUTED,
    PREDICT,
    PROBABILITIES,
    WARNINGS,
    Signature,
)
from server.protocols.oip.tensors import decode, encode, json_strings, rows_of
from server.validation import Payload

__all__ = ["HEADER_LENGTH", "InferRequest", "read_request", "respond"]

HEADER_LENGTH = "Inference-Header-Content-Length"
# The content types an input or the request may declare: each input is one column anyway.
_CONTENT_TYPES = frozenset({"pd", "np", "str"})
_SPECIALS = {"NaN": None, "Infinity": float("inf"), "-Infinity": float("-inf")}


@dataclass(frozen=True)
class InferRequest:
    """What an infer request asks: its rows, its id, and the outputs (name -> binary)."""

    payload: Payload
    id: Any
    outputs: dict[str, bool]


def read_request(
    body: bytes, header_length: str | None, signature: Signature, max_rows: int
) -> InferRequest:
    """Read an infer request's body (``header_length``: the header's value, if sent)."""
    header, binary = _split(body, header_length)
    parsed = _parse(header)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("inputs"), list):
        raise InvalidTensorError('the request must be an object with "inputs": an array')
    parameters = _parameters(parsed, "the request")
    _content_type(parameters, "the request")
    tensors = _by_feature(parsed["inputs"], signature)
    columns = _columns(tensors, binary, max_rows)
    names = list(signature.inputs)
    rows = list(map(list, zip(*(columns[name] for name in names), strict=True)))
    profile = {"profile": parameters["profile"]} if "profile" in parameters else {}
    payload = Payload(
        rows=len(rows), columns=names, data=rows, names_profile=bool(profile), **profile
    )
    outputs = _outputs(parsed.get("outputs"), parameters, signature)
    return InferRequest(payload=payload, id=parsed.get("id"), outputs=outputs)


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    # ASCII digits only, and few of them: str.isdigit() takes "²" and int() refuses it, and
    # int() refuses a string of more than 4300 digits; either was a 500.
    digits = header_length.isascii() and header_length.isdigit() and len(header_length) <= 18
    length = int(header_length) if digits else -1
    if not 0 < length <= len(body):
        raise InvalidTensorError(
            f"{HEADER_LENGTH} must be the JSON header's length in bytes, "
            f"at most the body's {len(body)}"
        )
    return body[:length], body[length:]


def _parse(header: bytes) -> Any:
    try:
        return orjson.loads(header)
    except orjson.JSONDecodeError:
        pass
    try:
        parsed = json.loads(header, parse_constant=_SPECIALS.__getitem__)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        # orjson stops at 1024 levels of nesting; the standard library recurses until Python
        # does not (a 500 without this).
        where = (
            f"line {error.lineno} column {error.colno}"
            if isinstance(error, json.JSONDecodeError)
            else "nested too deeply"
            if isinstance(error, RecursionError)
            else "not UTF-8"
        )
        raise InvalidTensorError(f"the request's JSON header is not valid JSON ({where})") from None
    try:
        # The standard library also takes what orjson refuses for another reason than NaN: a
        # lone surrogate ("\ud800") makes a string no UTF-8 can hold, and the echoed id, the
        # answer or the audit line would fail on it later (a 500).
        orjson.dumps(parsed)
    except TypeError:
        raise InvalidTensorError(
            "the request's JSON header is not valid JSON (a string is not UTF-8 text)"
        ) from None
    return parsed


def _parameters(holder: dict[str, Any], what: str) -> dict[str, Any]:
    parameters = holder.get("parameters", {})
    if not isinstance(parameters, dict):
        raise InvalidTensorError(f'"parameters" of {what} must be an object')
    return parameters


def _content_type(parameters: dict[str, Any], what: str) -> None:
    content_type = parameters.get("content_type", "pd")
    if not isinstance(content_type, str) or content_type not in _CONTENT_TYPES:
        raise InvalidTensorError(
            f"the content_type of {what} is not supported; send pd (or none): "
            "each input is one column"
        )


def _by_feature(inputs: list[Any], signature: Signature) -> dict[str, dict[str, Any]]:
    """The input tensors by feature name, in the request's order; every feature once."""
    if not all(isinstance(t, dict) for t in inputs):
        raise InvalidTensorError('each of "inputs" must be an object (a tensor)')
    names = [t.get("name") for t in inputs]
    unknown = sum(1 for name in names if not _known(name, signature.inputs))
    if unknown:
        # Request text: counted, never repeated.
        raise InvalidTensorError(
            f"{unknown} input(s) name no feature of this model (names are not repeated); "
            f"its inputs are: {', '.join(signature.inputs)}"
        )
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise InvalidTensorError(f"inputs repeat {', '.join(repeated)}; send each feature once")
    missing = [name for name in signature.inputs if name not in names]
    if missing:
        raise InvalidTensorError(f"missing input(s): {', '.join(missing)}; send every feature")
    return dict(zip(names, inputs, strict=True))


def _columns(
    tensors: dict[str, dict[str, Any]], binary: bytes, max_rows: int
) -> dict[str, list[Any]]:
    """Each feature's column of values; the same number of rows in every one."""
    counts = {name: rows_of(name, tensor) for name, tensor in tensors.items()}
    rows = next(iter(counts.values()))
    differ = [name for name, count in counts.items() if count != rows]
    if differ:
        raise InvalidTensorError(
            f"every input must hold the same number of rows; {', '.join(differ)} "
            f"differ from {next(iter(counts))}"
        )
    if rows == 0:
        raise InvalidTensorError("the inputs hold no rows; send at least one")
    if rows > max_rows:
        raise TooManyRowsError(rows, max_rows)
    columns, at = {}, 0
    for name, tensor in tensors.items():
        parameters = _parameters(tensor, f"input {name}")
        _content_type(parameters, f"input {name}")
        size = parameters.get("binary_data_size")
        raw = None
        if size is not None:
            if type(size) is not int or size < 0 or at + size > len(binary):
                raise InvalidTensorError(
                    f"input {name}: binary_data_size runs past the body's binary data"
                )
            raw, at = binary[at : at + size], at + size
        columns[name] = decode(name, tensor, rows, raw)
    if at != len(binary):
        raise InvalidTensorError(
            f"the body holds {len(binary) - at} bytes of binary data no input's "
            "binary_data_size accounts for"
        )
    return columns


def _outputs(requested: Any, parameters: dict[str, Any], signature: Signature) -> dict[str, bool]:
    """The outputs to return, each with whether its data goes in binary."""
    binary = parameters.get("binary_data_output") is True
    if requested is None:
        return dict.fromkeys(signature.outputs, binary)
    if not isinstance(requested, list) or not all(isinstance(o, dict) for o in requested):
        raise InvalidTensorError('"outputs" must be an array of objects, each with a "name"')
    unknown = sum(1 for output in requested if not _known(output.get("name"), signature.outputs))
    if unknown:
        raise InvalidTensorError(
            f"{unknown} requested output(s) are not outputs of this model (names are not "
            f"repeated); its outputs are: {', '.join(signature.outputs)}"
        )
    chosen = {}
    for output in requested:
        given = _parameters(output, f"output {output['name']}").get("binary_data")
        chosen[output["name"]] = binary if given is None else given is True
    return chosen


def _known(name: Any, names: dict[str, Any]) -> bool:
    return isinstance(name, str) and name in names


def respond(
    answer: Answer, request: InferRequest, signature: Signature
) -> tuple[bytes, bytes | None]:
    """The JSON header of the answer, and the outputs' binary data when any is binary."""
    rows = answer.batch.rows
    tensors, chunks = [], []
    for name, binary in request.outputs.items():
        datatype, shape = signature.outputs[name]
        tensor, raw = encode(name, datatype, _values(name, answer), [rows, *shape[1:]], binary)
        if name == PROBABILITIES:
            tensor.setdefault("parameters", {})["labels"] = signature.labels
        tensors.append(tensor)
        if raw is not None:
            chunks.append(raw)
    header: dict[str, Any] = {"model_name": signature.name, "model_version": signature.version}
    if request.id is not None:
        header["id"] = request.id
    if answer.profile is not None:
        header["parameters"] = {"profile": answer.profile.name}
    header["outputs"] = tensors
    return orjson.dumps(header), b"".join(chunks) if chunks else None


def _values(name: str, answer: Answer) -> Any:
    """The values of one output, in row order (only those asked for are made)."""
    body = answer.body
    if name == PREDICT:
        return answer.outputs.predictions
    if name == PROBABILITIES:
        return np.asarray(answer.outputs.probabilities, dtype=np.float64)
    if name == DECISION:
        return body["decisions"]
    if name == WARNINGS:
        return json_strings(_by_row(body["warnings"], answer.batch.rows))
    assert name == IMPUTED, name
    return json_strings(body["imputed"])


def _by_row(warnings: list[dict[str, Any]], rows: int) -> list[list[dict[str, Any]]]:
    """The warnings of each row, in row order."""
    per_row: list[list[dict[str, Any]]] = [[] for _ in range(rows)]
    for warning in warnings:
        per_row[int(warning["row"])].append(warning)
    return per_row
