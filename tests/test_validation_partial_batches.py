"""Partial batches: with "on_error": "skip" (or DEPLOYML_ON_ERROR=skip) the valid rows are
scored and each refused row gets null, its problems and its index; the default stays all or
nothing, and a batch with no valid row gets the error it would get in fail mode."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient

from packager.artefact.manifest import FeatureSpec, InputSpec
from packager.errors import RequestError
from server.errors import InvalidPayloadError
from server.validation import checks
from server.validation.payload import read_payload
from server.validation.validator import Batch, Validator

SECRET_TEXT = "ZQXJ-SECRET-7731"
PATIENT = {"age": 58, "bmi": 27.5, "sex": "M", "ward": "c", "smoker": True}
Client = Callable[..., FlaskClient]

NUMBERS = InputSpec(
    format="dataframe",
    names_generated=False,
    features=(
        FeatureSpec("a", "number", nullable=False, dtype="float64", min=0.0, max=1.0),
        FeatureSpec("b", "number", nullable=True, dtype="float64", plausible_min=-5.0),
    ),
)
MIXED = InputSpec(
    format="dataframe",
    names_generated=False,
    features=(*NUMBERS.features, FeatureSpec("c", "string", nullable=False, dtype="object")),
)
GOOD = {"a": 0.5, "b": 1.0, "c": "x"}


def skipped(spec: InputSpec, rows: list[Any], columnwise_from: int) -> Batch:
    validator = Validator(spec, columnwise_from=columnwise_from)
    names = [f.name for f in spec.features]
    body = {"instances": [{k: v for k, v in r.items() if k in names} for r in rows]}
    return validator.validate(read_payload(body, 100_000, features=names), "skip")


@pytest.mark.parametrize("spec", [NUMBERS, MIXED], ids=["matrix", "mixed"])
@pytest.mark.parametrize("columnwise_from", [1, 10**9], ids=["columns", "rows"])
def test_skip_keeps_the_valid_rows_and_names_the_others_on_every_path(
    spec: InputSpec, columnwise_from: int
) -> None:
    rows = [
        GOOD,
        {**GOOD, "a": "x"},
        {**GOOD, "a": 2.0, "b": None},
        {**GOOD, "b": -6},
        {**GOOD, "a": None},
        GOOD,
    ]
    batch = skipped(spec, rows, columnwise_from)
    assert batch.kept == [0, 2, 5] and batch.refused_rows == [1, 3, 4]
    assert batch.rows == 3
    assert batch.errors == [
        {"row": 1, "feature": "a", "problem": "expected a number, got a string"},
        {
            "row": 3,
            "feature": "b",
            "problem": "outside the plausible limits for this feature (at least -5)",
        },
        {"row": 4, "feature": "a", "problem": checks.NULL},
    ]
    # Warnings and imputed features are the kept rows', by request row.
    assert batch.warnings == [
        {"row": 2, "feature": "a", "problem": "above the largest value seen in training"}
    ]
    assert batch.imputed == [[], ["b"], []]


@pytest.mark.parametrize("columnwise_from", [1, 10**9])
def test_skip_without_a_problem_is_the_whole_batch(columnwise_from: int) -> None:
    batch = skipped(MIXED, [GOOD, GOOD], columnwise_from)
    assert (batch.kept, batch.refused_rows, batch.errors, batch.rows) == (None, [], [], 2)


@pytest.mark.parametrize("spec", [NUMBERS, MIXED], ids=["matrix", "mixed"])
def test_skip_with_no_valid_row_raises_what_fail_mode_raises(spec: InputSpec) -> None:
    rows = [{**GOOD, "a": "x"}, {**GOOD, "b": -9}]
    for columnwise_from in (1, 10**9):
        validator = Validator(spec, columnwise_from=columnwise_from)
        payload = read_payload({"instances": rows}, 10, features=validator.known)
        errors = []
        for mode in ("fail", "skip"):
            with pytest.raises(RequestError) as caught:
                validator.validate(payload, mode)
            errors.append((caught.value.code, caught.value.message, caught.value.details))
        assert errors[0] == errors[1]


def test_skip_lists_every_refused_row_and_the_first_problems_up_to_the_cap() -> None:
    rows = [GOOD, *([{**GOOD, "a": "x"}] * 300), GOOD]
    for columnwise_from in (1, 10**9):
        batch = skipped(MIXED, rows, columnwise_from)
        assert batch.refused_rows == list(range(1, 301)) and batch.kept == [0, 301]
        assert [e["row"] for e in batch.errors] == list(range(1, 102))


def test_skip_refuses_irregular_rows_of_both_shapes_and_keeps_the_rest() -> None:
    validator = Validator(MIXED, columnwise_from=1)
    columnar = {"columns": ["a", "b", "c"], "data": [[0.5, 1.0, "x"], [0.5], "row", [0.1, 2, "y"]]}
    instances = {"instances": [GOOD, {**GOOD, "d": 1}, 7, {"a": 0.1, "b": 2, "c": "y"}]}
    for body in (columnar, instances):
        batch = validator.validate(read_payload(body, 10, features=validator.known), "skip")
        assert batch.kept == [0, 3] and batch.refused_rows == [1, 2]
        assert batch.columns is not None and list(batch.columns["c"]) == ["x", "y"]


@pytest.mark.parametrize("sent", ["SKIP", "ignore", 1, None, [SECRET_TEXT], SECRET_TEXT])
def test_an_on_error_other_than_fail_or_skip_is_refused_naming_the_allowed_values(
    sent: Any,
) -> None:
    with pytest.raises(InvalidPayloadError) as caught:
        read_payload({"on_error": sent, "instances": [GOOD]}, 10, features=GOOD)
    assert caught.value.message == (
        '"on_error" must be "fail" or "skip" (what was sent is not repeated)'
    )


@pytest.mark.parametrize("mode", ["fail", "skip"])
def test_a_batch_carries_its_on_error(mode: str) -> None:
    payload = read_payload({"on_error": mode, "columns": ["a"], "data": [[1]]}, 10, features="a")
    assert payload.on_error == mode


def predict(api: FlaskClient, body: Any) -> tuple[int, Any]:
    response = api.post("/predict", json=body)
    return response.status_code, response.get_json()


def test_predict_in_skip_mode_answers_each_valid_row_as_if_sent_alone(
    pipeline_artefact: Path, client: Client
) -> None:
    api = client(pipeline_artefact)
    rows = [
        PATIENT,
        {**PATIENT, "age": SECRET_TEXT},
        {**PATIENT, "bmi": None, "sex": "F"},
        {**PATIENT, "ward": 3, "smoker": "yes"},
    ]
    status, answer = predict(api, {"on_error": "skip", "instances": rows})
    assert status == 200
    alone = [predict(api, row)[1] for row in (rows[0], rows[2])]
    assert answer["predictions"] == [
        alone[0]["predictions"][0],
        None,
        alone[1]["predictions"][0],
        None,
    ]
    assert answer["probabilities"][1] is answer["probabilities"][3] is None
    assert answer["probabilities"][2] == alone[1]["probabilities"][0]
    assert answer["decisions"] == [alone[0]["decisions"][0], None, alone[1]["decisions"][0], None]
    assert answer["imputed"] == [[], [], ["bmi"], []]
    assert answer["refused_rows"] == [1, 3]
    assert [(e["row"], e["feature"]) for e in answer["errors"]] == [
        (1, "age"),
        (3, "ward"),
        (3, "smoker"),
    ]
    assert SECRET_TEXT not in json.dumps(answer)


def test_predict_in_fail_mode_refuses_the_whole_batch_listing_every_problem(
    pipeline_artefact: Path, client: Client
) -> None:
    rows = [PATIENT, {**PATIENT, "age": "x"}, {**PATIENT, "ward": 3}]
    for api, body in (
        (client(pipeline_artefact), {"instances": rows}),
        (client(pipeline_artefact, on_error="skip"), {"on_error": "fail", "instances": rows}),
    ):
        status, answer = predict(api, body)
        assert status == 422 and answer["error"]["code"] == "invalid_input"
        assert [d["row"] for d in answer["error"]["details"]] == [1, 2]


def test_the_on_error_setting_is_the_default_a_batch_can_override(
    binary_artefact: Path, client: Client
) -> None:
    rows: list[dict[str, Any]] = json.loads((binary_artefact / "self_test.json").read_text())[
        "inputs"
    ][:3]
    rows[1] = {**rows[1], "mean radius": "big"}
    api = client(binary_artefact, on_error="skip")
    status, answer = predict(
        api, {"columns": list(rows[0]), "data": [list(r.values()) for r in rows]}
    )
    assert status == 200 and answer["refused_rows"] == [1]
    assert answer["predictions"][1] is None and None not in answer["predictions"][::2]
    assert predict(api, {"on_error": "fail", "instances": rows})[0] == 422
    status, answer = predict(api, {"on_error": "skip", "instances": [rows[1]]})
    assert status == 422 and answer["error"]["code"] == "invalid_input"


def test_skip_mode_is_counted_in_the_access_line_and_kept_in_the_audit_line(
    pipeline_artefact: Path, client: Client, logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    api = client(pipeline_artefact, audit_log=log, audit_key="k" * 32)
    logs.clear()
    rows = [{**PATIENT, "age": "old"}, PATIENT, {**PATIENT, "bmi": None}]
    status, answer = predict(api, {"on_error": "skip", "instances": rows})
    assert status == 200 and answer["refused_rows"] == [0]
    access = [json.loads(r.getMessage()) for r in logs.records if r.name == "deployml.access"]
    assert (access[0]["refused"], access[0]["imputed"]) == (1, {"bmi": 1})
    line = orjson.loads(log.read_bytes().splitlines()[0])
    assert line["refused_rows"] == [0] and line["outputs"][0] is None
    assert line["outputs"][2]["prediction"] == answer["predictions"][2]
    assert line["imputed"] == [{"row": 2, "features": ["bmi"]}]
    assert len(line["input_hmacs"]) == 3


@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_a_columnar_row_that_is_not_an_array_is_audited_not_a_server_error(
    pipeline_artefact: Path, client: Client, tmp_path: Path, on_error: str
) -> None:
    log = tmp_path / "audit.jsonl"
    api = client(pipeline_artefact, audit_log=log, audit_key="k" * 32)
    columns = list(PATIENT)
    body = {"on_error": on_error, "columns": columns, "data": [list(PATIENT.values()), 5]}
    status, answer = predict(api, body)
    assert answer.get("refused_rows", [1]) == [1]
    assert status == (200 if on_error == "skip" else 422)
    line = orjson.loads(log.read_bytes().splitlines()[0])
    assert line["status"] == status and len(line["input_hmacs"]) == 2
