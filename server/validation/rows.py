"""The row path: each row checked feature by feature, its problems worded by marshmallow.

A row passes when it is an object holding every feature, each null only where allowed and
each value passing its feature's check (:mod:`server.validation.checks`), and no other key.
The test is made with the checks alone; a row that fails goes through a marshmallow schema
generated from the :class:`~packager.manifest.FeatureSpec` list, whose fields call the same
checks and so word the same problems. A row of a columnar batch that is not an array of one
value per column is one problem of its own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from packager.artefact import FeatureSpec
from server.errors import LISTED, MAX_DETAILS, Detail
from server.validation import checks
from server.validation.described import feature_field
from server.validation.payload import Payload, kind_of

__all__ = ["RowChecks", "WrongShape", "records"]

_ABSENT = object()


@dataclass(frozen=True)
class WrongShape:
    """A row of ``data`` that is not an array of one value per column, and why."""

    problem: str


def records(payload: Payload) -> Iterator[Any]:
    """The rows as objects, made one at a time (the row path may stop after a few); a
    columnar row of the wrong shape as a :class:`WrongShape`."""
    if payload.records is not None:
        return iter(payload.records)
    assert payload.columns is not None and payload.data is not None
    columns = payload.columns
    width = len(columns)
    return (
        dict(zip(columns, row, strict=True))
        if type(row) is list and len(row) == width
        else WrongShape(_shape_problem(row, width))
        for row in payload.data
    )


def _shape_problem(row: Any, width: int) -> str:
    if not isinstance(row, list):
        return f"is {kind_of(row)}; expected an array of {width} values"
    return f"has {len(row)} values; expected {width}, one per column"


class _FeatureSchema(Schema):
    class Meta:
        # Unknown keys are counted by RowChecks, once per row, and never repeated.
        unknown = EXCLUDE


class RowChecks:
    """Checks and words rows one at a time, for one model's features."""

    def __init__(
        self,
        features: Sequence[FeatureSpec],
        value_checks: Mapping[str, checks.Check],
        refused: Collection[str] = (),
        examples: Mapping[str, Any] | None = None,
    ):
        self.names = [f.name for f in features]
        self._known = frozenset(self.names)
        self._checks = [(f.name, value_checks[f.name], f.nullable) for f in features]
        # Field attributes are positional so that no feature name can shadow a Schema method.
        schema_fields: dict[str, fields.Field[Any]] = {
            f"f{i}": feature_field(
                f,
                value_checks[f.name],
                refuse_unseen=f.name in refused,
                example=None if examples is None else examples.get(f.name),
            )
            for i, f in enumerate(features)
        }
        # The schema that words problems also describes the features (server.protocols'
        # OpenAPI document reads it through Validator.row_schema): one description, not two.
        self.schema = _FeatureSchema.from_dict(schema_fields, name="Features")()

    def first_problems(self, rows: Iterable[Any]) -> list[Detail]:
        """Problems row after row, stopping once more were found than can be listed."""
        found: list[Detail] = []
        for row, record in enumerate(rows):
            if not self.passes(record):
                found.extend(self.problems(row, record))
                if len(found) > MAX_DETAILS:
                    break
        return found

    def refusals(
        self, rows: Iterable[Any], limit: int | None = LISTED
    ) -> tuple[list[int], list[Detail]]:
        """Every row that fails, and the first ``limit`` problems (default: one more than
        can be listed; None: every problem)."""
        refused: list[int] = []
        found: list[Detail] = []
        for row, record in enumerate(rows):
            if not self.passes(record):
                refused.append(row)
                if limit is None or len(found) < limit:
                    found.extend(self.problems(row, record))
        return refused, found[:limit]

    def passes(self, record: Any) -> bool:
        """Whether the row is acceptable, found with the checks and no marshmallow machinery
        (several times faster; marshmallow then only words the problems)."""
        if type(record) is not dict:
            return False
        for name, check, nullable in self._checks:
            value = record.get(name, _ABSENT)
            if value is None:
                if not nullable:
                    return False
            elif value is _ABSENT or check(value) is not None:
                return False
        return len(record) == len(self.names)

    def problems(self, row: int, record: Any) -> list[Detail]:
        """One row's problems: by feature in training order, then its unknown keys."""
        if isinstance(record, WrongShape):
            return [{"row": row, "problem": record.problem}]
        if not isinstance(record, dict):
            return [
                {"row": row, "problem": f"is {kind_of(record)}; expected an object of features"}
            ]
        problems: dict[str, list[str]] = {}
        try:
            self.schema.load(record)
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
