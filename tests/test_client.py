"""packager.client against a real gunicorn: a DataFrame in, in chunks of the server's
max_rows over one connection, the answers back on the frame's index; refusals as one error
carrying the server's status, code, message and details; no answer named as such."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_patients
from test_serve_end_to_end import DEPLOYML, clean_env, free_port, post, running

from packager.client import (
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_MAX_ROWS,
    DEFAULT_TIMEOUT,
    Client,
    ClientError,
    ServerUnreachableError,
)
from packager.client.tables import columnar_body
from server.api_keys import add_client

MAX_ROWS = 7
Served = tuple[str, str]  # the base URL and a client's API key


@pytest.fixture(scope="module")
def served(pipeline_artefact: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The pipeline model under gunicorn, taking at most MAX_ROWS rows, behind an API key."""
    folder = tmp_path_factory.mktemp("client")
    keys = folder / "keys"
    key = add_client(keys, "tests")
    port = free_port()
    command = [*DEPLOYML, "serve", str(pipeline_artefact), "--port", str(port), "--workers", "2"]
    env = clean_env(DEPLOYML_MAX_ROWS=str(MAX_ROWS), DEPLOYML_API_KEYS_FILE=str(keys))
    with running(command, port, folder / "serve.log", env) as base:
        yield base, key


def patients(rows: int) -> pd.DataFrame:
    """Patient rows (some bmi and ward missing) on an index of their own."""
    frame, _ = make_patients(rows, seed=21)
    return frame.set_axis([f"patient-{i}" for i in range(rows)])


def test_client_answers_a_frame_on_its_index_as_one_request_would(served: Served) -> None:
    base, key = served
    frame = patients(3 * MAX_ROWS + 2)
    frame.loc["patient-16", "age"] = 140  # beyond training: a warning, in the third chunk
    with Client(base, api_key=key) as server:
        server.metadata()
        connection = server._transport._connection
        assert connection is not None and connection.sock is not None
        opened = connection.sock
        answers = server.predict(frame)
        # Four requests, one kept-alive connection (the same socket).
        assert server._transport._connection is connection and connection.sock is opened
    assert list(answers.index) == list(frame.index)
    records = json.loads(frame.to_json(orient="records"))
    auth = {"Authorization": f"Bearer {key}"}
    chunks = [records[i : i + MAX_ROWS] for i in range(0, len(records), MAX_ROWS)]
    whole = [post(base, {"instances": chunk}, auth)[1] for chunk in chunks]
    assert answers["prediction"].tolist() == [p for a in whole for p in a["predictions"]]
    sent = [p["yes"] for a in whole for p in a["probabilities"]]
    assert answers["probability_yes"].tolist() == sent
    assert answers["decision"].tolist() == [d for a in whole for d in a["decisions"]]
    beyond = {"feature": "age", "problem": "above the largest value seen in training"}
    assert beyond in answers.loc["patient-16", "warnings"]
    warned = [(i * MAX_ROWS + w["row"], w) for i, a in enumerate(whole) for w in a["warnings"]]
    found = [
        (i, {"row": i % MAX_ROWS, **w}) for i, row in enumerate(answers["warnings"]) for w in row
    ]
    assert found == warned
    missing = frame["bmi"].isna()
    assert all("bmi" in row for row in answers.loc[missing, "imputed"])
    assert answers.attrs["model"]["name"] == "readmission"
    assert answers.attrs["profile"]["name"] == "default"


def test_client_skips_refused_rows_and_says_why_on_their_index(served: Served) -> None:
    base, key = served
    frame = patients(10).astype({"age": object})
    frame.loc["patient-8", "age"] = "old"
    with Client(base, api_key=key) as server:
        answers = server.predict(frame, on_error="skip", chunk_rows=4)
    assert answers.loc["patient-8", "prediction"] is None
    assert answers.loc["patient-8", "errors"] == [
        {"feature": "age", "problem": "expected a number, got a string"}
    ]
    assert answers["prediction"].notna().sum() == 9
    assert sum(map(len, answers["errors"])) == 1


def test_client_splits_a_chunk_beyond_the_servers_byte_limit(served: Served) -> None:
    base, key = served
    frame = patients(MAX_ROWS)
    with Client(base, api_key=key) as server:
        stated = server.metadata()
        assert stated["input"]["max_rows"] == MAX_ROWS
        stated["input"]["max_request_bytes"] = len(columnar_body(frame.iloc[:2])) + 1
        answers = server.predict(frame)
        assert len(answers) == MAX_ROWS and answers["prediction"].notna().all()


def test_a_refusal_raises_one_error_with_the_servers_status_code_message_and_details(
    served: Served,
) -> None:
    base, key = served
    with Client(base, api_key=key) as server, pytest.raises(ClientError) as refused:
        server.predict(patients(3).drop(columns=["ward"]))
    error = refused.value
    assert (error.status, error.code) == (422, "invalid_input")
    assert (error.details[0]["row"], error.details[0]["feature"]) == (0, "ward")
    assert error.details[0]["problem"].startswith("missing")
    assert error.message in str(error) and base in str(error)


@pytest.mark.parametrize(
    ("key", "profile", "status", "code"),
    [("not-a-key", None, 401, "unauthorized"), (None, "site-z", 422, "unknown_profile")],
)
def test_a_bad_key_or_profile_is_the_servers_refusal(
    served: Served, key: str | None, profile: str | None, status: int, code: str
) -> None:
    base, good = served
    with Client(base, api_key=key or good) as server, pytest.raises(ClientError) as refused:
        server.predict(patients(2), profile=profile)
    assert (refused.value.status, refused.value.code) == (status, code)


def test_the_body_sends_missing_values_as_null_and_numpy_scalars_as_json() -> None:
    frame = pd.DataFrame(
        {
            "age": np.array([52, 61], dtype=np.int64),
            "bmi": [27.5, np.nan],
            "ward": ["a", None],
            "smoker": np.array([True, False]),
            "visits": pd.array([3, pd.NA], dtype="Int64"),
        }
    )
    assert json.loads(columnar_body(frame, profile=None, on_error="skip")) == {
        "columns": ["age", "bmi", "ward", "smoker", "visits"],
        "data": [[52, 27.5, "a", True, 3], [61, None, None, False, None]],
        "on_error": "skip",
    }
    floats = pd.DataFrame({"x": [0.1, np.nan], "y": [1e300, -2.5]})
    assert json.loads(columnar_body(floats))["data"] == [[0.1, 1e300], [None, -2.5]]


def test_infinity_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="column 'bmi' holds an infinite value"):
        columnar_body(pd.DataFrame({"bmi": [1.0, np.inf]}))
    nullable = pd.DataFrame({"bmi": pd.array([1.0, None, -np.inf], dtype="Float64")})
    with pytest.raises(ValueError, match="column 'bmi' holds an infinite value"):
        columnar_body(nullable)
    assert json.loads(columnar_body(nullable.iloc[:2]))["data"] == [[1.0], [None]]


def test_a_server_that_is_not_there_is_named_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnreachableError, match="connection refused") as failed:
        Client(url).metadata()
    assert (failed.value.status, failed.value.code, failed.value.url) == (0, "unreachable", url)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def answer_once_then_close(listener: socket.socket, accepted: list[int]) -> None:
    """Answer one request per connection with a kept-alive 200, then close it quietly."""
    body = b'{"input": {"max_rows": 5}}'
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    while len(accepted) < 2:
        connection, _ = listener.accept()
        accepted.append(1)
        with connection:
            connection.recv(65536)
            connection.sendall(head % len(body) + body)


def test_a_kept_alive_connection_the_server_closed_is_opened_anew(
    listener: socket.socket,
) -> None:
    accepted: list[int] = []
    thread = threading.Thread(target=answer_once_then_close, args=(listener, accepted))
    thread.start()
    port = listener.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", timeout=5) as server:
        assert server._transport.request("GET", "/metadata") == {"input": {"max_rows": 5}}
        assert server._transport.request("GET", "/metadata") == {"input": {"max_rows": 5}}
    thread.join(timeout=5)
    assert len(accepted) == 2


def test_a_server_that_never_answers_times_out_without_sending_again(
    listener: socket.socket,
) -> None:
    port = listener.getsockname()[1]
    with pytest.raises(ServerUnreachableError, match=r"no answer within 0\.3 s"):
        Client(f"http://127.0.0.1:{port}", timeout=0.3).metadata()


def test_the_client_api_is_pinned_and_imports_no_server() -> None:
    import packager.client

    assert packager.client.__all__ == [
        "DEFAULT_MAX_REQUEST_BYTES",
        "DEFAULT_MAX_ROWS",
        "DEFAULT_TIMEOUT",
        "Client",
        "ClientError",
        "ServerUnreachableError",
    ]
    assert (DEFAULT_MAX_ROWS, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_TIMEOUT) == (
        10_000,
        10 * 2**20,
        60.0,
    )
    code = (
        "import sys, packager.client; "
        "print(sorted(m for m in ('flask', 'server', 'gunicorn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
