"""Validate request rows against the recorded feature schema, compiled once at start-up.

Three paths give the same answer. Small batches go row by row
(:mod:`server.validation.rows`); large ones column by column
(:mod:`server.validation.columns`), going back to the row path when the batch is irregular
(a row that is not an object, a missing or extra key, a columnar row of the wrong length).
Schemas of numbers only use one float matrix instead (:mod:`server.validation.matrix`), which
gives up to the other paths whenever a value needs a closer look. Before any of them, a
batch body may be read typed (:meth:`Validator.read_typed`, :mod:`server.validation.typed`):
decoded against the schema's types and checked whole, it arrives as a checked matrix or
checked columns, or, at any doubt, is parsed and validated as above. Every path checks every
value with the same per-value checks (:mod:`server.validation.checks`): its JSON kind, null,
its type's range, its plausible limits and, where they are refused, unseen categories. So
every problem of every row is found together and listed by row, then feature. Values unlike
training become warnings (:mod:`server.validation.novelty`); features sent as null are
listed per row (:mod:`server.validation.imputed`).

All or nothing (``"on_error": "fail"``, the default): every path stops looking once it has
found one problem more than the error lists (``MAX_DETAILS``), so a request costs in
proportion to its answer: a batch of 9,999 empty rows is refused after its first rows, not
after building 300,000 problems. With ``"on_error": "skip"``, a batch that fails is looked
at whole to find every row with a problem; the other rows are validated as a batch of their
own, and the :class:`Batch` says which request rows they are. A batch without problems
costs the same in both modes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from packager.artefact import InputSpec
from packager.capture import TYPICAL, synthetic_rows
from server.errors import LISTED, MAX_DETAILS, Detail, InvalidInputError, UnseenCategoryError
from server.validation import checks
from server.validation.columns import ColumnChecks
from server.validation.imputed import imputed_from_columns
from server.validation.matrix import NumericMatrix
from server.validation.novelty import Novelty
from server.validation.payload import FAIL, SKIP, Payload
from server.validation.rows import RowChecks, records
from server.validation.typed import TypedBodies

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
    # Per row of this batch (the kept rows), the features sent as null that the model fills in.
    imputed: list[list[str]] = field(default_factory=list)
    # Only when rows were skipped ("on_error": "skip"): the request's row index of each row
    # of this batch, the refused rows' indices, and their problems (at most MAX_DETAILS + 1).
    kept: list[int] | None = None
    refused_rows: list[int] = field(default_factory=list)
    errors: list[Detail] = field(default_factory=list)


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
        self.known = frozenset(self.names)
        self.strict_categories = strict_categories
        self.unscorable = frozenset(unscorable)
        self.columnwise_from = columnwise_from
        refused = {
            f.name: frozenset(f.categories)
            for f in self.features
            if f.kind == "category"
            and f.categories
            and (strict_categories or f.name in self.unscorable)
        }
        value_checks = {
            f.name: checks.value_check(f, refuse_unseen=f.name in refused) for f in self.features
        }
        self._rows = RowChecks(self.features, value_checks, refused, _typical_row(spec))
        # The marshmallow schema of one row, which also describes each feature (OpenAPI).
        self.row_schema = self._rows.schema
        self._columns = ColumnChecks(self.features, value_checks, refused)
        self._novelty = Novelty(self.features, refused=refused, vectorise_from=columnwise_from)
        self._nullable = [f.name for f in self.features if f.nullable]
        self._getter = _row_getter(self.names)
        self._matrix = (
            NumericMatrix(self.features) if NumericMatrix.applies_to(self.features) else None
        )
        self._typed = {
            keep: TypedBodies(self.features, self._matrix, self._columns, keep_rows=keep)
            for keep in (False, True)
            if TypedBodies.applies_to(self.features)
        }

    def validate(self, payload: Payload, on_error: str = FAIL, *, every: bool = False) -> Batch:
        """The batch with its warnings and imputed features; raise InvalidInputError or
        UnseenCategoryError, unless ``on_error`` is ``"skip"`` and some rows are valid.

        ``every`` (batch scoring, with ``"skip"``): the batch lists every problem of every
        refused row, and is empty rather than an error when no row is valid."""
        try:
            return self._whole(payload)
        except (InvalidInputError, UnseenCategoryError) as error:
            if on_error != SKIP:
                raise
            failure = error
        refused, errors = self._refusals(payload, None if every else LISTED)
        if len(refused) >= payload.rows:
            if not every:
                raise failure
            empty = Batch({name: [] for name in self.names}, 0, [], kept=[])
            return replace(empty, refused_rows=refused, errors=errors)
        skipped = frozenset(refused)
        kept = [row for row in range(payload.rows) if row not in skipped]
        batch = self._whole(_subset(payload, kept))
        warnings = [{**w, "row": kept[int(w["row"])]} for w in batch.warnings]  # type: ignore[call-overload]
        return replace(batch, warnings=warnings, kept=kept, refused_rows=refused, errors=errors)

    def _whole(self, payload: Payload) -> Batch:
        """Every row valid, or the error listing the first problems by row and feature."""
        if payload.matrix is not None:
            return self._matrix_batch(payload.matrix)
        if payload.checked is not None:
            return self._columns_batch(payload.checked, payload.rows)
        if payload.by_column is not None:
            return self._table_batch(payload.by_column, payload.rows)
        columnwise = payload.rows >= self.columnwise_from
        if not columnwise:
            self._refuse(self._rows.first_problems(records(payload)))
        if self._matrix is not None:
            # Flattened straight from the payload: no list of row tuples is kept alive.
            flat = self._regular(payload, lambda rows: list(chain.from_iterable(rows)))
            matrix = None if flat is None else self._matrix.build(flat, payload.rows)
            if matrix is not None:
                return self._matrix_batch(matrix)
        rows = self._regular(payload, list)
        if rows is None:
            self._refuse(self._rows.first_problems(records(payload)))
            raise AssertionError("rows that pass the row checks are regular")
        columns: dict[str, Sequence[Any]] = dict(
            zip(self.names, zip(*rows, strict=True), strict=True)
        )
        if columnwise:
            kinds = {name: set(map(type, column)) for name, column in columns.items()}
            self._refuse(self._columns.first_problems(columns, kinds))
        return self._columns_batch(columns, payload.rows)

    def _table_batch(self, values: list[list[Any]], rows: int) -> Batch:
        """A table's columns (training order) checked whole: as one float matrix when they
        are all numbers, else column by column."""
        if self._matrix is not None:
            flat = list(chain.from_iterable(values))
            matrix = self._matrix.build(flat, rows, by_column=True)
            if matrix is not None:
                return self._matrix_batch(matrix)
        columns: dict[str, Sequence[Any]] = dict(zip(self.names, values, strict=True))
        kinds = {name: set(map(type, column)) for name, column in columns.items()}
        self._refuse(self._columns.first_problems(columns, kinds))
        return self._columns_batch(columns, rows)

    def _matrix_batch(self, matrix: np.ndarray) -> Batch:
        """The batch of a checked float matrix, with its warnings and imputed features."""
        assert self._matrix is not None
        warnings = self._matrix.warnings(matrix)
        return Batch(None, len(matrix), warnings, matrix, self._matrix.imputed(matrix))

    def _columns_batch(self, columns: dict[str, Sequence[Any]], rows: int) -> Batch:
        """The batch of checked columns, with its warnings and imputed features."""
        with_nulls = [name for name in self._nullable if None in columns[name]]
        warnings = self._novelty.find(columns, rows)
        return Batch(
            columns, rows, warnings, imputed=imputed_from_columns(columns, with_nulls, rows)
        )

    def read_typed(self, body: bytes, max_rows: int, *, keep_rows: bool = False) -> Payload | None:
        """A valid batch body decoded and checked whole (a float matrix for schemas of
        numbers only), with its rows as sent too when ``keep_rows`` (for the audit trail);
        None when the body must be parsed and validated the generic way."""
        typed = self._typed.get(keep_rows)
        return None if typed is None else typed.read(body, max_rows)

    def _refusals(self, payload: Payload, limit: int | None) -> tuple[list[int], list[Detail]]:
        """Every row with a problem, and the first ``limit`` problems (None: all of them)."""
        if payload.by_column is not None:
            table = dict(zip(self.names, payload.by_column, strict=True))
            kinds = {name: set(map(type, column)) for name, column in table.items()}
            return self._columns.refusals(table, kinds, limit)
        rows = self._regular(payload, list)
        if rows is None:
            return self._rows.refusals(records(payload), limit)
        columns = dict(zip(self.names, zip(*rows, strict=True), strict=True))
        kinds = {name: set(map(type, column)) for name, column in columns.items()}
        return self._columns.refusals(columns, kinds, limit)

    def _refuse(self, found: list[Detail]) -> None:
        """Raise the error for ``found``: unseen categories alone, or any problem at all."""
        if not found:
            return
        if all(detail["problem"] == checks.UNSEEN_CATEGORY for detail in found):
            raise UnseenCategoryError(found[:MAX_DETAILS], self.strict_categories)
        raise InvalidInputError(found)

    def _regular(
        self, payload: Payload, collect: Callable[[Iterable[Sequence[Any]]], list[Any]]
    ) -> list[Any] | None:
        """``collect`` applied to the rows in training order; None if a row lacks or adds a
        feature (or is not an object, or not an array of one value per column)."""
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
        data = payload.data
        if set(map(type, data)) != {list} or set(map(len, data)) != {len(payload.columns)}:
            return None
        if payload.columns == self.names:
            return collect(data)
        if sorted(payload.columns) != sorted(self.names):
            return None
        reorder = _row_getter([payload.columns.index(name) for name in self.names])
        return collect(map(reorder, data))


def _typical_row(spec: InputSpec) -> dict[str, Any]:
    """Each feature's example for the OpenAPI document: the typical synthetic row's value, or
    none for a schema too broken to make one (start-up's self-test refuses it, in its words)."""
    try:
        return synthetic_rows(spec)[TYPICAL]
    except (TypeError, ValueError):
        return {}


def _subset(payload: Payload, rows: Sequence[int]) -> Payload:
    """The payload of only ``rows``, in their order."""
    if payload.records is not None:
        return replace(payload, rows=len(rows), records=[payload.records[i] for i in rows])
    if payload.by_column is not None:
        by_column = [[column[i] for i in rows] for column in payload.by_column]
        return replace(payload, rows=len(rows), by_column=by_column)
    assert payload.data is not None
    return replace(payload, rows=len(rows), data=[payload.data[i] for i in rows])


def _row_getter(keys: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """Picks ``keys`` from a row, always as a tuple (itemgetter returns a bare value for one)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda row: (row[key],)
    return itemgetter(*keys)
