"""A real gunicorn worker answering requests: many pipelined on one connection, a client that
stops reading its answers, and a request that outlasts the worker heartbeat's timeout."""

from __future__ import annotations

import contextlib
import fcntl
import json
import socket
import threading
import time
from pathlib import Path

import pytest
from test_serve_end_to_end import clean_env, example_rows, one_worker, post, running

from server.gunicorn_worker import STALLED_MESSAGE

AUDIT_KEY = "answering-test-key-0123456789"


def predict_request(body: bytes, close: bool = False) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return (
        b"POST /predict HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n%s"
        b"Content-Length: %d\r\n\r\n%s" % (connection, len(body), body)
    )


def send_in_background(sock: socket.socket, data: bytes) -> threading.Thread:
    """Send ``data`` from a thread (a server not reading must not block the test)."""

    def send() -> None:
        with contextlib.suppress(OSError):  # the server closed the connection
            sock.sendall(data)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    return sender


@pytest.mark.parametrize("threads", ["1", "2"])
def test_three_thousand_pipelined_requests_on_one_connection_are_answered_in_order(
    binary_artefact: Path, tmp_path: Path, threads: str
) -> None:
    port, log, command = one_worker(binary_artefact, tmp_path)
    rows = example_rows(binary_artefact)
    with running(command, port, log, clean_env(DEPLOYML_WORKER_THREADS=threads)) as base:
        expected = [post(base, row)[1]["predictions"][0] for row in rows]
        count = 3000
        bodies = [json.dumps(rows[i % len(rows)]).encode() for i in range(count)]
        stream = b"".join(predict_request(b, close=i == count - 1) for i, b in enumerate(bodies))
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sender = send_in_background(sock, stream)
            received = bytearray()
            while chunk := sock.recv(1 << 16):
                received += chunk
            sender.join(timeout=10)
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert len(answers) == count
    assert all(answer.startswith(b"200 OK\r\n") for answer in answers)
    predictions = [json.loads(a.partition(b"\r\n\r\n")[2])["predictions"][0] for a in answers]
    assert predictions == [expected[i % len(rows)] for i in range(count)]


@pytest.mark.parametrize("threads", ["1", "2"])
def test_a_client_that_stops_reading_its_answers_is_dropped_and_others_are_answered(
    binary_artefact: Path, tmp_path: Path, threads: str
) -> None:
    port, log, command = one_worker(binary_artefact, tmp_path)
    env = clean_env(DEPLOYML_CLIENT_TIMEOUT="2", DEPLOYML_WORKER_THREADS=threads)
    metadata = b"GET /metadata HTTP/1.1\r\nHost: a\r\n\r\n"
    with running(command, port, log, env) as base:
        hog = socket.socket()
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        hog.connect(("127.0.0.1", port))
        # Far more answer than the kernel buffers hold; the client never reads any of it.
        sender = send_in_background(hog, metadata * 4000)
        time.sleep(1.0)  # the worker is now stuck writing to it
        started = time.monotonic()
        status, answer, _ = post(base, example_rows(binary_artefact)[0])
        waited = time.monotonic() - started
        assert status == 200 and len(answer["predictions"]) == 1
        assert waited < 2 + 2  # the client timeout, and some slack
        deadline = time.monotonic() + 5
        while STALLED_MESSAGE not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        hog.close()
        sender.join(timeout=10)
    assert STALLED_MESSAGE in log.read_text()
    assert "Traceback" not in log.read_text()


def test_a_request_longer_than_the_heartbeat_timeout_is_answered_by_the_same_worker(
    binary_artefact: Path, tmp_path: Path
) -> None:
    port, log, command = one_worker(binary_artefact, tmp_path)
    audit = tmp_path / "audit.jsonl"
    env = clean_env(
        DEPLOYML_TIMEOUT="1", DEPLOYML_AUDIT_LOG=str(audit), DEPLOYML_AUDIT_KEY=AUDIT_KEY
    )
    row = example_rows(binary_artefact)[0]
    with running(command, port, log, env) as base:
        assert post(base, row)[0] == 200
        booted = log.read_text().count("Booting worker")
        result: list[tuple[int, float]] = []

        def predict() -> None:
            started = time.monotonic()
            result.append((post(base, row)[0], time.monotonic() - started))

        with audit.open("rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)  # the answer waits for its audit line
            client = threading.Thread(target=predict)
            client.start()
            time.sleep(3.5)
        client.join(timeout=10)
        assert post(base, row)[0] == 200
    assert result and result[0][0] == 200 and result[0][1] >= 3
    assert "WORKER TIMEOUT" not in log.read_text()
    assert log.read_text().count("Booting worker") == booted
