"""Every problem of every row is reported together (kinds, nulls, plausible limits, refused
unseen categories), by row then feature, up to the cap; unseen categories alone keep their
own error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from packager.artefact.manifest import FeatureSpec, InputSpec
from packager.errors import RequestError
from server.errors import InvalidInputError, UnseenCategoryError
from server.validation import checks
from server.validation.payload import read_payload
from server.validation.validator import Validator

SECRET_TEXT = "ZQXJ-SECRET-7731"
SPEC = InputSpec(
    format="dataframe",
    names_generated=False,
    features=(
        FeatureSpec("age", "number", nullable=False, dtype="float64", plausible_max=120.0),
        FeatureSpec("bmi", "number", nullable=True, dtype="float64"),
        FeatureSpec("ward", "category", nullable=False, dtype="object", categories=["a", "b"]),
        FeatureSpec("stage", "category", nullable=False, dtype="int64", categories=[1, 2, 3, 4]),
    ),
)
GOOD = {"age": 40, "bmi": 25.5, "ward": "a", "stage": 2}
LIMIT = "outside the plausible limits for this feature (at most 120)"


def validators(**options: Any) -> list[Validator]:
    """The row path and the column path."""
    return [
        Validator(SPEC, columnwise_from=10**9, **options),
        Validator(SPEC, columnwise_from=1, **options),
    ]


def refusal(validator: Validator, rows: list[Any]) -> RequestError:
    body = {"instances": rows}
    with pytest.raises(RequestError) as caught:
        validator.validate(read_payload(body, 100_000, features=validator.known))
    return caught.value


@pytest.mark.parametrize("options", [{"strict_categories": True}, {"unscorable": ["ward"]}])
def test_an_unseen_category_and_a_wrong_kind_in_other_rows_are_both_reported(
    options: dict[str, Any],
) -> None:
    rows = [GOOD, {**GOOD, "ward": SECRET_TEXT}, GOOD, {**GOOD, "age": "forty"}]
    for validator in validators(**options):
        error = refusal(validator, rows)
        assert isinstance(error, InvalidInputError) and error.code == "invalid_input"
        assert error.details == [
            {"row": 1, "feature": "ward", "problem": checks.UNSEEN_CATEGORY},
            {"row": 3, "feature": "age", "problem": "expected a number, got a string"},
        ]
        assert SECRET_TEXT not in repr(error.details) + error.message


def test_every_kind_of_problem_is_listed_by_row_then_feature() -> None:
    rows = [
        {**GOOD, "stage": 7, "age": 121},
        GOOD,
        {**GOOD, "ward": None, "bmi": "x"},
        {"age": 3, "bmi": None, "ward": "z", "stage": 2.5, "extra": 1},
    ]
    for validator in validators(strict_categories=True):
        assert refusal(validator, rows).details == [
            {"row": 0, "feature": "age", "problem": LIMIT},
            {"row": 0, "feature": "stage", "problem": checks.UNSEEN_CATEGORY},
            {"row": 2, "feature": "bmi", "problem": "expected a number, got a string"},
            {"row": 2, "feature": "ward", "problem": checks.NULL},
            {"row": 3, "feature": "ward", "problem": checks.UNSEEN_CATEGORY},
            {"row": 3, "feature": "stage", "problem": checks.UNSEEN_CATEGORY},
            {"row": 3, "problem": checks.unknown_features(1)},
        ]


def test_numeric_codes_are_checked_as_categories_one_and_one_point_zero_alike() -> None:
    rows = [{**GOOD, "stage": 4.0}, {**GOOD, "stage": 1}, {**GOOD, "stage": 0.25}]
    for validator in validators(strict_categories=True):
        error = refusal(validator, rows)
        assert error.details == [{"row": 2, "feature": "stage", "problem": checks.UNSEEN_CATEGORY}]


@pytest.mark.parametrize("options", [{"strict_categories": True}, {"unscorable": ["ward"]}])
def test_unseen_categories_alone_are_the_unseen_category_error(options: dict[str, Any]) -> None:
    rows = [GOOD, {**GOOD, "ward": "z"}, {**GOOD, "ward": "y"}]
    for validator in validators(**options):
        error = refusal(validator, rows)
        assert isinstance(error, UnseenCategoryError) and error.code == "unseen_category"
        assert [d["row"] for d in error.details] == [1, 2]


def test_unseen_categories_are_warnings_where_they_are_not_refused() -> None:
    rows = [GOOD, {**GOOD, "ward": "z"}, {**GOOD, "age": "x"}]
    for validator in validators():
        assert refusal(validator, rows).details == [
            {"row": 2, "feature": "age", "problem": "expected a number, got a string"}
        ]


def test_a_large_batch_of_mixed_problems_lists_the_first_hundred_in_order() -> None:
    bad = [{**GOOD, "ward": "z"}, {**GOOD, "age": 500}, {**GOOD, "bmi": True}]
    rows = [GOOD] * 10 + bad * 3000
    for validator in validators(strict_categories=True):
        error = refusal(validator, rows)
        assert isinstance(error, InvalidInputError)
        assert "more than 100 problems" in error.message
        assert [d["row"] for d in error.details] == list(range(10, 110))
        assert [d["feature"] for d in error.details[:3]] == ["ward", "age", "bmi"]


def test_a_large_batch_of_unseen_categories_is_refused_after_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    looked: list[int] = []
    for validator in validators(strict_categories=True):
        counting = validator._rows.problems

        def count(row: int, record: Any, counting: Any = counting) -> Any:
            looked.append(row)
            return counting(row, record)

        monkeypatch.setattr(validator._rows, "problems", count)
        error = refusal(validator, [{**GOOD, "ward": "z"}] * 9999)
        assert isinstance(error, UnseenCategoryError) and len(error.details) == 100
    # The row path worded 101 rows and stopped; the column path worded none of them.
    assert looked == list(range(101))


def test_predict_reports_an_unseen_category_beside_a_wrong_kind(
    pipeline_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    patient = {"age": 58, "bmi": 27.5, "sex": "M", "ward": "c", "smoker": True}
    rows = [patient, {**patient, "ward": "q"}, patient, {**patient, "bmi": "27"}]
    api = client(pipeline_artefact, strict_categories=True)
    response = api.post("/predict", json={"instances": rows})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert [(d["row"], d["feature"]) for d in error["details"]] == [(1, "ward"), (3, "bmi")]
    only_unseen = api.post("/predict", json={"instances": rows[:2]}).get_json()["error"]
    assert only_unseen["code"] == "unseen_category"


def test_a_null_refused_by_the_data_dictionary_says_so_on_both_paths() -> None:
    spec = InputSpec(
        format="dataframe",
        names_generated=False,
        features=(
            FeatureSpec("lab", "number", nullable=False, dtype="float64", declared=["nullable"]),
            FeatureSpec("age", "number", nullable=False, dtype="float64"),
        ),
    )
    for columnwise_from in (1, 10**9):
        validator = Validator(spec, columnwise_from=columnwise_from)
        rows = [{"lab": None, "age": None}, {"lab": 1.0, "age": 2.0}]
        assert refusal(validator, rows).details == [
            {"row": 0, "feature": "lab", "problem": checks.NULL_DECLARED},
            {"row": 0, "feature": "age", "problem": checks.NULL},
        ]
