"""Validation against a feature schema: messages, warnings, and row/column paths agreeing."""

from __future__ import annotations

from typing import Any

import pytest

from packager.artefact.manifest import FeatureSpec, InputSpec
from packager.errors import RequestError
from server.errors import (
    EmptyBatchError,
    InvalidInputError,
    InvalidPayloadError,
    MalformedJSONError,
    TooManyRowsError,
)
from server.validation import checks
from server.validation.payload import parse_body, read_payload
from server.validation.validator import Validator

SECRET_TEXT = "ZQXJ-SECRET-7731"
SECRET_NUMBER = 987654.321

SPEC = InputSpec(
    format="dataframe",
    names_generated=False,
    features=(
        FeatureSpec("age", "integer", nullable=False, dtype="int64", min=18, max=95),
        FeatureSpec("bmi", "number", nullable=True, dtype="float64", min=15.0, max=40.0),
        FeatureSpec("sex", "category", nullable=False, dtype="object", categories=["F", "M"]),
        FeatureSpec("ward", "category", nullable=True, dtype="object", categories=["a", "b"]),
        FeatureSpec("smoker", "boolean", nullable=False, dtype="bool"),
        FeatureSpec("note", "string", nullable=True, dtype="object"),
    ),
)
FEATURES = frozenset(SPEC.names)
GOOD = {"age": 40, "bmi": 25.5, "sex": "F", "ward": "a", "smoker": False, "note": "x"}


def row(**changes: Any) -> dict[str, Any]:
    """A valid row with some features changed (or removed, when the value is ...)."""
    out = {**GOOD, **changes}
    return {k: v for k, v in out.items() if v is not ...}


def outcome(validator: Validator, body: Any) -> tuple[str, Any]:
    """What validating ``body`` gives: the warnings, or the error code and details."""
    try:
        batch = validator.validate(read_payload(body, max_rows=1000, features=FEATURES))
    except RequestError as error:
        return error.code, error.details
    return "ok", batch.warnings


def both_paths(body: Any, **options: Any) -> tuple[tuple[str, Any], tuple[str, Any]]:
    rows = Validator(SPEC, columnwise_from=10**9, **options)
    columns = Validator(SPEC, columnwise_from=1, **options)
    return outcome(rows, body), outcome(columns, body)


@pytest.mark.parametrize(
    ("changes", "feature", "problem"),
    [
        ({"age": "forty"}, "age", "expected an integer, got a string"),
        ({"age": 40.5}, "age", "expected an integer, got a number with a fractional part"),
        ({"age": True}, "age", "expected an integer, got a boolean"),
        ({"age": None}, "age", "null is not allowed"),
        ({"age": ...}, "age", "missing; every feature of the schema is required"),
        ({"bmi": "25"}, "bmi", "expected a number, got a string"),
        ({"bmi": [25]}, "bmi", "expected a number, got an array"),
        ({"bmi": {"v": 1}}, "bmi", "expected a number, got an object"),
        ({"bmi": float("nan")}, "bmi", "expected a finite number"),
        ({"bmi": float("inf")}, "bmi", "expected a finite number"),
        ({"sex": 1}, "sex", "expected a category (a string), got a number"),
        ({"sex": None}, "sex", "null is not allowed"),
        ({"smoker": "yes"}, "smoker", "expected true or false, got a string"),
        ({"smoker": 1}, "smoker", "expected true or false, got a number"),
        ({"note": 3}, "note", "expected a string, got a number"),
    ],
)
def test_validation_names_row_feature_and_expected_kind(
    changes: dict[str, Any], feature: str, problem: str
) -> None:
    body = {"instances": [GOOD, row(**changes)]}
    by_rows, by_columns = both_paths(body)
    assert by_rows == by_columns
    code, details = by_rows
    assert code == "invalid_input"
    assert details == [{"row": 1, "feature": feature, "problem": details[0]["problem"]}]
    assert problem in details[0]["problem"]


@pytest.mark.parametrize(
    "body",
    [
        {"instances": [row(age=SECRET_TEXT, bmi=SECRET_TEXT), 7, row(extra=SECRET_TEXT)]},
        {"instances": [row(sex=SECRET_TEXT, age=SECRET_NUMBER), row(bmi=SECRET_NUMBER)]},
        {"instances": [row(ward=None, bmi=None, note=None)] * 3 + [row(sex=None)]},
        {"instances": [row(age=10, bmi=50.0), row(age=100, bmi=1.0), row(ward="z")]},
        {"instances": [row(age=18, bmi=40.0), row(age=95.0, bmi=15)]},
        {"instances": [row(age=...), row(age=None), row(smoker=None)] * 40},
        {"columns": list(GOOD), "data": [list(GOOD.values()), list(row(age="x").values())]},
        {"columns": list(GOOD)[:-1], "data": [list(GOOD.values())[:-1]]},
        {"columns": [*GOOD, "extra"], "data": [[*GOOD.values(), 1]]},
        {"columns": list(reversed(GOOD)), "data": [list(reversed(GOOD.values()))] * 5},
    ],
)
def test_validation_row_and_column_paths_agree(body: Any) -> None:
    by_rows, by_columns = both_paths(body)
    assert by_rows == by_columns
    assert SECRET_TEXT not in repr(by_rows) and str(SECRET_NUMBER) not in repr(by_rows)


def test_validation_warns_for_each_out_of_range_number_and_unseen_category() -> None:
    body = {"instances": [GOOD, row(age=10, bmi=50.0), row(ward="z", bmi=None)]}
    by_rows, by_columns = both_paths(body)
    assert (
        by_rows
        == by_columns
        == (
            "ok",
            [
                {
                    "row": 1,
                    "feature": "age",
                    "problem": "below the smallest value seen in training",
                },
                {"row": 1, "feature": "bmi", "problem": "above the largest value seen in training"},
                {"row": 2, "feature": "ward", "problem": "a category not seen in training"},
            ],
        )
    )


@pytest.mark.parametrize("options", [{"strict_categories": True}, {"unscorable": ["ward"]}])
def test_validation_refuses_unseen_category_when_strict_or_unscorable(
    options: dict[str, Any],
) -> None:
    body = {"instances": [GOOD, row(ward=SECRET_TEXT)]}
    by_rows, by_columns = both_paths(body, **options)
    assert by_rows == by_columns
    assert by_rows == (
        "unseen_category",
        [{"row": 1, "feature": "ward", "problem": "a category not seen in training"}],
    )


def test_validation_unscorable_other_feature_keeps_unseen_category_a_warning() -> None:
    body = {"instances": [row(ward="z")]}
    code, warnings = outcome(Validator(SPEC, unscorable=["sex"]), body)
    assert code == "ok" and warnings[0]["feature"] == "ward"


def test_validation_error_message_lists_only_the_first_hundred_details() -> None:
    body = {"instances": [row(age="x")] * 150}
    for path in both_validators():
        with pytest.raises(InvalidInputError) as caught:
            path.validate(read_payload(body, max_rows=1000, features=FEATURES))
        assert [d["row"] for d in caught.value.details] == list(range(100))
        assert "more than 100 problems" in caught.value.message


def test_validation_counts_exactly_the_problems_it_lists_up_to_the_cap() -> None:
    body = {"instances": [row(age="x")] * 100}
    for path in both_validators():
        with pytest.raises(InvalidInputError) as caught:
            path.validate(read_payload(body, max_rows=1000, features=FEATURES))
        assert len(caught.value.details) == 100
        assert caught.value.message.startswith("100 problem(s)")


@pytest.mark.parametrize(
    ("body", "first"),
    [
        ({"instances": [{}] * 9999}, {"row": 0, "feature": "age", "problem": checks.MISSING}),
        (
            {"instances": [{key: [] for key in GOOD}] * 9999},
            {"row": 0, "feature": "age", "problem": "expected an integer, got an array"},
        ),
        (
            {"columns": list(GOOD), "data": [[None] * len(GOOD)] * 9999},
            {"row": 0, "feature": "age", "problem": checks.NULL},
        ),
        (
            {"columns": ["x"], "data": [[1]] * 9999},
            {"row": 0, "feature": "age", "problem": checks.MISSING},
        ),
        (
            {"columns": ["a", "b"], "data": [[]] * 9999},
            {"row": 0, "problem": "has 0 values; expected 2, one per column"},
        ),
    ],
)
def test_validation_of_a_large_bad_batch_stops_at_the_cap(
    body: Any, first: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    real = InvalidInputError.__init__

    def count(self: InvalidInputError, found: list[Any]) -> None:
        built.append(len(found))
        real(self, found)

    monkeypatch.setattr(InvalidInputError, "__init__", count)
    for path in both_validators():
        with pytest.raises(InvalidInputError) as caught:
            path.validate(read_payload(body, max_rows=10_000, features=FEATURES))
        assert len(caught.value.details) == 100 and caught.value.details[0] == first
        assert "more than 100 problems" in caught.value.message
    # Every path gave up soon after the cap (at worst one more than it per feature, on the
    # column path) instead of collecting all ~60,000 problems.
    assert built and max(built) <= 101 * len(GOOD)


def both_validators() -> list[Validator]:
    return [Validator(SPEC, columnwise_from=10**9), Validator(SPEC, columnwise_from=1)]


def test_validation_returns_columns_in_training_order() -> None:
    body = {"columns": list(reversed(GOOD)), "data": [list(reversed(GOOD.values()))]}
    for threshold in (1, 10**9):
        batch = Validator(SPEC, columnwise_from=threshold).validate(
            read_payload(body, 10, features=FEATURES)
        )
        assert list(batch.columns) == list(GOOD)
        assert [list(v) for v in batch.columns.values()] == [[v] for v in GOOD.values()]


@pytest.mark.parametrize(
    ("body", "error", "text"),
    [
        ([GOOD], InvalidPayloadError, "the body is an array"),
        ("text", InvalidPayloadError, "the body is a string"),
        ({"instances": {"age": 1}}, InvalidPayloadError, '"instances" is an object'),
        ({"instances": []}, EmptyBatchError, "no rows"),
        ({"columns": list(GOOD), "data": []}, EmptyBatchError, "no rows"),
        ({"instances": [GOOD] * 11}, TooManyRowsError, "11 rows; at most 10"),
        ({"columns": "age", "data": [[1]]}, InvalidPayloadError, "array of feature names"),
        ({"columns": ["age", "age"], "data": [[1, 2]]}, InvalidPayloadError, "repeats 1 name"),
        ({"columns": ["age"], "data": {"x": 1}}, InvalidPayloadError, '"data" is an object'),
    ],
)
def test_payload_refuses_bad_shapes(body: Any, error: type[RequestError], text: str) -> None:
    with pytest.raises(error) as caught:
        read_payload(body, max_rows=10, features=FEATURES)
    assert text in caught.value.message


@pytest.mark.parametrize("path", both_validators())
def test_validation_names_each_columnar_row_of_the_wrong_shape(path: Validator) -> None:
    body = {"columns": list(GOOD), "data": [list(GOOD.values()), [1], "x"]}
    assert outcome(path, body) == (
        "invalid_input",
        [
            {"row": 1, "problem": "has 1 values; expected 6, one per column"},
            {"row": 2, "problem": "is a string; expected an array of 6 values"},
        ],
    )


@pytest.mark.parametrize("body", [b"{", b'{"a": NaN}', b"[Infinity]", b'{"a": 1e999}', b"\xff"])
def test_payload_refuses_malformed_json_and_non_finite_tokens(body: bytes) -> None:
    with pytest.raises(MalformedJSONError, match="not valid JSON"):
        parse_body(body)


@pytest.mark.parametrize(
    "body",
    [
        {"profile": "site-b", "instances": [{"age": 3}]},
        {"columns": ["age"], "profile": "site-b", "data": [[3]]},
    ],
)
def test_payload_batch_may_name_a_profile(body: dict[str, Any]) -> None:
    payload = read_payload(body, max_rows=10, features=FEATURES)
    assert payload.rows == 1 and (payload.profile, payload.names_profile) == ("site-b", True)


@pytest.mark.parametrize("sent", [None, 7, ["site-b"]])
def test_payload_keeps_a_profile_of_any_kind_for_the_runtime_to_refuse(sent: Any) -> None:
    payload = read_payload(
        {"profile": sent, "instances": [{"age": 3}]}, max_rows=10, features=FEATURES
    )
    assert payload.names_profile and payload.profile == sent


def test_payload_single_instance_with_a_profile_key_keeps_it_as_a_feature() -> None:
    payload = read_payload({"profile": "site-b", "age": 3}, max_rows=10, features=FEATURES)
    assert payload.records == [{"profile": "site-b", "age": 3}] and not payload.names_profile


NUMBERS = InputSpec(
    format="dataframe",
    names_generated=False,
    features=(
        FeatureSpec("a", "number", nullable=False, dtype="float64", min=0.0, max=1.0),
        FeatureSpec("b", "number", nullable=True, dtype="float64", min=-5.0, max=5.0),
        FeatureSpec("c", "number", nullable=False, dtype="float64"),
    ),
)


@pytest.mark.parametrize(
    "rows",
    [
        [{"a": 0.5, "b": 1, "c": 3.0}, {"a": 2.0, "b": None, "c": -1e300}],
        [{"a": -1, "b": 9.5, "c": 0}] * 3,
        [{"a": 0.5, "b": float("nan"), "c": 1.0}],
        [{"a": None, "b": 1.0, "c": 1.0}, {"a": 0.5, "b": "x", "c": True}],
        [{"a": float("inf"), "b": 1.0, "c": 1.0}, {"a": 0.5, "b": 1.0}],
        [{"c": 1.0, "b": None, "a": 0.1}, {"a": 0.5, "b": 1.0, "c": 2.0, "d": 0}],
    ],
)
def test_validation_number_matrix_agrees_with_the_row_path(rows: list[dict[str, Any]]) -> None:
    body = {"instances": rows}
    by_rows = outcome(Validator(NUMBERS, columnwise_from=10**9), body)
    by_columns = outcome(Validator(NUMBERS, columnwise_from=1), body)
    assert by_rows == by_columns


def test_validation_number_matrix_holds_nulls_as_nan_in_training_order() -> None:
    body = {"columns": ["c", "b", "a"], "data": [[3.0, None, 0.5], [4, 2.0, 7]]}
    batch = Validator(NUMBERS, columnwise_from=1).validate(
        read_payload(body, 10, features=FEATURES)
    )
    assert batch.columns is None and batch.matrix is not None
    assert batch.matrix.tolist()[1] == [7.0, 2.0, 4.0]
    assert batch.matrix[0, 1] != batch.matrix[0, 1]  # NaN
    assert batch.warnings == [
        {"row": 1, "feature": "a", "problem": "above the largest value seen in training"}
    ]


@pytest.mark.parametrize("value", [2**63, 2**64 - 1, 1e19, -(2.0**63) - 4096, 9.3e18, -1e300])
def test_validation_refuses_integers_the_training_type_cannot_hold(value: Any) -> None:
    body = {"instances": [GOOD, row(age=value)]}
    by_rows, by_columns = both_paths(body)
    assert (
        by_rows
        == by_columns
        == (
            "invalid_input",
            [
                {
                    "row": 1,
                    "feature": "age",
                    "problem": "outside the range of this feature's type (int64)",
                }
            ],
        )
    )


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63)])
def test_validation_accepts_the_extremes_of_the_integer_type(value: int) -> None:
    by_rows, by_columns = both_paths({"instances": [GOOD, row(age=value)]})
    assert by_rows == by_columns
    assert by_rows[0] == "ok"


NARROW = InputSpec(
    format="dataframe",
    names_generated=False,
    features=(
        FeatureSpec("count", "integer", nullable=True, dtype="Int32"),
        FeatureSpec("level", "number", nullable=False, dtype="float32"),
    ),
)


@pytest.mark.parametrize(
    ("changes", "feature", "type_name"),
    [
        ({"count": 2**31}, "count", "int32"),
        ({"count": -(2**31) - 1}, "count", "int32"),
        ({"level": 1e39}, "level", "float32"),
        ({"level": -(2**200)}, "level", "float32"),
    ],
)
def test_validation_refuses_numbers_beyond_narrower_training_types(
    changes: dict[str, Any], feature: str, type_name: str
) -> None:
    body = {"instances": [{"count": None, "level": 1.0}, {"count": 3, "level": 2.5, **changes}]}
    by_rows = outcome(Validator(NARROW, columnwise_from=10**9), body)
    by_columns = outcome(Validator(NARROW, columnwise_from=1), body)
    problem = f"outside the range of this feature's type ({type_name})"
    assert (
        by_rows
        == by_columns
        == (
            "invalid_input",
            [{"row": 1, "feature": feature, "problem": problem}],
        )
    )


def test_validation_number_matrix_refuses_values_a_float32_feature_cannot_hold() -> None:
    spec = InputSpec(
        format="dataframe",
        names_generated=False,
        features=(FeatureSpec("level", "number", nullable=False, dtype="float32"),),
    )
    body = {"instances": [{"level": 1.0}, {"level": 3.5e38}]}
    assert outcome(Validator(spec, columnwise_from=1), body) == (
        "invalid_input",
        [
            {
                "row": 1,
                "feature": "level",
                "problem": "outside the range of this feature's type (float32)",
            }
        ],
    )


def test_validation_counts_unknown_keys_without_repeating_them() -> None:
    secret = SECRET_TEXT * 700  # 10 KB of a key that could be a patient's name
    body = {"instances": [row(**{secret: 1, "x" + SECRET_TEXT: 2}), GOOD]}
    by_rows, by_columns = both_paths(body)
    assert (
        by_rows
        == by_columns
        == (
            "invalid_input",
            [
                {
                    "row": 0,
                    "problem": "2 unknown features (names are not repeated back); "
                    "this model was not trained on them",
                }
            ],
        )
    )
    assert SECRET_TEXT[:6] not in repr(by_rows)


def test_validation_suggests_the_missing_feature_an_unknown_key_looks_like() -> None:
    code, details = outcome(Validator(SPEC), {"instances": [row(bmi=..., bmii=25.0)]})
    assert code == "invalid_input"
    assert details == [
        {"row": 0, "feature": "bmi", "problem": checks.MISSING},
        {
            "row": 0,
            "problem": "an unknown feature (names are not repeated back); this model was not "
            'trained on it; did you mean "bmi"?',
        },
    ]


def test_payload_refuses_repeated_column_names_without_repeating_them_in_linear_time() -> None:
    columns = [SECRET_TEXT, *(f"c{i}" for i in range(200_000)), SECRET_TEXT]
    with pytest.raises(InvalidPayloadError) as caught:
        read_payload(
            {"columns": columns, "data": [[1] * len(columns)]}, max_rows=10, features=FEATURES
        )
    assert caught.value.message == '"columns" repeats 1 name(s); name each column once'
