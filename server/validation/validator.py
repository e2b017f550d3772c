"""Validate request rows against the recorded feature schema, compiled once at start-up.

Two paths give the same answer. Small batches go row by row through a marshmallow schema
generated from the :class:`~packager.manifest.FeatureSpec` list. Large batches are checked
column by column: a column whose JSON kinds are all acceptable passes in one set operation;
any other column is checked value by value with the very checks the schema's fields call,
and an irregular batch (a row that is not an object, a missing or extra key) goes back to
the row path. Schemas of numbers only use one float matrix instead
(:mod:`server.validation.matrix`). Values unlike training become warnings
(:mod:`server.validation.novelty`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from types import NoneType
from typing import Any

import numpy as np
from marshmallow import Schema, ValidationError, fields

from packager.artefact import FeatureSpec, InputSpec
from server.errors import Detail, InvalidInputError
from server.validation import checks
from server.validation.matrix import NumericMatrix
from server.validation.novelty import Novelty
from server.validation.payload import MAX_DETAILS, Payload

__all__ = ["COLUMNWISE_FROM", "Batch", "Validator"]

COLUMNWISE_FROM = 64


@dataclass(frozen=True)
class Batch:
    """Validated rows with per-row warnings: columns in training order, or for all-number
    schemas a float matrix (null as NaN) instead."""

    columns: dict[str, Sequence[Any]] | None
    rows: int
    warnings: list[Detail]
    matrix: np.ndarray | None = None


class _FeatureField(fields.Field[Any]):
    """A marshmallow field that accepts exactly what the feature's check accepts."""

    def __init__(self, check: checks.Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        problem = self.check(value)
        if problem is not None:
            raise ValidationError(problem)
        return value


class _FeatureSchema(Schema):
    error_messages = {  # noqa: RUF012 (marshmallow reads this class attribute)
        "unknown": checks.UNKNOWN,
        "type": "expected an object of features",
    }


class Validator:
    """Checks payloads for one model; build once, call :meth:`validate` per request."""

    def __init__(
        self,
        spec: InputSpec,
        *,
        strict_categories: bool = False,
        unscorable: Iterable[str] = (),
        columnwise_from: int = COLUMNWISE_FROM,
    ) -> None:
        self.features = spec.features
        self.names = spec.names
        self.strict_categories = strict_categories
        self.unscorable = frozenset(unscorable)
        self.columnwise_from = columnwise_from
        self._order = {name: i for i, name in enumerate(self.names)}
        self._checks = {f.name: checks.value_check(f) for f in self.features}
        self._fast = {f.name: _fast_types(f) for f in self.features}
        self._novelty = Novelty(
            self.features,
            strict_categories=strict_categories,
            unscorable=self.unscorable,
            vectorise_from=columnwise_from,
        )
        # Field attributes are positional so that no feature name can shadow a Schema method.
        schema_fields: dict[str, fields.Field[Any]] = {
            f"f{i}": _FeatureField(
                self._checks[f.name],
                data_key=f.name,
                required=True,
                allow_none=f.nullable,
                error_messages={"required": checks.MISSING, "null": checks.NULL},
            )
            for i, f in enumerate(self.features)
        }
        self._schema = _FeatureSchema.from_dict(schema_fields, name="Features")(many=True)
        self._getter = _row_getter(self.names)
        self._matrix = (
            NumericMatrix(self.features) if NumericMatrix.applies_to(self.features) else None
        )

    def validate(self, payload: Payload) -> Batch:
        """Raise InvalidInputError or UnseenCategoryError, or return the batch with warnings."""
        columnwise = payload.rows >= self.columnwise_from
        if not columnwise:
            self._check_rows(_records(payload))
        if self._matrix is not None:
            # Flattened straight from the payload: no list of row tuples is kept alive.
            flat = self._regular(payload, lambda rows: list(chain.from_iterable(rows)))
            matrix = None if flat is None else self._matrix.build(flat, payload.rows)
            if matrix is not None:
                return Batch(None, payload.rows, self._matrix.warnings(matrix), matrix)
        rows = self._regular(payload, list)
        if rows is None:
            self._check_rows(_records(payload))
            raise AssertionError("rows that pass the schema are regular")
        columns: dict[str, Sequence[Any]] = dict(
            zip(self.names, zip(*rows, strict=True), strict=True)
        )
        if columnwise:
            self._check_columns(columns)
        return Batch(columns, payload.rows, self._novelty.find(columns, payload.rows))

    def _regular(
        self, payload: Payload, collect: Callable[[Iterable[Sequence[Any]]], list[Any]]
    ) -> list[Any] | None:
        """``collect`` applied to the rows in training order; None if a row lacks or adds a
        feature (or is not an object)."""
        width = len(self.names)
        if payload.records is not None:
            records = payload.records
            if set(map(type, records)) != {dict} or set(map(len, records)) != {width}:
                return None
            try:
                return collect(map(self._getter, records))
            except KeyError:
                return None
        assert payload.columns is not None and payload.data is not None
        if payload.columns == self.names:
            return collect(payload.data)
        if sorted(payload.columns) != sorted(self.names):
            return None
        reorder = _row_getter([payload.columns.index(name) for name in self.names])
        return collect(map(reorder, payload.data))

    def _check_rows(self, records: list[Any]) -> None:
        try:
            self._schema.load(records)
        except ValidationError as error:
            details = _row_details(error.normalized_messages(), self._order)
            raise InvalidInputError(details[:MAX_DETAILS], len(details)) from None

    def _check_columns(self, columns: dict[str, Sequence[Any]]) -> None:
        details: list[Detail] = []
        for feature in self.features:
            column = columns[feature.name]
            kinds = set(map(type, column))
            if kinds <= self._fast[feature.name]:
                continue
            if (
                feature.kind == "number"
                and kinds <= self._fast[feature.name] | {float}
                and _all_finite(column)
            ):
                continue
            check = self._checks[feature.name]
            for row, value in enumerate(column):
                if value is None:
                    problem = None if feature.nullable else checks.NULL
                else:
                    problem = check(value)
                if problem is not None:
                    details.append({"row": row, "feature": feature.name, "problem": problem})
        if details:
            details.sort(key=self._detail_key)
            raise InvalidInputError(details[:MAX_DETAILS], len(details))

    def _detail_key(self, detail: Detail) -> tuple[int, int]:
        return int(detail["row"]), self._order[str(detail["feature"])]  # type: ignore[call-overload]


def _fast_types(feature: FeatureSpec) -> frozenset[type]:
    """JSON kinds that need no per-value look (floats need a finiteness check elsewhere)."""
    kinds = {
        "number": frozenset({int}),
        "integer": frozenset({int}),
        "boolean": frozenset({bool}),
        "string": frozenset({str}),
    }.get(feature.kind)
    if kinds is None:
        kinds = checks.category_types(feature.categories) - {float}
    return kinds | {NoneType} if feature.nullable else kinds


def _row_getter(keys: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """Picks ``keys`` from a row, always as a tuple (itemgetter returns a bare value for one)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda row: (row[key],)
    return itemgetter(*keys)


def _all_finite(column: Sequence[Any]) -> bool:
    """Whether the numbers are finite; nulls (NaN once converted) are counted apart."""
    # orjson never yields inf or NaN, but a float column is cheap to make sure of.
    values = np.asarray(column, dtype=np.float64)
    return not np.isinf(values).any() and int(np.isnan(values).sum()) == column.count(None)


def _records(payload: Payload) -> list[Any]:
    if payload.records is not None:
        return payload.records
    assert payload.columns is not None and payload.data is not None
    return [dict(zip(payload.columns, row, strict=True)) for row in payload.data]


def _row_details(messages: Any, order: dict[str, int]) -> list[Detail]:
    details: list[Detail] = []
    for row, problems in sorted(messages.items()):
        for key, texts in sorted(
            problems.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])
        ):
            for text in texts:
                if key == "_schema":
                    details.append({"row": row, "problem": text})
                else:
                    details.append({"row": row, "feature": key, "problem": text})
    return details
