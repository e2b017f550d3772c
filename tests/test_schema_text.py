"""value_from_text in format 4.0: a CSV cell read by the new kinds, within plausible limits."""

from __future__ import annotations

from typing import Any

import pytest

from packager.artefact import FeatureSpec, limits_problem, value_from_text

WEIGHT = FeatureSpec("lwt", "number", False, "int64")  # whole in training: fractions valid
AGE = FeatureSpec(
    "age", "number", False, "float64", unit="years", plausible_min=0, plausible_max=120
)
EDEMA = FeatureSpec("edema", "category", False, "float64", categories=[0.0, 0.5, 1.0])
STAGE = FeatureSpec("stage", "category", False, "int64", categories=[1, 2, 3, 4])
VISITS = FeatureSpec("visits", "integer", False, "int64", plausible_min=0)


@pytest.mark.parametrize(
    ("text", "feature", "value"),
    [
        ("55.5", WEIGHT, 55.5),
        ("56", WEIGHT, 56),
        ("1e30", WEIGHT, 1e30),
        ("0", AGE, 0),
        ("120", AGE, 120),
        ("0.5", EDEMA, 0.5),
        ("1", EDEMA, 1.0),
        ("4.0", STAGE, 4),
        ("3", VISITS, 3),
    ],
)
def test_a_cell_is_read_as_a_request_would_send_it(
    text: str, feature: FeatureSpec, value: Any
) -> None:
    read = value_from_text(text, feature)
    assert read == value and type(read) is type(value)


@pytest.mark.parametrize(
    ("text", "feature", "problem"),
    [
        ("130", AGE, "is outside the plausible limits for this feature (0 to 120 years)"),
        ("-5", AGE, "is outside the plausible limits for this feature (0 to 120 years)"),
        ("-1", VISITS, "is outside the plausible limits for this feature (at least 0)"),
        ("2.5", VISITS, "is not a whole number, as this integer feature needs"),
        ("0.25", EDEMA, "is not one of the categories the model was trained on"),
        ("5", STAGE, "is not one of the categories the model was trained on"),
    ],
)
def test_a_cell_the_schema_refuses_says_why_without_its_value(
    text: str, feature: FeatureSpec, problem: str
) -> None:
    with pytest.raises(ValueError) as raised:
        value_from_text(text, feature)
    assert str(raised.value) == problem


def test_the_limits_are_written_as_the_author_gave_them() -> None:
    low = FeatureSpec("k", "number", False, "float64", plausible_min=0.12345678, unit="mmol/l")
    assert limits_problem(low) == (
        "outside the plausible limits for this feature (at least 0.12345678 mmol/l)"
    )
    high = FeatureSpec("k", "number", False, "float64", plausible_max=7.5)
    assert limits_problem(high) == "outside the plausible limits for this feature (at most 7.5)"
