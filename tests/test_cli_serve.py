"""``deployml serve``: option checks and one-line errors before gunicorn starts.

Also the gunicorn options it starts with, and the curl example it prints.
"""

from __future__ import annotations

import shlex
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import Result
from gunicorn.workers.gthread import ThreadWorker

from server import create_app
from server.errors import ListenError
from server.gunicorn_app import check_address, curl_example, gunicorn_options
from server.http import EXTENSION
from server.settings import Settings

# gunicorn alone, on a busy port, retries for about five seconds after loading the model.
FAST = 5.0


@contextmanager
def listening(host: str = "127.0.0.1") -> Iterator[int]:
    """A port on ``host`` that another socket listens on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as holder:
        holder.bind((host, 0))
        holder.listen()
        port: int = holder.getsockname()[1]
        yield port


def test_serve_without_an_artefact_names_the_variable(runner: Callable[..., Result]) -> None:
    result = runner("serve")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: DEPLOYML_ARTEFACT: not set; give the artefact directory"


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "0"],
        ["--port", "x"],
        ["--workers", "0"],
        ["--host", "a b"],
        ["--expected-sha256", "abc"],
    ],
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


def test_serve_on_a_busy_port_fails_at_once_in_one_line(
    binary_artefact: Path, runner: Callable[..., Result]
) -> None:
    with listening() as port:
        started = time.monotonic()
        result = runner("serve", binary_artefact, "--port", port)
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert result.output == f"Error: port {port} on 127.0.0.1 is in use\n"
    assert elapsed < FAST


def test_serve_on_an_address_that_is_not_here_fails_at_once_in_one_line(
    binary_artefact: Path, runner: Callable[..., Result]
) -> None:
    # 192.0.2.0/24 is reserved for documentation: never an address of this host.
    started = time.monotonic()
    result = runner("serve", binary_artefact, "--host", "192.0.2.1", "--port", 8000)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot listen on 192.0.2.1 port 8000: ")
    assert result.output.count("\n") == 1
    assert elapsed < FAST


def test_check_address_tells_a_busy_port_on_ipv6_too() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    try:
        with listening("::1") as port, pytest.raises(ListenError) as caught:
            check_address(Settings(host="::1", port=port))
    except OSError:
        pytest.skip("::1 is not configured on this host")
    assert caught.value.in_use and caught.value.message == f"port {port} on ::1 is in use"


def test_check_address_passes_a_free_port_and_sockets_handed_over_by_gunicorn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    check_address(Settings(port=free))
    with listening() as port:
        # A re-executed gunicorn (USR2) inherits its listening socket, so the port is busy.
        monkeypatch.setenv("GUNICORN_FD", "3")
        check_address(Settings(port=port))


def test_the_curl_asks_for_a_key_when_keys_are_required(
    binary_artefact: Path, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"ward-3 {'ab' * 32}\n")
    settings = Settings(artefact=binary_artefact, api_keys_file=keys)
    app = create_app(settings)
    words = shlex.split(curl_example(settings, app.extensions[EXTENSION]), posix=True)
    assert words[words.index("-H", 6) + 1] == "Authorization: Bearer $API_KEY"


def test_serve_refuses_a_bad_keys_file_in_one_line_naming_its_line(
    binary_artefact: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"# clients\nward-3 {'ab' * 32}\nlab secret-key-pasted-here\n")
    env = {"DEPLOYML_ARTEFACT": "", "DEPLOYML_API_KEYS_FILE": str(keys)}
    result = runner("serve", binary_artefact, env=env)
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: DEPLOYML_API_KEYS_FILE: {keys} line 3: the second field is not a SHA-256"
    )
    assert result.output.count("\n") == 1 and "secret-key" not in result.output
