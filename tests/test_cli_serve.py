"""``deployml serve``: option checks and one-line errors before gunicorn starts.

Also the gunicorn options it starts with, and the curl example it prints.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from gunicorn.workers.gthread import ThreadWorker

from server.gunicorn_app import curl_example, gunicorn_options
from server.http import EXTENSION, create_app
from server.settings import Settings


def test_serve_without_an_artefact_names_the_variable(runner: Callable[..., Result]) -> None:
    result = runner("serve")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: DEPLOYML_ARTEFACT: not set; give the artefact directory"


@pytest.mark.parametrize(
    "args", [["--port", "0"], ["--port", "x"], ["--workers", "0"], ["--host", "a b"]]
)
def test_serve_refuses_bad_options_as_usage_errors(
    binary_artefact: Path, args: list[str], runner: Callable[..., Result]
) -> None:
    result = runner("serve", binary_artefact, *args)
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_serve_refuses_a_missing_directory(tmp_path: Path, runner: Callable[..., Result]) -> None:
    result = runner("serve", tmp_path / "absent")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_serve_reports_a_bad_environment_variable_in_one_line(
    binary_artefact: Path, runner: Callable[..., Result]
) -> None:
    result = runner("serve", binary_artefact, env={"DEPLOYML_MAX_ROWS": "lots"})
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: DEPLOYML_MAX_ROWS: expected a whole number from 1 to 10000000"
    ]


def test_gunicorn_options_preload_the_model_and_keep_connections_alive() -> None:
    options = gunicorn_options(
        Settings(host="0.0.0.0", port=9000, workers=3, worker_threads=2, client_timeout=7)
    )
    assert options["bind"] == ["0.0.0.0:9000"]
    assert (options["workers"], options["threads"]) == (3, 2)
    worker = options["worker_class"]
    assert issubclass(worker, ThreadWorker) and options["preload_app"] is True
    assert (worker.client_timeout, worker.max_body_bytes) == (7, Settings().max_request_bytes)
    assert options["keepalive"] > 0 and options["accesslog"] is None
    assert callable(options["pre_fork"])


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
def test_serve_prints_a_curl_that_the_server_answers(binary_artefact: Path, host: str) -> None:
    settings = Settings.from_env({"DEPLOYML_ARTEFACT": str(binary_artefact), "DEPLOYML_HOST": host})
    app = create_app(settings)
    words = shlex.split(curl_example(settings, app.extensions[EXTENSION]))
    assert words[:4] == ["curl", "-s", "-X", "POST"]
    assert words[4] == "http://127.0.0.1:8000/predict"
    body = words[words.index("-d") + 1]
    response = app.test_client().post("/predict", data=body, content_type="application/json")
    assert response.status_code == 200, response.get_json()
