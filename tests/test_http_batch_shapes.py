"""Clear shapes: a batch takes "instances" (or "columns" and "data"), "profile" and
"on_error", and nothing else; other keys are counted, never named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.errors import InvalidPayloadError
from server.validation.payload import read_payload

SECRET_TEXT = "ZQXJ-SECRET-7731"
FEATURES = frozenset({"age", "sex"})
ROW = {"age": 52, "sex": "F"}
OTHER_KEYS = (
    'a batch takes "instances" (or "columns" and "data"), "profile" and "on_error"; this body '
    "has {} (names are not repeated); send a request id in the X-Request-ID header"
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instances": [ROW], "id": 1}, OTHER_KEYS.format("1 other key")),
        (
            {"columns": ["age"], "data": [[1]], SECRET_TEXT: 1, "x": 2},
            OTHER_KEYS.format("2 other keys"),
        ),
        (
            {"instances": [ROW], "age": 52, "profile": "p", "on_error": "skip"},
            OTHER_KEYS.format("1 other key"),
        ),
        (
            {"columns": ["age"]},
            '"columns" comes with "data": the rows, each an array of values in column order',
        ),
        (
            {"data": [[1]]},
            '"data" comes with "columns": the feature names its rows hold values of, in order',
        ),
        (
            {"instances": [ROW], "data": [[1]]},
            'a batch is "instances" or "columns" and "data", not both; send one of them',
        ),
        (
            {"instances": [ROW], "columns": ["age"], "data": [[1]]},
            'a batch is "instances" or "columns" and "data", not both; send one of them',
        ),
    ],
)
def test_a_batch_with_keys_it_does_not_take_is_refused_without_naming_them(
    body: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidPayloadError) as caught:
        read_payload(body, 10, features=FEATURES)
    assert caught.value.message == message
    assert SECRET_TEXT not in caught.value.message


def test_a_batch_may_say_what_to_do_with_invalid_rows_and_name_a_profile() -> None:
    body = {"instances": [ROW], "profile": "site-b", "on_error": "skip"}
    payload = read_payload(body, 10, features=FEATURES)
    assert (payload.rows, payload.profile, payload.on_error) == (1, "site-b", "skip")


def test_batch_keys_that_are_feature_names_leave_one_instance_an_instance() -> None:
    features = {"data", "instances", "age"}
    instance = {"data": 3, "instances": 4, "age": 5, "id": 6}
    assert read_payload(instance, 10, features=features).records == [instance]
    # "columns" still makes a batch, whose "data" is then the rows.
    columnar = read_payload({"columns": ["age"], "data": [[5]]}, 10, features=features)
    assert (columnar.columns, columnar.data) == (["age"], [[5]])


def test_one_instance_keeps_profile_and_on_error_as_features() -> None:
    instance = {**ROW, "profile": "p", "on_error": "skip"}
    payload = read_payload(instance, 10, features=FEATURES)
    assert payload.records == [instance] and payload.on_error is None and not payload.names_profile


def test_predict_refuses_an_id_beside_the_instances_with_a_400_naming_the_allowed_keys(
    pipeline_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    row = {"age": 58, "bmi": 27.5, "sex": "M", "ward": "c", "smoker": True}
    response = client(pipeline_artefact).post(
        "/predict", json={"instances": [row], SECRET_TEXT: "1"}
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error == {
        "code": "invalid_payload",
        "message": OTHER_KEYS.format("1 other key"),
        "details": [],
    }
