"""API keys over HTTP: a 401 without a known key, the probes open, the client named in the log."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from packager.errors import ConfigError, KeysFileError
from server import Settings, create_app
from server.api_keys import add_client

WWW_AUTHENTICATE = 'Bearer realm="deployml"'


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, str, str]:
    """A keys file with two clients; returns it and the keys of ward-3 and lab."""
    path = tmp_path / "keys"
    ward, lab = add_client(path, "ward-3"), add_client(path, "lab")
    return path, ward, lab


@pytest.fixture
def api(
    binary_artefact: Path, keys: tuple[Path, str, str], client: Callable[..., FlaskClient]
) -> FlaskClient:
    return client(binary_artefact, api_keys_file=keys[0])


def example(artefact: Path) -> dict[str, object]:
    row: dict[str, object] = json.loads((artefact / "self_test.json").read_text())["inputs"][0]
    return row


def access_lines(logs: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in logs.records if r.name == "deployml.access"]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "an API key is required"),
        ({"Authorization": "Bearer not-a-key"}, "the API key is not valid"),
        ({"X-API-Key": "not-a-key"}, "the API key is not valid"),
        ({"Authorization": "Bearer "}, "an API key is required"),
    ],
)
def test_metadata_without_a_known_key_is_a_401_in_the_error_shape(
    api: FlaskClient, headers: dict[str, str], message: str
) -> None:
    response = api.get("/metadata", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized" and error["details"] == []
    assert error["message"].startswith(message)


@pytest.mark.parametrize(
    "form",
    [
        "Authorization: {key}",
        "Authorization: Basic {key}",
        "Authorization: Token {key}",
        "X-API-Key: Bearer {key}",
        "Api-Key: {key}",
        "X-Auth-Token: {key}",
    ],
)
def test_a_good_key_in_the_wrong_header_form_is_a_401(
    api: FlaskClient, keys: tuple[Path, str, str], form: str
) -> None:
    name, value = form.format(key=keys[1]).split(": ", 1)
    response = api.get("/metadata", headers={name: value})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE


@pytest.mark.parametrize("form", ["Authorization: Bearer {key}", "Authorization: bearer {key}"])
def test_predict_answers_a_bearer_key(
    api: FlaskClient, binary_artefact: Path, keys: tuple[Path, str, str], form: str
) -> None:
    name, value = form.format(key=keys[1]).split(": ", 1)
    response = api.post("/predict", json=example(binary_artefact), headers={name: value})
    assert response.status_code == 200, response.get_json()


def test_predict_metadata_and_the_card_answer_an_x_api_key(
    api: FlaskClient, binary_artefact: Path, keys: tuple[Path, str, str]
) -> None:
    headers = {"X-API-Key": keys[2]}
    assert api.post("/predict", json=example(binary_artefact), headers=headers).status_code == 200
    assert api.get("/metadata", headers=headers).status_code == 200
    assert api.get("/", headers=headers).status_code == 200


def test_predict_without_a_key_is_refused_before_its_body_is_read(api: FlaskClient) -> None:
    response = api.post("/predict", data=b"{not json", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/no-such-path"), ("POST", "/metadata"), ("GET", "/")]
)
def test_every_other_route_needs_a_key_too(api: FlaskClient, method: str, path: str) -> None:
    assert api.open(path, method=method).status_code == 401


@pytest.mark.parametrize("path", ["/livez", "/readyz"])
def test_the_probes_stay_open_without_a_key(api: FlaskClient, path: str) -> None:
    assert api.get(path).status_code == 200


def test_the_access_log_names_the_client_and_never_holds_a_key(
    api: FlaskClient,
    binary_artefact: Path,
    keys: tuple[Path, str, str],
    logs: pytest.LogCaptureFixture,
) -> None:
    _, ward, lab = keys
    logs.clear()
    bodies = [
        api.post("/predict", json=example(binary_artefact), headers={"X-API-Key": ward}),
        api.get("/metadata", headers={"Authorization": f"Bearer {lab}"}),
        api.get("/metadata", headers={"Authorization": f"Bearer {lab}x"}),
        api.get("/livez", headers={"X-API-Key": ward}),
    ]
    lines = access_lines(logs)
    assert [(line["status"], line["client"]) for line in lines] == [
        (200, "ward-3"),
        (200, "lab"),
        (401, None),
        (200, None),
    ]
    seen = logs.text + "".join(b.get_data(as_text=True) + str(b.headers) for b in bodies)
    assert ward not in seen and lab not in seen


def test_start_up_says_in_one_line_whether_keys_are_required(
    binary_artefact: Path,
    keys: tuple[Path, str, str],
    logs: pytest.LogCaptureFixture,
    client: Callable[..., FlaskClient],
) -> None:
    client(binary_artefact)
    client(binary_artefact, api_keys_file=keys[0])
    said = [r.getMessage() for r in logs.records if "API keys" in r.getMessage()]
    assert said == [
        "no API keys file (DEPLOYML_API_KEYS_FILE): every route is open to anyone who can "
        "reach this address",
        "API keys required on every route but the probes (/livez, /ping, /readyz, "
        f"/v2/health/live, /v2/health/ready): 2 client(s) in {keys[0]}",
    ]


def test_without_a_keys_file_every_route_stays_open(
    binary_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    api = client(binary_artefact)
    assert api.get("/metadata").status_code == 200
    assert api.post("/predict", json=example(binary_artefact)).status_code == 200


def test_a_bad_keys_file_stops_start_up_before_the_model_is_loaded(
    binary_artefact: Path, tmp_path: Path
) -> None:
    # The model file is changed too: the keys file's error comes first, so it was read first.
    artefact = Path(shutil.copytree(binary_artefact, tmp_path / "tampered"))
    model_file = json.loads((artefact / "manifest.json").read_text())["model_file"]["path"]
    with (artefact / model_file).open("ab") as handle:
        handle.write(b"\0")
    keys = tmp_path / "keys"
    keys.write_text("ward-3 not-a-hash\n")
    with pytest.raises(KeysFileError, match=f"^{keys} line 1: the second field"):
        create_app(Settings(artefact=artefact, api_keys_file=keys))
    with pytest.raises(ConfigError, match=f"^DEPLOYML_API_KEYS_FILE: {keys} line 1: "):
        Settings.from_env({"DEPLOYML_API_KEYS_FILE": str(keys)})
