"""Every failure over HTTP has one JSON shape, a 4xx for client mistakes, no traceback."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server import Settings, create_app

SECRET_TEXT = "ZQXJ-SECRET-7731"


@pytest.fixture
def app(binary_artefact: Path) -> Flask:
    return create_app(Settings(artefact=binary_artefact, max_rows=3, max_request_bytes=4096))


@pytest.fixture
def row(binary_artefact: Path) -> dict[str, Any]:
    stored = json.loads((binary_artefact / "self_test.json").read_text())
    first: dict[str, Any] = stored["inputs"][0]
    return first


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.headers["X-Request-ID"]
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b'{"mean radius": ', "application/json", 400, "malformed_json"),
        (b'{"mean radius": NaN}', "application/json", 400, "malformed_json"),
        (b'{"mean radius": Infinity}', "application/json", 400, "malformed_json"),
        (b'{"mean radius": -1e999}', "application/json", 400, "malformed_json"),
        (b"", "application/json", 400, "malformed_json"),
        (b"[1, 2]", "application/json", 400, "invalid_payload"),
        (b'{"instances": 3}', "application/json", 400, "invalid_payload"),
        (b'{"instances": []}', "application/json", 422, "empty_batch"),
        (b'{"mean radius": 1}', "text/plain", 415, "unsupported_media_type"),
        (b'{"mean radius": 1}', None, 415, "unsupported_media_type"),
        (b'{"mean radius": 1}', "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"pad": "' + b"x" * 5000 + b'"}', "application/json", 413, "payload_too_large"),
    ],
)
def test_predict_refuses_bad_requests_with_the_json_error_shape(
    app: Flask, data: bytes, content_type: str | None, status: int, code: str
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = app.test_client().post("/predict", data=data, headers=headers)
    assert_error(response, status, code)


def test_a_body_over_the_limit_names_the_limit_not_the_body(app: Flask) -> None:
    response = app.test_client().post(
        "/predict", data=b'{"pad": "' + b"x" * 5000 + b'"}', content_type="application/json"
    )
    error = assert_error(response, 413, "payload_too_large")
    # The app's limit is 4096 bytes.
    assert error["message"] == (
        "the body is larger than the 4,096 bytes this server accepts: send fewer rows per "
        "request, or raise the limit with DEPLOYML_MAX_REQUEST_BYTES"
    )


def test_predict_refuses_too_many_rows(app: Flask, row: dict[str, Any]) -> None:
    response = app.test_client().post("/predict", json={"instances": [row] * 4})
    error = assert_error(response, 413, "too_many_rows")
    assert "4 rows; at most 3" in error["message"]


@pytest.mark.parametrize(
    ("change", "feature", "problem"),
    [
        ({"mean radius": None}, "mean radius", "null is not allowed"),
        ({"mean radius": SECRET_TEXT}, "mean radius", "expected a number, got a string"),
        ({"mean radius": ...}, "mean radius", "missing"),
    ],
)
def test_predict_refuses_invalid_features_naming_them_without_values(
    app: Flask,
    row: dict[str, Any],
    change: dict[str, Any],
    feature: str,
    problem: str,
    logs: pytest.LogCaptureFixture,
) -> None:
    bad = {k: v for k, v in {**row, **change}.items() if v is not ...}
    response = app.test_client().post("/predict", json={"instances": [row, bad]})
    error = assert_error(response, 422, "invalid_input")
    [detail] = error["details"]
    assert (detail["row"], detail["feature"]) == (1, feature)
    assert problem in detail["problem"]
    assert SECRET_TEXT not in response.get_data(as_text=True) + logs.text


def test_unknown_route_is_a_json_404_logged_without_its_path(
    app: Flask, logs: pytest.LogCaptureFixture
) -> None:
    assert_error(app.test_client().get(f"/patients/{SECRET_TEXT}"), 404, "not_found")
    line = json.loads(next(r.getMessage() for r in logs.records if r.name == "deployml.access"))
    assert (line["route"], line["status"]) == (None, 404)
    assert SECRET_TEXT not in logs.text


@pytest.mark.parametrize(("method", "path"), [("get", "/predict"), ("post", "/metadata")])
def test_wrong_method_is_a_json_405_with_allow(app: Flask, method: str, path: str) -> None:
    response = getattr(app.test_client(), method)(path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"]


def test_server_fault_is_a_500_without_traceback_or_message(
    app: Flask, row: dict[str, Any], monkeypatch: pytest.MonkeyPatch, logs: pytest.LogCaptureFixture
) -> None:
    def crash(X: Any) -> Any:
        raise RuntimeError(f"broken on {SECRET_TEXT}")

    state = app.extensions["deployml"]
    # The model's own predict_proba, not an exact path, scores the row.
    app.extensions["deployml"] = replace(state, runtime=replace(state.runtime, exact=None))
    monkeypatch.setattr(state.runtime.artefact.model, "predict_proba", crash)
    response = app.test_client().post("/predict", json=row)
    error = assert_error(response, 500, "server_error")
    assert error["message"] == "the server failed to handle the request"
    assert "RuntimeError" in logs.text
    assert SECRET_TEXT not in response.get_data(as_text=True) + logs.text


def test_unknown_keys_are_counted_not_echoed(
    binary_artefact: Path, row: dict[str, Any], logs: pytest.LogCaptureFixture
) -> None:
    key = SECRET_TEXT * 640  # a 10 KB key; a key can be a patient's name
    client = create_app(Settings(artefact=binary_artefact)).test_client()
    response = client.post("/predict", json={**row, key: 1})
    error = assert_error(response, 422, "invalid_input")
    assert error["details"] == [
        {
            "row": 0,
            "problem": "an unknown feature (names are not repeated back); "
            "this model was not trained on it",
        }
    ]
    assert len(response.get_data()) < 1000
    assert SECRET_TEXT not in response.get_data(as_text=True) + logs.text


@pytest.mark.parametrize("number", [b"1e19", b"18446744073709551615", b"-1e19"])
def test_an_integer_the_model_type_cannot_hold_is_a_422_naming_the_feature(number: bytes) -> None:
    # An integer feature (whole numbers only) of int64: format 3.0's Pclass. In 4.0 an int64
    # column is a number, and such a value is scored as a float (test_schema_model_input.py).
    artefact = Path(__file__).parent / "data" / "artefact-format-3.0"
    rows = json.loads((artefact / "self_test.json").read_text())["inputs"]
    body = json.dumps({**rows[0], "Pclass": 0}).replace(
        '"Pclass": 0', '"Pclass": ' + number.decode()
    )
    client = create_app(Settings(artefact=artefact)).test_client()
    for data in (body, '{"instances": [' + ",".join([body] * 70) + "]}"):
        response = client.post("/predict", data=data, content_type="application/json")
        error = assert_error(response, 422, "invalid_input")
        assert error["details"][0] == {
            "row": 0,
            "feature": "Pclass",
            "problem": "outside the range of this feature's type (int64)",
        }
        assert number.decode().lstrip("-")[:6] not in response.get_data(as_text=True)


def test_unsupported_media_type_does_not_echo_the_sent_type(
    app: Flask, logs: pytest.LogCaptureFixture
) -> None:
    response = app.test_client().post(
        "/predict", data=b"{}", headers={"Content-Type": f"text/{SECRET_TEXT}"}
    )
    error = assert_error(response, 415, "unsupported_media_type")
    assert error["message"] == "expected Content-Type application/json, got another type"
    assert SECRET_TEXT not in response.get_data(as_text=True) + logs.text


@pytest.mark.parametrize("path", ["/predict", "/livez", "/nowhere"])
def test_an_odd_method_and_a_long_query_string_stay_out_of_the_access_log(
    app: Flask, path: str, logs: pytest.LogCaptureFixture
) -> None:
    method = SECRET_TEXT.replace("-", "").upper()
    query = f"?patient={SECRET_TEXT * 200}"
    response = app.test_client().open(path + query, method=method)
    assert response.status_code in (404, 405)
    [line] = [json.loads(r.getMessage()) for r in logs.records if r.name == "deployml.access"]
    assert line["method"] == "OTHER"
    assert SECRET_TEXT not in logs.text and "ZQXJ" not in logs.text
    assert "ZQXJ" not in response.get_data(as_text=True)


def test_the_largest_json_integer_for_a_number_feature_is_a_warning_not_a_fault(
    binary_artefact: Path, row: dict[str, Any]
) -> None:
    body = json.dumps({**row, "mean radius": 0}).replace(
        '"mean radius": 0', '"mean radius": 18446744073709551615'
    )
    client = create_app(Settings(artefact=binary_artefact)).test_client()
    for data in (body, '{"instances": [' + ",".join([body] * 70) + "]}"):
        response = client.post("/predict", data=data, content_type="application/json")
        assert response.status_code == 200
        assert response.get_json()["warnings"][0] == {
            "row": 0,
            "feature": "mean radius",
            "problem": "above the largest value seen in training",
        }
