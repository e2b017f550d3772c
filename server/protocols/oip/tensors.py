"""Open Inference Protocol tensors: one column of values in, one tensor out, in JSON or binary.

An input tensor holds one feature's column: shape ``[N]`` or ``[N, 1]``, its values either in
``data`` (flat or nested JSON) or, with the binary tensor data extension, as raw little-endian
bytes after the JSON header (``parameters.binary_data_size`` of them; BYTES as a 4-byte length
then the bytes of each element, BOOL one byte each). Numbers are read with numpy in one call;
a NaN in a floating-point tensor is a missing value (None), as is a JSON null. What a value
means for its feature is the validator's question, not this module's: an INT64 column for a
number feature is read as ints, an FP64 column for an integer feature as floats.

Messages name the tensor (a feature's name: the caller checks it is one) and the datatype or
shape received, never a value.
"""

from __future__ import annotations

import struct
from itertools import chain
from typing import Any

import numpy as np
import orjson

from server.errors import InvalidTensorError

__all__ = [
    "BOOL",
    "BYTES",
    "DATATYPES",
    "FP64",
    "INT64",
    "Column",
    "decode",
    "encode",
    "json_strings",
    "rows_of",
]

BOOL, BYTES, FP64, INT64 = "BOOL", "BYTES", "FP64", "INT64"
# Each fixed-size datatype of the protocol as numpy reads it from the wire (little-endian).
_NUMPY: dict[str, np.dtype[Any]] = {
    BOOL: np.dtype("u1"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    INT64: np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    FP64: np.dtype("<f8"),
}
DATATYPES = frozenset({*_NUMPY, BYTES})
# The Python types a JSON ``data`` array may hold for each kind of datatype (null: missing).
_JSON_TAKES: dict[str, frozenset[type]] = {
    "FP": frozenset({int, float, type(None)}),
    "INT": frozenset({int, type(None)}),
    "UINT": frozenset({int, type(None)}),
    BOOL: frozenset({bool, type(None)}),
    BYTES: frozenset({str, type(None)}),
}
_LENGTH = struct.Struct("<I")
# A column of values, one per row, as the validator reads them.
Column = list[Any]


def rows_of(name: str, tensor: dict[str, Any]) -> int:
    """The number of rows the tensor's shape declares: ``[N]`` or ``[N, 1]``."""
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 2
        or any(type(d) is not int or d < 0 for d in shape)
        or (len(shape) == 2 and shape[1] != 1)
    ):
        raise InvalidTensorError(
            f"input {name}: shape must be [N] or [N, 1] (one column of N rows)"
        )
    rows: int = shape[0]
    return rows


def decode(name: str, tensor: dict[str, Any], rows: int, raw: bytes | None) -> Column:
    """The column of ``rows`` values the tensor holds: from ``raw`` (its binary data) when
    given, else from its JSON ``data``."""
    datatype = tensor.get("datatype")
    # A str first: a list or object is not hashable, and "in" a set would raise (a 500).
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        known = ", ".join(sorted(DATATYPES))
        raise InvalidTensorError(f"input {name}: datatype must be one of {known}")
    if raw is not None:
        return _from_binary(name, datatype, rows, raw)
    return _from_json(name, datatype, rows, tensor.get("data"))


def _from_json(name: str, datatype: str, rows: int, data: Any) -> Column:
    if not isinstance(data, list):
        raise InvalidTensorError(f"input {name}: data must be an array (or binary data)")
    if data and set(map(type, data)) == {list}:
        # Nested as the shape [N, 1]: one array of one value per row.
        if set(map(len, data)) != {1}:
            raise InvalidTensorError(f"input {name}: data must hold one value per row")
        data = list(chain.from_iterable(data))
    if len(data) != rows:
        raise InvalidTensorError(
            f"input {name}: data holds {len(data)} values, its shape says {rows}"
        )
    family = (
        BOOL if datatype == BOOL else BYTES if datatype == BYTES else datatype.rstrip("0123456789")
    )
    if not set(map(type, data)) <= _JSON_TAKES[family]:
        raise InvalidTensorError(f"input {name}: {datatype} data holds values of another type")
    return data


def _from_binary(name: str, datatype: str, rows: int, raw: bytes) -> Column:
    if datatype == BYTES:
        return _strings(name, rows, raw)
    dtype = _NUMPY[datatype]
    if len(raw) != rows * dtype.itemsize:
        raise InvalidTensorError(
            f"input {name}: binary_data_size is {len(raw)} bytes; {rows} {datatype} values "
            f"take {rows * dtype.itemsize}"
        )
    values = np.frombuffer(raw, dtype=dtype)
    if datatype == BOOL:
        column: Column = (values != 0).tolist()
        return column
    if dtype.kind != "f":
        column = values.tolist()
        return column
    values = values.astype(np.float64)
    missing = np.isnan(values)
    if not missing.any():
        column = values.tolist()
        return column
    boxed = values.astype(object)
    boxed[missing] = None
    column = boxed.tolist()
    return column


def _strings(name: str, rows: int, raw: bytes) -> Column:
    """BYTES elements: each a 4-byte little-endian length, then that many bytes (UTF-8)."""
    view = memoryview(raw)
    column: Column = []
    at, end = 0, len(raw)
    unpack = _LENGTH.unpack_from
    try:
        # One step per element: their lengths are only known one after the other.
        for _ in range(rows):
            (size,) = unpack(view, at)
            at += 4
            if at + size > end:
                raise InvalidTensorError(f"input {name}: its binary data ends inside an element")
            column.append(str(view[at : at + size], "utf-8"))
            at += size
    except struct.error:
        raise InvalidTensorError(
            f"input {name}: its binary data holds fewer than {rows} elements"
        ) from None
    except UnicodeDecodeError:
        raise InvalidTensorError(f"input {name}: BYTES elements must be UTF-8 text") from None
    if at != end:
        raise InvalidTensorError(f"input {name}: its binary data holds more than {rows} elements")
    return column


def encode(
    name: str, datatype: str, values: Any, shape: list[int], binary: bool
) -> tuple[dict[str, Any], bytes | None]:
    """An output tensor of ``values`` (row-major), in JSON ``data`` or as binary bytes (then
    returned beside the tensor, whose ``parameters.binary_data_size`` counts them)."""
    if datatype in (BOOL, INT64) and isinstance(values, list) and None in values:
        # A row without a label (the model gave NaN probabilities): NaN in a float tensor.
        datatype = FP64
    tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": shape}
    if not binary:
        tensor["data"] = _plain(values)
        return tensor, None
    if datatype == BYTES:
        # A missing label (None) is an empty element.
        encoded = [b"" if v is None else str(v).encode("utf-8") for v in _plain(values)]
        raw = b"".join(chain.from_iterable((_LENGTH.pack(len(e)), e) for e in encoded))
    else:
        # None (a missing probability or prediction) becomes NaN in a float tensor.
        raw = np.asarray(values, dtype=_NUMPY[datatype]).tobytes()
    tensor["parameters"] = {"binary_data_size": len(raw)}
    return tensor, raw


def _plain(values: Any) -> list[Any]:
    """``values`` as a flat list of Python values."""
    if isinstance(values, np.ndarray):
        flat: list[Any] = values.ravel().tolist()
        return flat
    return list(values)


def json_strings(items: list[Any]) -> list[str]:
    """Each item as one JSON text (a BYTES element per row)."""
    return [orjson.dumps(item).decode("utf-8") for item in items]
