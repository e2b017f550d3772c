"""Validate request rows against the recorded feature schema, compiled once at start-up.

Two paths give the same answer. Small batches go row by row: a row passes when every
feature is present and passes its check, and a row that does not goes through a marshmallow
schema generated from the :class:`~packager.manifest.FeatureSpec` list, which words its
problems with the same checks. Large batches are checked
column by column: a column whose JSON kinds are all acceptable passes in one set operation;
any other column is checked value by value with the very checks the schema's fields call,
and an irregular batch (a row that is not an object, a missing or extra key) goes back to
the row path. Schemas of numbers only use one float matrix instead
(:mod:`server.validation.matrix`). Values unlike training become warnings
(:mod:`server.validation.novelty`).

Every path stops looking once it has found one problem more than the error lists
(``MAX_DETAILS``), so a request costs in proportion to its answer: a batch of 9,999 empty
rows is refused after its first four rows, not after building 300,000 problems.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import itemgetter
from types import NoneType
from typing import Any

import numpy as np
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from packager.artefact import FeatureSpec, InputSpec
from server.errors import MAX_DETAILS, Detail, InvalidInputError
from server.validation import checks
from server.validation.matrix import NumericMatrix
from server.validation.novelty import Novelty
from server.validation.payload import Payload, kind_of

__all__ = ["COLUMNWISE_FROM", "Batch", "Validator"]

COLUMNWISE_FROM = 64
_ABSENT = object()


@dataclass(frozen=True)
class Batch:
    """Validated rows with per-row warnings: columns in training order, or for all-number
    schemas a float matrix (null as NaN) instead."""

    columns: dict[str, Sequence[Any]] | None
    rows: int
    warnings: list[Detail]
    matrix: np.ndarray | None = None
    # Per row of this batch (the kept rows), the features sent as null that the model fills in.
    imputed: list[list[str]] = field(default_factory=list)
    # Only when rows were skipped ("on_error": "skip"): the request's row index of each row
    # of this batch, the refused rows' indices, and their problems (at most MAX_DETAILS + 1).
    kept: list[int] | None = None
    refused_rows: list[int] = field(default_factory=list)
    errors: list[Detail] = field(default_factory=list)


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
    class Meta:
        # Unknown keys are counted by the validator, once per row, and never repeated.
        unknown = EXCLUDE


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
        self._known = frozenset(self.names)
        self._bounds = {f.name: checks.type_bounds(f) for f in self.features}
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
        self._schema = _FeatureSchema.from_dict(schema_fields, name="Features")()
        self._getter = _row_getter(self.names)
        self._row_checks = [(f.name, self._checks[f.name], f.nullable) for f in self.features]
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

    def _check_rows(self, records: Iterable[Any]) -> None:
        """Check row after row, and stop once more problems were found than can be listed."""
        found: list[Detail] = []
        for row, record in enumerate(records):
            found.extend(self._row_problems(row, record))
            if len(found) > MAX_DETAILS:
                break
        if found:
            raise InvalidInputError(found)

    def _row_problems(self, row: int, record: Any) -> list[Detail]:
        """One row's problems: by feature in training order, then its unknown keys."""
        if not isinstance(record, dict):
            return [
                {"row": row, "problem": f"is {kind_of(record)}; expected an object of features"}
            ]
        problems: dict[str, list[str]] = {}
        if not self._clean(record):
            try:
                self._schema.load(record)
            except ValidationError as error:
                problems = error.normalized_messages()
        details: list[Detail] = [
            {"row": row, "feature": name, "problem": text}
            for name in self.names
            for text in problems.get(name, ())
        ]
        unknown = len(record) - len(record.keys() & self._known)
        if unknown:
            first = (key for key in record if key not in self._known)
            missing = [name for name in self.names if name not in record]
            suggestions = checks.close_features(first, missing)
            details.append({"row": row, "problem": checks.unknown_features(unknown, suggestions)})
        return details

    def _clean(self, record: dict[str, Any]) -> bool:
        """Whether the schema would pass the row, found with its own checks and no marshmallow
        machinery (several times faster; marshmallow then only words the problems)."""
        for name, check, nullable in self._row_checks:
            value = record.get(name, _ABSENT)
            if value is None:
                if not nullable:
                    return False
            elif value is _ABSENT or check(value) is not None:
                return False
        return True

    def _check_columns(self, columns: dict[str, Sequence[Any]]) -> None:
        """Check column after column; each stops at one more problem than can be listed."""
        found: list[Detail] = []
        for feature in self.features:
            column = columns[feature.name]
            if self._passes(feature, column):
                continue
            problems = _column_problems(feature, column, self._checks[feature.name])
            for row, problem in islice(problems, MAX_DETAILS + 1):
                found.append({"row": row, "feature": feature.name, "problem": problem})
        if found:
            # The first problems by row come from the first of each column's problems.
            found.sort(key=self._detail_key)
            raise InvalidInputError(found)

    def _passes(self, feature: FeatureSpec, column: Sequence[Any]) -> bool:
        """Whether a whole column is acceptable, judged from its kinds and its extremes."""
        kinds = set(map(type, column))
        fast = self._fast[feature.name]
        if not kinds <= fast and not (
            feature.kind == "number" and kinds <= fast | {float} and _all_finite(column)
        ):
            return False
        bounds = self._bounds[feature.name]
        return bounds is None or _within(column, bounds)

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


def _column_problems(
    feature: FeatureSpec, column: Sequence[Any], check: checks.Check
) -> Iterator[tuple[int, str]]:
    """Each (row, problem) of a column, lazily, in row order."""
    null = None if feature.nullable else checks.NULL
    for row, value in enumerate(column):
        problem = null if value is None else check(value)
        if problem is not None:
            yield row, problem


def _within(column: Sequence[Any], bounds: checks.Bounds) -> bool:
    """Whether every number of the column fits the type (compared exactly, not as floats)."""
    present = [v for v in column if v is not None] if None in column else column
    return not present or (bounds.low <= min(present) and max(present) <= bounds.high)


def _records(payload: Payload) -> Iterator[Any]:
    """The rows as objects, made one at a time (the row path may stop after a few)."""
    if payload.records is not None:
        return iter(payload.records)
    assert payload.columns is not None and payload.data is not None
    columns = payload.columns
    return (dict(zip(columns, row, strict=True)) for row in payload.data)
