"""Batches of numbers decoded from the body's bytes straight into a checked float matrix.

For a schema of numbers only, a batch body is decoded by msgspec against types built once
from the schema, at C speed and without a Python step per value: an ``instances`` row is an
object with exactly the schema's features, each a number (or null, where the feature takes
null); a columnar body names the features once (in any order) and its rows are arrays of
numbers or nulls. A boolean, a string, an object, a missing or unknown key, a row of the
wrong length, anything else in the body, or a value the float matrix checks give up on
(beyond its type's range or its plausible limits, null where none is allowed), and
:meth:`TypedBodies.read` returns None: the body then goes the generic way (orjson,
:func:`~server.validation.payload.read_payload`, the validator), which words every problem
as it always has. So this path only answers bodies that the generic one accepts as they
are, with the same float matrix: msgspec and orjson refuse the same malformed JSON and read
the same numbers (both correctly rounded; out-of-range numbers refused by both).

A ``profile`` or ``on_error`` is kept as its raw JSON text and read by orjson, so it reaches
the same checks as the same value sent the generic way.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import msgspec
import numpy as np
import orjson

from packager.artefact import FeatureSpec
from server.validation.matrix import NumericMatrix
from server.validation.payload import BATCH_KEYS, Payload, with_options

__all__ = ["TypedBodies"]

_UNSET: Any = msgspec.UNSET


class TypedBodies:
    """Decodes the batch bodies of one all-number schema into a checked float matrix."""

    def __init__(self, features: Sequence[FeatureSpec], matrix: NumericMatrix) -> None:
        self.names = [f.name for f in features]
        self.width = len(self.names)
        self._matrix = matrix
        self._nullable = bool(matrix.nullable.any())
        # Fields are named by position (a feature's name need not be an identifier) and
        # renamed to the feature names; a row's fields are floats, so it needs no GC tracking.
        fields = [f"f{i}" for i in range(self.width)]
        row = msgspec.defstruct(
            "Row",
            [
                (field, float | None if f.nullable else float)
                for field, f in zip(fields, features, strict=True)
            ],
            rename=dict(zip(fields, self.names, strict=True)),
            forbid_unknown_fields=True,
            gc=False,
        )
        value = float | None if self._nullable else float
        body = msgspec.defstruct(
            "Body",
            [
                ("instances", list[row] | msgspec.UnsetType, _UNSET),  # type: ignore[valid-type]
                ("columns", list[str] | msgspec.UnsetType, _UNSET),
                ("data", list[list[value]] | msgspec.UnsetType, _UNSET),  # type: ignore[valid-type]
                ("profile", msgspec.Raw | msgspec.UnsetType, _UNSET),
                ("on_error", msgspec.Raw | msgspec.UnsetType, _UNSET),
            ],
            forbid_unknown_fields=True,
        )
        self._decoder = msgspec.json.Decoder(body)

    @staticmethod
    def applies_to(features: Sequence[FeatureSpec]) -> bool:
        """Whether bodies for ``features`` can be decoded this way: numbers only, and no
        feature named like a batch key (its body would be one instance)."""
        return NumericMatrix.applies_to(features) and not {f.name for f in features} & set(
            BATCH_KEYS
        )

    def read(self, body: bytes, max_rows: int) -> Payload | None:
        """The payload of a batch body with its float matrix checked, or None when the body
        must go the generic way (which then accepts it or words its problems)."""
        try:
            decoded = self._decoder.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        matrix = self._decoded_matrix(decoded)
        if matrix is None or not 0 < len(matrix) <= max_rows:
            return None
        if not self._matrix.passes(matrix):
            return None
        options = {}
        for key in ("profile", "on_error"):
            raw = getattr(decoded, key)
            if raw is not _UNSET:
                try:
                    options[key] = orjson.loads(bytes(raw))
                except orjson.JSONDecodeError:
                    return None
        return with_options(Payload(rows=len(matrix), matrix=matrix), options)

    def _decoded_matrix(self, decoded: Any) -> np.ndarray | None:
        """The rows as a float matrix in training order (null as NaN), or None."""
        if decoded.instances is not _UNSET:
            if decoded.columns is not _UNSET or decoded.data is not _UNSET:
                return None
            return self._from_rows(decoded.instances)
        if decoded.columns is _UNSET or decoded.data is _UNSET:
            return None
        return self._from_columns(decoded.columns, decoded.data)

    def _from_rows(self, rows: list[Any]) -> np.ndarray:
        values = chain.from_iterable(map(msgspec.structs.astuple, rows))
        if self._nullable:
            # np.fromiter cannot take None; np.array reads it as NaN.
            flat = np.array(list(values), dtype=np.float64)
        else:
            flat = np.fromiter(values, dtype=np.float64, count=len(rows) * self.width)
        return flat.reshape(len(rows), self.width)

    def _from_columns(self, columns: list[str], data: list[list[Any]]) -> np.ndarray | None:
        if len(columns) != self.width or sorted(columns) != sorted(self.names):
            return None
        if not data:
            return None
        try:
            # Rows of unequal length make an inhomogeneous array, which numpy refuses.
            matrix = np.array(data, dtype=np.float64)
        except ValueError:
            return None
        if matrix.shape != (len(data), self.width):
            return None
        if columns != self.names:
            # Row-major like every other path's matrix: numpy indexes columns into a
            # column-major copy, and a model's sums can round differently over another layout.
            order = [columns.index(name) for name in self.names]
            matrix = np.ascontiguousarray(matrix[:, order])
        return matrix
