"""End to end: a real gunicorn on a free port, started as users and the container start it."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from packager import capture, package

SECRET_TEXT = "ZQXJ-SECRET-7731"
READY_WITHIN = 60.0
DEPLOYML = [sys.executable, "-m", "deployml"]
# What the image runs (Dockerfile CMD).
CONTAINER_COMMAND = (
    sys.executable,
    "-m",
    "gunicorn",
    "--config",
    "python:server.gunicorn_config",
    "server.gunicorn_config:app()",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def busy_port() -> Iterator[int]:
    """A port of 127.0.0.1 that another socket is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port: int = holder.getsockname()[1]
        yield port


def tampered(artefact: Path, tmp_path: Path) -> tuple[Path, str]:
    """A copy of ``artefact`` whose model file no longer matches its hash, and that file's name."""
    copy = Path(shutil.copytree(artefact, tmp_path / "tampered"))
    model_file: str = json.loads((copy / "manifest.json").read_text())["model_file"]["path"]
    with (copy / model_file).open("ab") as handle:
        handle.write(b"\0")
    return copy, model_file


def one_worker(artefact: Path, tmp_path: Path) -> tuple[int, Path, list[str]]:
    """A free port, the server's log and the command serving ``artefact`` with one worker."""
    port = free_port()
    command = [*DEPLOYML, "serve", str(artefact), "--port", str(port), "--workers", "1"]
    return port, tmp_path / "serve.log", command


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYML_")}
    return {**env, **extra}


@contextmanager
def running(command: list[str], port: int, log: Path, env: dict[str, str]) -> Iterator[str]:
    """Start ``command``, wait (bounded) until /readyz answers 200, and always stop it."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_WITHIN
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready within {READY_WITHIN}s:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        # The session holds the gunicorn master and its workers; stop them all.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def post(
    base: str, body: Any, headers: dict[str, str] | None = None, path: str = "/predict"
) -> tuple[int, Any, Any]:
    """POST ``body`` as JSON (GET when it is None); the status, the JSON answer, the headers."""
    request = urllib.request.Request(
        f"{base}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers


def served_answer(
    artefact: Path, rows: list[dict[str, Any]], log: Path
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """A real gunicorn's status and answer for ``rows`` sent as one columnar body, and its
    /metadata."""
    names = list(rows[0])
    port = free_port()
    command = [*DEPLOYML, "serve", str(artefact), "--port", str(port), "--workers", "1"]
    with running(command, port, log, clean_env()) as base:
        body = {"columns": names, "data": [[row[name] for name in names] for row in rows]}
        status, answer, _ = post(base, body)
        _, metadata, _ = post(base, None, path="/metadata")
    return status, answer, metadata


def example_rows(artefact: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((artefact / "self_test.json").read_text())["inputs"]
    return rows


def test_serve_predicts_over_gunicorn_and_logs_json_lines_without_values(
    pipeline_artefact: Path, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    command = [*DEPLOYML, "serve", str(pipeline_artefact), "--port", str(port), "--workers", "2"]
    rows = example_rows(pipeline_artefact)
    with running(command, port, log, clean_env()) as base:
        status, body, headers = post(base, rows[0], {"X-Request-ID": "e2e-1"})
        assert status == 200 and body["request_id"] == headers["X-Request-ID"] == "e2e-1"
        assert body["predictions"][0] in ("no", "yes")
        status, body, _ = post(base, {"instances": rows})
        assert status == 200 and len(body["predictions"]) == len(rows)
        status, body, _ = post(base, {"instances": [{**rows[0], "ward": 7, "id": SECRET_TEXT}]})
        assert status == 422 and body["error"]["code"] == "invalid_input"
        status, body, _ = post(base, {**rows[0], "sex": SECRET_TEXT})
        assert status == 200 and body["warnings"][0]["feature"] == "sex"
        with urllib.request.urlopen(f"{base}/metadata", timeout=10) as response:
            assert json.loads(response.read())["model"]["name"] == "readmission"
    output = log.read_text()
    access = [json.loads(line) for line in output.splitlines() if line.startswith('{"time"')]
    assert any(line["request_id"] == "e2e-1" and line["status"] == 200 for line in access)
    assert "Using worker: ReadingWorker" in output
    assert SECRET_TEXT not in output


def test_serve_keeps_the_connection_alive_between_predictions(
    binary_artefact: Path, tmp_path: Path
) -> None:
    port, log, command = one_worker(binary_artefact, tmp_path)
    body = json.dumps(example_rows(binary_artefact)[0]).encode()
    with running(command, port, log, clean_env()):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for _ in range(3):
                connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                assert response.status == 200
                json.loads(response.read())
                assert not response.will_close
        finally:
            connection.close()


def test_serve_refuses_a_tampered_artefact_with_a_one_line_error(
    binary_artefact: Path, tmp_path: Path
) -> None:
    artefact, model_file = tampered(binary_artefact, tmp_path)
    lines, _ = run_failing(
        [*DEPLOYML, "serve", str(artefact), "--port", str(free_port())], clean_env()
    )
    assert lines == [
        f"Error: {model_file}: differs from its SHA-256; the artefact was changed after packaging"
    ]


@pytest.mark.parametrize("how", ["--expected-sha256", "DEPLOYML_EXPECTED_SHA256"])
def test_serve_refuses_any_artefact_but_the_pinned_one_in_one_line(
    binary_artefact: Path, tmp_path: Path, how: str
) -> None:
    artefact = Path(shutil.copytree(binary_artefact, tmp_path / "other"))
    manifest = json.loads((artefact / "manifest.json").read_text())
    manifest["model"]["version"] = "2.0.0"
    (artefact / "manifest.json").write_text(json.dumps(manifest))
    found = hashlib.sha256((artefact / "manifest.json").read_bytes()).hexdigest()
    pinned = hashlib.sha256((binary_artefact / "manifest.json").read_bytes()).hexdigest()
    command = [*DEPLOYML, "serve", str(artefact), "--port", str(free_port())]
    if how == "--expected-sha256":
        command += ["--expected-sha256", pinned.upper()]
        env = clean_env()
    else:
        env = clean_env(DEPLOYML_EXPECTED_SHA256=pinned)
    lines, _ = run_failing(command, env)
    assert lines == [
        f"Error: the artefact's sha256 is {found}, not the expected {pinned}; refusing to load it"
    ]


def test_serve_refuses_a_malformed_manifest_in_one_line(
    binary_artefact: Path, tmp_path: Path
) -> None:
    artefact = Path(shutil.copytree(binary_artefact, tmp_path / "malformed"))
    manifest = json.loads((artefact / "manifest.json").read_text())
    manifest["input"]["features"][0]["min"] = "abc"
    (artefact / "manifest.json").write_text(json.dumps(manifest))
    lines, _ = run_failing(
        [*DEPLOYML, "serve", str(artefact), "--port", str(free_port())], clean_env()
    )
    assert lines == [f"Error: {artefact / 'manifest.json'}: input.features[0].min must be a number"]


def test_container_command_serves_with_the_same_gunicorn_config(
    regressor_artefact: Path, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "gunicorn.log"
    command = [*CONTAINER_COMMAND]
    env = clean_env(
        DEPLOYML_ARTEFACT=str(regressor_artefact), DEPLOYML_PORT=str(port), DEPLOYML_WORKERS="1"
    )
    with running(command, port, log, env) as base:
        status, body, _ = post(base, example_rows(regressor_artefact)[0])
        assert status == 200 and isinstance(body["predictions"][0], float)
    assert "Using worker: ReadingWorker" in log.read_text()


def test_container_command_refuses_a_pickle_artefact_in_one_line(tmp_path: Path) -> None:
    # The model is loaded after the config: its refusal is one line too, not a traceback.
    old = Path(__file__).parent / "data" / "artefact-format-1.1"
    command = [*CONTAINER_COMMAND]
    env = clean_env(DEPLOYML_ARTEFACT=str(old), DEPLOYML_PORT=str(free_port()))
    lines, _ = run_failing(command, env)
    assert lines == [
        f"Error: artefact {old} holds a pickle (model.joblib), which runs code when loaded; "
        "load it only if you trust whoever wrote it, with DEPLOYML_ALLOW_PICKLE=true"
    ]


def test_a_key_from_keys_add_opens_a_real_server_that_never_logs_it(
    pipeline_artefact: Path, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    made = subprocess.run(
        [*DEPLOYML, "keys", "add", "ward-3", "--file", str(keys)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key not in keys.read_text()
    port, log, command = one_worker(pipeline_artefact, tmp_path)
    row = example_rows(pipeline_artefact)[0]
    # running() waits on /readyz without a key: the probe is open.
    with running(command, port, log, clean_env(DEPLOYML_API_KEYS_FILE=str(keys))) as base:
        status, body, headers = post(base, row)
        assert (status, body["error"]["code"]) == (401, "unauthorized")
        assert headers["WWW-Authenticate"] == 'Bearer realm="deployml"'
        assert post(base, row, {"Authorization": f"Bearer {key}x"})[0] == 401
        assert post(base, row, {"Authorization": f"Bearer {key}"})[0] == 200
        assert post(base, row, {"X-API-Key": key})[0] == 200
        assert post(base, None, {"X-API-Key": key}, path="/metadata")[0] == 200
        assert post(base, None, path="/metadata")[0] == 401
        assert post(base, None, path="/livez")[0] == 200
    output = log.read_text()
    access = [json.loads(line) for line in output.splitlines() if line.startswith('{"time"')]
    assert [(a["route"], a["status"], a["client"]) for a in access if a["route"] != "/readyz"] == [
        ("/predict", 401, None),
        ("/predict", 401, None),
        ("/predict", 200, "ward-3"),
        ("/predict", 200, "ward-3"),
        ("/metadata", 200, "ward-3"),
        ("/metadata", 401, None),
        ("/livez", 200, None),
    ]
    assert "API keys required on every route but the probes (/livez, /ping, " in output
    assert "/v2/health/ready): 1 client(s)" in output
    assert key not in output


def run_failing(command: list[str], env: dict[str, str]) -> tuple[list[str], float]:
    """Run a command expected to fail at once: its stderr lines and the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    return result.stderr.strip().splitlines(), elapsed


def test_serve_says_in_one_line_that_the_port_is_in_use_before_loading_the_model(
    binary_artefact: Path, tmp_path: Path
) -> None:
    # A tampered model would be refused if it were loaded: the port's error comes first.
    artefact, _ = tampered(binary_artefact, tmp_path)
    with busy_port() as port:
        lines, elapsed = run_failing(
            [*DEPLOYML, "serve", str(artefact), "--port", str(port)], clean_env()
        )
    assert lines == [f"Error: port {port} on 127.0.0.1 is in use"]
    print(f"deployml serve, port in use: exit after {elapsed:.2f} s")


def test_serve_says_in_one_line_that_the_address_cannot_be_bound(
    binary_artefact: Path, tmp_path: Path
) -> None:
    artefact, _ = tampered(binary_artefact, tmp_path)
    port = free_port()
    # 192.0.2.0/24 is reserved for documentation: never an address of this host.
    command = [*DEPLOYML, "serve", str(artefact), "--host", "192.0.2.1", "--port", str(port)]
    lines, elapsed = run_failing(command, clean_env())
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: cannot listen on 192.0.2.1 port {port}: ")
    print(f"deployml serve, address not here: exit after {elapsed:.2f} s")


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"DEPLOYML_HOST": "127.0.0.1"}, "Error: port {port} on 127.0.0.1 is in use"),
        ({"DEPLOYML_PORT": "0"}, "Error: DEPLOYML_PORT: must be from 1 to 65535, got 0"),
        (
            {"DEPLOYML_API_KEYS_FILE": "/no/such/keys"},
            "Error: DEPLOYML_API_KEYS_FILE: /no/such/keys: cannot read it: No such file or "
            "directory",
        ),
    ],
)
def test_container_command_refuses_in_one_line_before_loading_the_model(
    binary_artefact: Path, tmp_path: Path, variables: dict[str, str], expected: str
) -> None:
    artefact, _ = tampered(binary_artefact, tmp_path)
    command = [*CONTAINER_COMMAND]
    with busy_port() as port:
        env = clean_env(**{"DEPLOYML_ARTEFACT": str(artefact), "DEPLOYML_PORT": str(port)})
        env.update(variables)
        lines, elapsed = run_failing(command, env)
    assert lines == [expected.format(port=port)]
    print(f"container command, {sorted(variables)}: exit after {elapsed:.2f} s")


def test_serve_allow_pickle_serves_a_format_1_1_pickle_artefact(tmp_path: Path) -> None:
    old = Path(__file__).parent / "data" / "artefact-format-1.1"
    port, log, command = one_worker(old, tmp_path)
    with running([*command, "--allow-pickle"], port, log, clean_env()) as base:
        stored = json.loads((old / "examples.json").read_text())
        status, body, _ = post(base, {"instances": stored["inputs"]})
        assert status == 200
        assert body["predictions"] == stored["predictions"]


@pytest.mark.parametrize("which", ["format-1.1", "real-examples"])
def test_serve_banner_curl_holds_a_row_made_from_the_schema_never_a_stored_real_one(
    which: str, tmp_path: Path, pipeline_model: Any, patient_data: Any
) -> None:
    if which == "format-1.1":
        artefact = Path(__file__).parent / "data" / "artefact-format-1.1"
    else:
        X, y, X_test, y_test = patient_data
        captured = capture(pipeline_model, X, y, X_test=X_test, y_test=y_test, examples="real")
        artefact = package(captured, tmp_path / "real-rows")
    real = json.loads((artefact / "examples.json").read_text())["inputs"]
    port, log, command = one_worker(artefact, tmp_path)
    command += ["--allow-pickle"] if which == "format-1.1" else []
    with running(command, port, log, clean_env()) as base:
        output = log.read_text()
        curl = next(line for line in output.splitlines() if line.strip().startswith("curl "))
        body = json.loads(shlex.split(curl)[-1])
        status, answer, _ = post(base, body)
        assert status == 200, answer
    assert len(body["instances"]) == 1 and body["instances"][0] not in real
    for row in real:
        assert json.dumps(row, separators=(",", ":")) not in output
        assert json.dumps(row) not in output


def test_serve_reruns_edge_cases_of_every_kind_through_the_request_checks_and_is_ready(
    tmp_path: Path, pipeline_model: Any, patient_data: Any
) -> None:
    X, y, _, _ = patient_data
    cases = tmp_path / "cases.csv"
    cases.write_text(
        "case,age,bmi,sex,ward,smoker,expected_label,note\n"
        "old-smoker,88,,M,c,true,yes,an old smoker with no bmi recorded\n"
        "young,19,22.5,F,,false,yes,young and no ward: expected to fail\n"
    )
    plan = {"edge_cases": cases, "allow_failing_edge_cases": True}
    artefact = package(capture(pipeline_model, X, y, **plan), tmp_path / "cases-artefact")
    port, log, command = one_worker(artefact, tmp_path)
    with running(command, port, log, clean_env()) as base:
        status, metadata, _ = post(base, None, path="/metadata")
    assert status == 200 and metadata["ready"] is True
    shown = metadata["edge_cases"]
    assert (shown["total"], shown["failing"], shown["allowed_failing"]) == (2, ["young"], True)
    assert "self-test failed" not in log.read_text()


def raw_request(port: int, data: bytes) -> socket.socket:
    """A connection that has sent ``data`` and waits."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(data)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    with sock:
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_kept_alive_connections_next_request_is_read_in_pieces_and_timed_out_if_it_stalls(
    binary_artefact: Path, tmp_path: Path
) -> None:
    port, log, command = one_worker(binary_artefact, tmp_path)
    body = json.dumps(example_rows(binary_artefact)[0]).encode()
    whole = (
        b"POST /predict HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with running(command, port, log, clean_env(DEPLOYML_CLIENT_TIMEOUT="2")):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
            assert connection.getresponse().read() and connection.sock is not None
            sock = connection.sock
            for _ in range(2):  # idle, then the next request in pieces, on the same connection
                time.sleep(0.3)
                for start in range(0, len(whole), 40):
                    sock.sendall(whole[start : start + 40])
                    time.sleep(0.02)
                answer = http.client.HTTPResponse(sock)
                answer.begin()
                assert answer.status == 200 and json.loads(answer.read())["predictions"]
            time.sleep(0.3)
            sock.sendall(whole[:60])  # and a next request that stops halfway
            stalled = time.monotonic()
            late = read_until_closed(sock)
            assert late.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
            assert 2 <= time.monotonic() - stalled < 2 + 2
        finally:
            connection.close()


def test_serve_answers_while_ten_slow_clients_hang_and_closes_them_when_late(
    binary_artefact: Path, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    command = [*DEPLOYML, "serve", str(binary_artefact), "--port", str(port)]
    row = example_rows(binary_artefact)[0]
    # The default two workers of one thread each, which two such clients used to block.
    with running(command, port, log, clean_env(DEPLOYML_CLIENT_TIMEOUT="3")) as base:
        slow = [
            raw_request(port, b"POST /predict HTTP/1.1\r\nHost: a\r\nX-Wait: ") for _ in range(9)
        ]
        slow.append(raw_request(port, b"POST /predict HTTP/1.1\r\nContent-Length: 900\r\n\r\n[1,"))
        # Clients that never close their end once answered (gunicorn waits 2 s for each).
        closers = [
            raw_request(port, b"GET /livez HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            for _ in range(4)
        ]
        hung_at = time.monotonic()
        for _ in range(3):
            started = time.monotonic()
            with urllib.request.urlopen(f"{base}/livez", timeout=5) as response:
                assert response.status == 200
            status, body, _ = post(base, row)
            assert status == 200 and len(body["predictions"]) == 1
            assert time.monotonic() - started < 1.0
        answers = [read_until_closed(sock) for sock in slow]
        for sock in closers:
            sock.close()
        assert time.monotonic() - hung_at < 3 + 3  # the timeout, and the worker loop's second
    for answer in answers:
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 408 Request Timeout"
        assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_timeout"


def test_serve_answers_requests_sent_in_pieces_pipelined_chunked_or_expecting_continue(
    binary_artefact: Path, tmp_path: Path
) -> None:
    port, log, command = one_worker(binary_artefact, tmp_path)
    body = json.dumps(example_rows(binary_artefact)[0]).encode()
    head = b"POST /predict HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
    whole = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    with running(command, port, log, clean_env()):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for start in range(0, len(whole), 50):  # in pieces
                sock.sendall(whole[start : start + 50])
                time.sleep(0.01)
            sock.sendall(whole * 2 + head + b"Connection: close\r\n" + whole[len(head) :])
            assert read_until_closed(sock).count(b"HTTP/1.1 200 OK\r\n") == 4
        chunked = head + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:9], body[9:]))
        with raw_request(port, chunked + chunks + b"0\r\n\r\n") as sock:
            assert read_until_closed(sock).startswith(b"HTTP/1.1 200 OK\r\n")
        expecting = head + b"Expect: 100-continue\r\nConnection: close\r\n"
        sock = raw_request(port, expecting + b"Content-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        assert b"HTTP/1.1 200 OK\r\n" in read_until_closed(sock)


def test_a_large_body_the_app_never_reads_leaves_the_next_request_on_the_connection_intact(
    binary_artefact: Path, tmp_path: Path
) -> None:
    port, log, command = one_worker(binary_artefact, tmp_path)
    row = example_rows(binary_artefact)[0]
    unread = json.dumps({"instances": [row] * 5000}).encode()
    env = clean_env(DEPLOYML_MAX_ROWS="5000", DEPLOYML_MAX_REQUEST_BYTES=str(8 * 2**20))
    with running(command, port, log, env):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        for path, body, status in [
            ("/nowhere", unread, 404),  # no route reads it
            ("/predict", unread, 200),
            ("/predict", json.dumps(row).encode(), 200),
        ]:
            connection.request("POST", path, body=body, headers=headers)
            answer = connection.getresponse()
            assert answer.status == status
            answered = json.loads(answer.read())
        assert len(answered["predictions"]) == 1
        connection.close()


def test_serve_stops_reading_large_unfinished_bodies_past_its_budget_until_others_finish(
    binary_artefact: Path, tmp_path: Path
) -> None:
    port, log, command = one_worker(binary_artefact, tmp_path)
    # The worker holds four bodies' worth (400,000 bytes) of unfinished requests.
    env = clean_env(DEPLOYML_MAX_REQUEST_BYTES="100000", DEPLOYML_CLIENT_TIMEOUT="20")
    head = b"POST /predict HTTP/1.1\r\nConnection: close\r\nContent-Length: 99000\r\n\r\n"
    answered = b"HTTP/1.1 415 "  # read whole and refused: no JSON Content-Type
    with running(command, port, log, env) as base:
        stalled = []
        for _ in range(5):  # all but the last byte of each body; the fifth is over the budget
            stalled.append(raw_request(port, head + b" " * 98_999))
            time.sleep(0.3)
        last = stalled.pop()
        last.sendall(b"1")
        last.settimeout(1.5)
        with pytest.raises(TimeoutError):
            last.recv(1024)  # its last byte is not read: the connection is paused
        status, _, _ = post(base, example_rows(binary_artefact)[0])
        assert status == 200  # a small request is still read and answered
        stalled[0].sendall(b"1")  # one finishes: the paused one is read again
        assert read_until_closed(stalled[0]).startswith(answered)
        last.settimeout(10)
        assert read_until_closed(last).startswith(answered)
        for sock in stalled[1:]:
            sock.close()


def worker_rss_mb(log: Path) -> float:
    """The resident memory of the one worker the log says was booted."""
    booted = [line for line in log.read_text().splitlines() if "Booting worker with pid" in line]
    pid = booted[-1].rsplit(" ", 1)[-1]
    status = Path(f"/proc/{pid}/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kib) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_large_requests_on_one_kept_alive_connection_do_not_pile_up_in_the_worker(
    binary_artefact: Path, tmp_path: Path
) -> None:
    # Each request's bytes, read by the event loop, must go with its answer.
    port, log, command = one_worker(binary_artefact, tmp_path)
    env = clean_env(DEPLOYML_MAX_ROWS="5000", DEPLOYML_MAX_REQUEST_BYTES=str(8 * 2**20))
    body = json.dumps({"instances": example_rows(binary_artefact)[:1] * 4000}).encode()
    assert len(body) > 2_000_000
    with running(command, port, log, env):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        for sent in range(30):
            connection.request("POST", "/predict", body=body, headers=headers)
            answer = connection.getresponse()
            assert answer.status == 200
            answer.read()
            if sent == 4:
                settled = worker_rss_mb(log)
        grown = worker_rss_mb(log) - settled
        connection.close()
    # 25 more requests of 2.4 MB each: kept, they would add at least 60 MB.
    assert grown < 30, f"the worker grew by {grown:.0f} MB"


def test_serve_skips_invalid_rows_under_deployml_on_error_and_logs_imputed_and_refused(
    pipeline_artefact: Path, tmp_path: Path
) -> None:
    port, log, command = one_worker(pipeline_artefact, tmp_path)
    good = next(row for row in example_rows(pipeline_artefact) if None not in row.values())
    rows = [good, {**good, "age": SECRET_TEXT}, {**good, "bmi": None}]
    with running(command, port, log, clean_env(DEPLOYML_ON_ERROR="skip")) as base:
        status, body, _ = post(base, {"instances": rows}, {"X-Request-ID": "skip-1"})
        assert status == 200 and body["refused_rows"] == [1]
        assert body["predictions"][1] is None and None not in body["predictions"][::2]
        assert body["imputed"] == [[], [], ["bmi"]]
        assert [(e["row"], e["feature"]) for e in body["errors"]] == [(1, "age")]
        status, body, _ = post(base, {"on_error": "fail", "instances": rows})
        assert status == 422 and body["error"]["code"] == "invalid_input"
    output = log.read_text()
    access = [json.loads(line) for line in output.splitlines() if line.startswith('{"time"')]
    line = next(line for line in access if line["request_id"] == "skip-1")
    assert (line["status"], line["rows"], line["refused"], line["imputed"]) == (
        200,
        3,
        1,
        {"bmi": 1},
    )
    assert SECRET_TEXT not in output
