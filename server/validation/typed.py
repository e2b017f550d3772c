"""Batch bodies decoded from their bytes against types built from the schema, then checked whole.

msgspec decodes an ``instances`` or columnar body at C speed against types built once from
the schema: each row holds exactly the schema's features (a columnar body names them once,
in any order), each of a JSON kind its feature accepts (a number; true or false; a string; a
category's kinds; null where the feature takes null). A wrong kind, a missing or unknown
key, a row of the wrong length or anything else in the body fails the decode. For a schema
of numbers only, the rows become one float matrix checked by
:class:`~server.validation.matrix.NumericMatrix`; for any other schema, columns checked by
:class:`~server.validation.columns.ColumnChecks`. A body that fails to decode, or whose
values have any problem, makes :meth:`TypedBodies.read` return None, and the body goes the
generic way (orjson, :func:`~server.validation.payload.read_payload`, the validator), which
words every problem as it always has. So this path only answers bodies the generic one
accepts as they are, with the same matrix or columns: msgspec and orjson refuse the same
malformed JSON and read the same numbers (both correctly rounded). One difference is
guarded: msgspec keeps an integer beyond 64 bits as an integer where orjson reads a float,
so such a body goes the generic way.

A columnar body of numbers only (without ``keep_rows``) is read whole by simdjson,
:func:`~server.validation.cells.columnar_numbers`, straight into the matrix and to the same
bits. A body it will not read (a null, a row of another length, an option that is not a
string) msgspec decodes keeping ``data`` as raw JSON, for
:func:`~server.validation.cells.number_rows` to try simdjson on that alone; what that will
not read either msgspec decodes as above.

A ``profile`` or ``on_error`` is kept as its raw JSON text and read by orjson, so it reaches
the same checks as the same value sent the generic way. With ``keep_rows`` (the audit trail
hashes each row as sent), numbers are decoded as orjson reads them (``52`` stays an integer)
and the payload keeps the rows too, as objects or as arrays in the body's column order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import chain, repeat
from types import NoneType
from typing import Any

import msgspec
import numpy as np
import orjson

from packager.artefact import FeatureSpec
from server.validation import checks
from server.validation.cells import columnar_numbers, number_rows
from server.validation.columns import ColumnChecks
from server.validation.matrix import NumericMatrix
from server.validation.payload import BATCH_KEYS, Payload, with_options

__all__ = ["TypedBodies"]

_UNSET: Any = msgspec.UNSET
_OPTIONS = ("profile", "on_error")
# The integers orjson reads as integers; it reads any other as a float, msgspec as an integer.
_LOWEST, _HIGHEST = -(2**63), 2**64 - 1
# Columnar bodies of a mixed schema decode their rows in the order the body names the
# columns; a decoder is kept for each of the first few orders seen.
_ORDERS_KEPT = 16
_NUMBERS = frozenset({int, float, NoneType})
_BEYOND_64_BITS = 2.0**63

Decoder = Callable[[bytes], Any]


class TypedBodies:
    """Decodes the batch bodies of one schema into a checked matrix or checked columns."""

    def __init__(
        self,
        features: Sequence[FeatureSpec],
        matrix: NumericMatrix | None,
        column_checks: ColumnChecks,
        *,
        keep_rows: bool = False,
    ) -> None:
        self.features = {f.name: f for f in features}
        self.names = list(self.features)
        self.width = len(self.names)
        self._sorted_names = sorted(self.names)
        self._matrix = matrix
        self._checks = column_checks
        self.keep_rows = keep_rows
        self._nullable = any(f.nullable for f in features)
        # For numbers only, every number is read as a float straight away, unless the rows
        # are kept as sent (an integer stays an integer, as orjson reads it).
        as_float = matrix is not None and not keep_rows
        row = _row_type(features, as_float=as_float, array_like=False)
        data: Any = msgspec.Raw
        self._data: Decoder | None = None
        if matrix is not None:
            number: Any = float if as_float else int | float
            rows: Any = list[list[number | None]] if self._nullable else list[list[number]]
            if as_float:  # read by simdjson, or by this decoder when it will not
                self._data = msgspec.json.Decoder(rows).decode
            else:
                data = rows
        # A name with a bracket or a brace makes every body fail simdjson's whole reading.
        self._whole = self._data is not None and not any(set(n) & {"[", "{"} for n in self.names)
        body = msgspec.defstruct(
            "Body",
            [
                ("instances", list[row] | msgspec.UnsetType, _UNSET),  # type: ignore[valid-type]
                ("columns", list[str] | msgspec.UnsetType, _UNSET),
                ("data", data | msgspec.UnsetType, _UNSET),
                *((key, msgspec.Raw | msgspec.UnsetType, _UNSET) for key in _OPTIONS),
            ],
            forbid_unknown_fields=True,
        )
        self._decode: Decoder = msgspec.json.Decoder(body).decode
        self._rows_by_order: dict[tuple[str, ...], Decoder] = {}

    @staticmethod
    def applies_to(features: Sequence[FeatureSpec]) -> bool:
        """Whether bodies for ``features`` can be decoded this way: some features, none
        named like a batch key (a body with that key would be one instance), and no category
        that takes floats but not integers (msgspec would read an integer as a float)."""
        return (
            bool(features)
            and not {f.name for f in features} & set(BATCH_KEYS)
            and not any(map(_floats_not_integers, features))
        )

    def read(self, body: bytes, max_rows: int) -> Payload | None:
        """The payload of a valid batch body, its values checked, or None when the body
        must go the generic way (which then accepts it or words its problems)."""
        whole = columnar_numbers(body, self.width, _OPTIONS) if self._whole else None
        if whole is not None:
            if not self._names_all(whole.columns):
                return None
            rows: Any = (whole.columns, whole.matrix)
            options = whole.options
        else:
            try:
                decoded = self._decode(body)
                rows = self._rows(decoded)
            except (msgspec.DecodeError, msgspec.ValidationError):
                return None
            if rows is None:
                return None
            options = {}
            for key in _OPTIONS:
                raw = getattr(decoded, key)
                if raw is not _UNSET:
                    try:
                        options[key] = orjson.loads(bytes(raw))
                    except orjson.JSONDecodeError:
                        return None
        payload = self._checked(rows, max_rows)
        return None if payload is None else with_options(payload, options)

    def _names_all(self, columns: Sequence[str]) -> bool:
        """Whether a columnar body's ``columns`` are the features, in any order."""
        return len(columns) == self.width and sorted(columns) == self._sorted_names

    def _rows(self, decoded: Any) -> tuple[Sequence[str], list[Any]] | None:
        """The body's column order and its rows (structs or lists), or None for a body that
        is not exactly one of the two batch shapes, or names other columns."""
        if decoded.instances is not _UNSET:
            if decoded.columns is not _UNSET or decoded.data is not _UNSET:
                return None
            return self.names, decoded.instances
        columns, data = decoded.columns, decoded.data
        if columns is _UNSET or data is _UNSET:
            return None
        if not self._names_all(columns):
            return None
        if self._matrix is None:
            data = self._rows_decoder(columns)(bytes(data))
        elif self._data is not None:
            matrix = number_rows(data, self.width)
            data = self._data(bytes(data)) if matrix is None else matrix
        return columns, data

    def _rows_decoder(self, columns: list[str]) -> Decoder:
        """The decoder of a columnar body's rows with its columns in this order."""
        order = tuple(columns)
        found = self._rows_by_order.get(order)
        if found is None:
            if len(self._rows_by_order) >= _ORDERS_KEPT:
                self._rows_by_order.clear()
            features = [self.features[name] for name in order]
            row = _row_type(features, as_float=False, array_like=True)
            found = msgspec.json.Decoder(list[row]).decode  # type: ignore[valid-type]
            self._rows_by_order[order] = found
        return found

    def _checked(self, rows: tuple[Sequence[str], list[Any]], max_rows: int) -> Payload | None:
        columns, values = rows
        if not 0 < len(values) <= max_rows:
            return None
        if self._matrix is not None:
            matrix = self._float_matrix(columns, values)
            if matrix is None or not self._matrix.passes(matrix):
                return None
            # Kept rows must hold what orjson reads: beyond 64 bits, a float, not an integer.
            if self.keep_rows and (np.abs(matrix) >= _BEYOND_64_BITS).any():
                return None
            return self._as_sent(Payload(rows=len(matrix), matrix=matrix), columns, values)
        transposed = zip(*map(msgspec.structs.astuple, values), strict=True)
        by_name = dict(zip(columns, transposed, strict=True))
        checked: dict[str, Sequence[Any]] = {name: by_name[name] for name in self.names}
        kinds = {name: set(map(type, column)) for name, column in checked.items()}
        if any(
            int in kinds[name]
            and kinds[name] <= _NUMBERS
            and not _in_64_bits(checked[name], kinds[name])
            for name in self.names
        ):
            return None
        if self._checks.first_problems(checked, kinds):
            return None
        return self._as_sent(Payload(rows=len(values), checked=checked), columns, values)

    def _as_sent(self, payload: Payload, columns: Sequence[str], values: list[Any]) -> Payload:
        """``payload`` with its rows as sent, for the audit trail to hash, if they are kept:
        each row an object (instances), or an array in the body's column order."""
        if not self.keep_rows:
            return payload
        if columns is self.names:
            rows = map(msgspec.structs.astuple, values)
            records = list(map(dict, map(zip, repeat(self.names), rows)))
            return replace(payload, records=records)
        if self._matrix is None:
            values = list(map(list, map(msgspec.structs.astuple, values)))
        return replace(payload, columns=list(columns), data=values)

    def _float_matrix(self, columns: Sequence[str], values: Any) -> np.ndarray | None:
        """The rows as a row-major float matrix in training order (null as NaN), or None
        for columnar rows of the wrong length."""
        rows, width = len(values), self.width
        if isinstance(values, np.ndarray):  # columnar rows read by simdjson
            matrix = values
        else:
            if columns is self.names:  # instances: structs in training order
                flat = chain.from_iterable(map(msgspec.structs.astuple, values))
            elif set(map(len, values)) != {width}:
                return None
            else:
                flat = chain.from_iterable(values)
            if self._nullable:
                # np.fromiter cannot take None; np.array reads it as NaN.
                matrix = np.array(list(flat), dtype=np.float64).reshape(rows, width)
            else:
                matrix = np.fromiter(flat, np.float64, count=rows * width).reshape(rows, width)
        if columns is not self.names and list(columns) != self.names:
            # Row-major like every other path's matrix: numpy indexes columns into a
            # column-major copy, and a model's sums can round differently over another layout.
            order = [columns.index(name) for name in self.names]
            matrix = np.ascontiguousarray(matrix[:, order])
        return matrix


def _row_type(features: Sequence[FeatureSpec], *, as_float: bool, array_like: bool) -> Any:
    """A row as a struct: one field per feature, typed by the JSON kinds it accepts. Fields
    are named by position (a feature's name need not be an identifier) and renamed to the
    feature names; a row holds no container, so it needs no GC tracking."""
    fields = [f"f{i}" for i in range(len(features))]
    return msgspec.defstruct(
        "Row",
        [(field, _kinds(f, as_float)) for field, f in zip(fields, features, strict=True)],
        rename=dict(zip(fields, [f.name for f in features], strict=True)),
        forbid_unknown_fields=True,
        array_like=array_like,
        gc=False,
    )


def _kinds(feature: FeatureSpec, as_float: bool) -> Any:
    """The type a feature's values decode to: the JSON kinds its checks accept."""
    kind = feature.kind
    found: Any
    if kind in ("number", "integer"):
        # An integer feature also takes a whole float; its checks refuse a fractional one.
        found = float if as_float else int | float
    elif kind == "boolean":
        found = bool
    elif kind == "string":
        found = str
    else:
        accepted = checks.category_types(feature.categories)
        found = None
        for python_type in (str, int, float, bool):
            if python_type in accepted:
                found = python_type if found is None else found | python_type
    return found | None if feature.nullable else found


def _in_64_bits(column: Sequence[Any], kinds: set[type]) -> bool:
    """Whether the integers of a column of numbers (and nulls) are ones orjson also reads as
    integers; a float beyond them may also say no, which only costs the generic path."""
    present = [v for v in column if v is not None] if NoneType in kinds else column
    return min(present) >= _LOWEST and max(present) <= _HIGHEST


def _floats_not_integers(feature: FeatureSpec) -> bool:
    accepted = checks.category_types(feature.categories)
    return feature.kind == "category" and float in accepted and int not in accepted
