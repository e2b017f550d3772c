"""Plausible limits: a value outside its feature's limits is refused on every path, naming the
limits and unit (the author's), never the value; the training range stays a warning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from packager import ModelDetails, capture, package
from packager.artefact import limits_for_people, limits_problem, limits_text
from packager.artefact.manifest import FeatureSpec, InputSpec
from packager.errors import RequestError
from server.validation.payload import read_payload
from server.validation.validator import Validator

SECRET_NUMBER = 987654.321
AGE = "outside the plausible limits for this feature (0 to 120 years)"

NUMBERS = InputSpec(
    format="dataframe",
    names_generated=False,
    features=(
        FeatureSpec(
            "age",
            "number",
            nullable=True,
            dtype="float64",
            min=18.0,
            max=95.0,
            unit="years",
            plausible_min=0.0,
            plausible_max=120.0,
        ),
        FeatureSpec("weekday", "integer", nullable=False, dtype="int64", plausible_max=6.0),
        FeatureSpec("dose", "number", nullable=False, dtype="float32", plausible_min=0.5),
    ),
)
MIXED = replace(
    NUMBERS,
    features=(
        *NUMBERS.features,
        FeatureSpec("sex", "category", nullable=False, dtype="object", categories=["F", "M"]),
    ),
)
GOOD = {"age": 40, "weekday": 2, "dose": 1.5, "sex": "F"}


def paths(spec: InputSpec) -> list[Validator]:
    """The row path, and the column path (the float matrix for an all-number schema)."""
    return [Validator(spec, columnwise_from=10**9), Validator(spec, columnwise_from=1)]


def outcome(validator: Validator, rows: list[dict[str, Any]]) -> tuple[str, Any]:
    names = validator.known
    body = {"instances": [{k: v for k, v in row.items() if k in names} for row in rows]}
    try:
        batch = validator.validate(read_payload(body, 10_000, features=names))
    except RequestError as error:
        return error.code, error.details
    return "ok", batch.warnings


@pytest.mark.parametrize("spec", [NUMBERS, MIXED], ids=["matrix", "mixed"])
@pytest.mark.parametrize(
    ("changes", "feature", "problem"),
    [
        ({"age": -5}, "age", AGE),
        ({"age": 1e30}, "age", AGE),
        ({"age": 120.5}, "age", AGE),
        ({"weekday": 7}, "weekday", "outside the plausible limits for this feature (at most 6)"),
        ({"dose": 0.25}, "dose", "outside the plausible limits for this feature (at least 0.5)"),
        ({"age": SECRET_NUMBER}, "age", AGE),
    ],
)
def test_a_value_outside_the_plausible_limits_is_refused_on_every_path(
    spec: InputSpec, changes: dict[str, Any], feature: str, problem: str
) -> None:
    rows = [GOOD, {**GOOD, **changes}]
    found = [outcome(path, rows) for path in paths(spec)]
    assert found[0] == found[1]
    assert found[0] == ("invalid_input", [{"row": 1, "feature": feature, "problem": problem}])
    assert str(SECRET_NUMBER) not in repr(found[0])


@pytest.mark.parametrize(
    ("low", "high"), [(0.0, 120.0), (None, 0.5), (0.1, None), (-(2.0**60), 1e20)]
)
def test_the_422_words_the_limits_as_the_card_and_inspect_do(
    low: float | None, high: float | None
) -> None:
    feature = FeatureSpec(
        "dose",
        "number",
        nullable=False,
        dtype="float64",
        unit="mg",
        plausible_min=low,
        plausible_max=high,
    )
    spec = InputSpec(format="dataframe", names_generated=False, features=(feature,))
    outside = (high * 2) if high is not None else (low - 1)  # type: ignore[operator]
    for path in paths(spec):
        assert outcome(path, [{"dose": outside}]) == (
            "invalid_input",
            [{"row": 0, "feature": "dose", "problem": limits_problem(feature)}],
        )
    assert limits_text(feature) == f"{limits_for_people(low, high)} mg"


def test_a_side_without_a_limit_is_unbounded() -> None:
    rows = [GOOD, {**GOOD, "weekday": -(2**63), "dose": 3.4e38}]
    for path in paths(NUMBERS):
        assert outcome(path, rows)[0] == "ok"


@pytest.mark.parametrize("spec", [NUMBERS, MIXED], ids=["matrix", "mixed"])
def test_the_plausible_limits_are_inclusive_and_the_training_range_stays_a_warning(
    spec: InputSpec,
) -> None:
    rows = [{**GOOD, "age": 0}, {**GOOD, "age": 120.0, "weekday": 6, "dose": 0.5}, GOOD]
    for path in paths(spec):
        assert outcome(path, rows) == (
            "ok",
            [
                {
                    "row": 0,
                    "feature": "age",
                    "problem": "below the smallest value seen in training",
                },
                {"row": 1, "feature": "age", "problem": "above the largest value seen in training"},
            ],
        )


def test_a_value_beyond_its_type_is_named_as_such_and_one_beyond_the_limits_too_by_them() -> None:
    # dose has no upper limit, so only its float32 type stops 1e39; weekday's limit (at most
    # 6) lies within int64, and the limit is the reason that helps the client.
    rows = [GOOD, {**GOOD, "dose": 1e39}, {**GOOD, "weekday": 2**63}]
    for path in paths(NUMBERS):
        assert outcome(path, rows) == (
            "invalid_input",
            [
                {
                    "row": 1,
                    "feature": "dose",
                    "problem": "outside the range of this feature's type (float32)",
                },
                {
                    "row": 2,
                    "feature": "weekday",
                    "problem": "outside the plausible limits for this feature (at most 6)",
                },
            ],
        )


def test_a_large_batch_with_values_outside_the_limits_is_refused_at_the_cap() -> None:
    rows = [GOOD] * 5000 + [{**GOOD, "age": -1}] * 5000
    for path in paths(NUMBERS) + paths(MIXED):
        code, details = outcome(path, rows)
        assert code == "invalid_input" and len(details) == 100
        assert details[0] == {"row": 5000, "feature": "age", "problem": AGE}


@pytest.fixture(scope="module")
def limits_artefact(
    tmp_path_factory: pytest.TempPathFactory, patient_data: Any, pipeline_model: Any
) -> Path:
    """The patient pipeline, its schema given the author's units and plausible limits (as a
    data dictionary gives them) before packaging."""
    X, y, X_test, y_test = patient_data
    details = ModelDetails(name="limits")
    captured = capture(pipeline_model, X, y, X_test=X_test, y_test=y_test, details=details)
    dictionary = {
        "age": {"unit": "years", "plausible_min": 0.0, "plausible_max": 120.0},
        "bmi": {"unit": "kg/m2", "plausible_min": 10.0, "plausible_max": 80.0},
    }
    spec = captured.manifest.input
    features = tuple(replace(f, **dictionary.get(f.name, {})) for f in spec.features)
    manifest = replace(captured.manifest, input=replace(spec, features=features))
    return package(replace(captured, manifest=manifest), tmp_path_factory.mktemp("lim") / "lim")


PATIENT = {"age": 58, "bmi": 27.5, "sex": "M", "ward": "c", "smoker": True}


def test_predict_refuses_an_implausible_age_and_bmi_and_answers_the_limits(
    limits_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    api = client(limits_artefact)
    assert api.get("/readyz").status_code == 200
    rows = [{**PATIENT, "age": -5}, PATIENT, {**PATIENT, "age": 200, "bmi": 95.5}]
    response = api.post("/predict", json={"instances": rows})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"] == [
        {"row": 0, "feature": "age", "problem": AGE},
        {"row": 2, "feature": "age", "problem": AGE},
        {
            "row": 2,
            "feature": "bmi",
            "problem": "outside the plausible limits for this feature (10 to 80 kg/m2)",
        },
    ]
    assert "95.5" not in response.get_data(as_text=True)
    at_limits = api.post("/predict", json={**PATIENT, "age": 120, "bmi": 10})
    assert at_limits.status_code == 200
    assert [w["feature"] for w in at_limits.get_json()["warnings"]] == ["age", "bmi"]
