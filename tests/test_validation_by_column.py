"""A table's columns (batch scoring's payload) are judged exactly as the same rows sent as a
columnar body: the same batch, the same warnings and imputed features, the same refused rows
and problems, in every mode."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packager.errors import RequestError
from server.validation import Payload, Validator
from tests.test_validation_typed import VALIDATORS, _contents, _fitting, _fitting_for, _values


def _outcome(validator: Validator, payload: Payload, mode: str, every: bool) -> tuple[Any, ...]:
    try:
        batch = validator.validate(payload, mode, every=every)
    except RequestError as error:
        return type(error), error.code, error.message, error.details
    return _contents(batch)


def _columns(rows: list[list[Any]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


@st.composite
def _tables(draw: st.DrawFn, validator: Validator) -> list[list[Any]]:
    """Rows with every feature (a table has no missing key): valid ones, or any values."""
    features = validator.features
    numbers = all(f.kind == "number" for f in features)
    if draw(st.booleans()):
        cells = [
            (_fitting if numbers else _fitting_for(f)) if not f.nullable else
            st.one_of(_fitting if numbers else _fitting_for(f), st.none())
            for f in features
        ]  # fmt: skip
    else:
        cells = [st.one_of(_values, _fitting if numbers else _fitting_for(f)) for f in features]
    return draw(st.lists(st.tuples(*cells).map(list), min_size=1, max_size=8))


@pytest.mark.parametrize("schema", sorted(VALIDATORS))
@pytest.mark.parametrize(("mode", "every"), [("fail", False), ("skip", False), ("skip", True)])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_tables_columns_are_judged_as_the_same_rows_in_a_columnar_body(
    schema: str, mode: str, every: bool, data: st.DataObject
) -> None:
    validator = VALIDATORS[schema]
    rows = data.draw(_tables(validator))
    names = list(validator.names)
    columnar = Payload(rows=len(rows), columns=names, data=[list(row) for row in rows])
    table = Payload(
        rows=len(rows),
        columns=names,
        by_column=[list(column) for column in zip(*rows, strict=True)],
    )
    by_rows = _outcome(validator, columnar, mode, every)
    by_columns = _outcome(validator, table, mode, every)
    assert by_columns == by_rows


def test_every_refused_row_of_a_table_keeps_all_its_problems() -> None:
    validator = VALIDATORS["mixed"]
    rows = [["x"] * len(validator.names) for _ in range(150)]
    table = Payload(
        rows=150,
        columns=list(validator.names),
        by_column=[list(c) for c in zip(*rows, strict=True)],
    )
    batch = validator.validate(table, "skip", every=True)
    assert batch.rows == 0 and batch.kept == [] and batch.refused_rows == list(range(150))
    # Far more than the 101 an HTTP error collects: each row's five features that refuse
    # text (two categories take it as unseen, a note as text), every row.
    refusing = ["age", "bmi", "stage", "smoker", "dose"]
    assert [(e["row"], e["feature"]) for e in batch.errors] == [
        (row, name) for row in range(150) for name in refusing
    ]
    with pytest.raises(RequestError):
        validator.validate(table, "skip")
