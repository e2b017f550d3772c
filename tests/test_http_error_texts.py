"""Werkzeug's generic 404, 405 and 413 texts are replaced: a 404 lists the routes (from the
app's URL map, never the path asked for), a 405 names the route and the methods it answers,
and a 413 names the limit and the setting that raises it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request

from server import Settings, create_app

SECRET = "ZQXJ-SECRET-7731"
V2 = "/v2/models/<name>"
V2_VERSIONS = f"{V2}/versions/<version>"
ROUTES = (
    "GET /, GET /docs, GET /docs/<asset>, GET /drift, POST /invocations, GET /livez, "
    "GET /metadata, GET /metrics, GET /openapi.json, GET /ping, POST /predict, GET /readyz"
    f", GET /v2, GET /v2/health/live, GET /v2/health/ready, GET {V2}, POST {V2}/infer"
    f", GET {V2}/ready, GET {V2_VERSIONS}, POST {V2_VERSIONS}/infer, GET {V2_VERSIONS}/ready"
)


@pytest.fixture
def app(binary_artefact: Path) -> Flask:
    return create_app(Settings(artefact=binary_artefact, max_rows=3, max_request_bytes=4096))


def error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status
    body = response.get_json()
    assert body["error"]["code"] == code and body["error"]["details"] == []
    message: str = body["error"]["message"]
    return message


def test_a_404_lists_the_routes_and_never_the_path(
    app: Flask, logs: pytest.LogCaptureFixture
) -> None:
    response = app.test_client().get(f"/patients/{SECRET}?name={SECRET}")
    message = error(response, 404, "not_found")
    assert message == f"no route answers this path; the routes are: {ROUTES}"
    assert SECRET not in response.get_data(as_text=True) + logs.text


def test_the_routes_a_404_lists_are_read_from_the_app_s_url_map(binary_artefact: Path) -> None:
    app = create_app(Settings(artefact=binary_artefact))
    app.add_url_rule("/extra", "extra", lambda: "", methods=["PUT", "DELETE"])
    message = error(app.test_client().get("/nowhere"), 404, "not_found")
    assert (
        ", DELETE /extra, PUT /extra, POST /invocations, GET /livez, GET /metadata, "
        "GET /metrics, GET /openapi.json, GET /ping, POST /predict, GET /readyz, GET /v2, "
    ) in message


@pytest.mark.parametrize(
    ("method", "path", "message", "allow"),
    [
        (
            "POST",
            "/metadata",
            "POST is not allowed on /metadata; it answers GET, HEAD, OPTIONS",
            "GET, HEAD, OPTIONS",
        ),
        (
            "GET",
            "/predict",
            "GET is not allowed on /predict; it answers OPTIONS, POST",
            "OPTIONS, POST",
        ),
        (
            "DELETE",
            "/",
            "DELETE is not allowed on /; it answers GET, HEAD, OPTIONS",
            "GET, HEAD, OPTIONS",
        ),
        # A method of the client's own making is request text: named as the access log does.
        (
            SECRET.replace("-", "").upper(),
            "/livez",
            "OTHER is not allowed on /livez; it answers GET, HEAD, OPTIONS",
            "GET, HEAD, OPTIONS",
        ),
    ],
)
def test_a_405_names_the_route_and_the_methods_it_answers(
    app: Flask, method: str, path: str, message: str, allow: str, logs: pytest.LogCaptureFixture
) -> None:
    response = app.test_client().open(f"{path}?q={SECRET}", method=method)
    assert error(response, 405, "method_not_allowed") == message
    assert response.headers["Allow"] == allow
    assert "ZQXJ" not in response.get_data(as_text=True) + logs.text


def test_a_body_over_the_limit_names_the_limit_and_its_setting(app: Flask) -> None:
    body = json.dumps({"pad": SECRET * 400})
    response = app.test_client().post("/predict", data=body, content_type="application/json")
    assert error(response, 413, "payload_too_large") == (
        "the body is larger than the 4,096 bytes this server accepts: send fewer rows per "
        "request, or raise the limit with DEPLOYML_MAX_REQUEST_BYTES"
    )


def test_werkzeug_s_own_413_says_the_same(binary_artefact: Path) -> None:
    """Werkzeug refuses a declared length over MAX_CONTENT_LENGTH wherever a view reads the
    body through it; deployml's /predict checks first, a route reading request.data would not."""
    app = create_app(Settings(artefact=binary_artefact, max_request_bytes=4096))
    app.add_url_rule("/echo", "echo", lambda: request.get_data(), methods=["POST"])
    response = app.test_client().post("/echo", data=b"x" * 5000)
    assert error(response, 413, "payload_too_large") == (
        "the body is larger than the 4,096 bytes this server accepts: send fewer rows per "
        "request, or raise the limit with DEPLOYML_MAX_REQUEST_BYTES"
    )


def test_too_many_rows_names_the_limit_and_its_setting(app: Flask, binary_artefact: Path) -> None:
    row = json.loads((binary_artefact / "self_test.json").read_text())["inputs"][0]
    response = app.test_client().post("/predict", json={"instances": [row] * 4})
    assert error(response, 413, "too_many_rows") == (
        "the batch holds 4 rows; at most 3 are allowed per request: send smaller batches, or "
        "raise the limit with DEPLOYML_MAX_ROWS"
    )
