"""Hostile raw-socket requests against a real gunicorn: JSON answers, no request text echoed or
logged. gunicorn refuses most of these itself, before the app sees them."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_serve_end_to_end import clean_env, free_port, running

SENTINEL = b"ZQXJSECRET"
MAX_REQUEST_BYTES = 4096
DEPLOYML = [sys.executable, "-m", "deployml"]


class Server:
    """A running server: its port and the file its stdout and stderr go to."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log

    def exchange(self, data: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send raw bytes, then read one response: status, headers (lower-case), body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(data)
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed before a response: {received!r}"
                received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in lines)}
            while len(body) < int(headers["content-length"]):
                chunk = sock.recv(65536)
                assert chunk, "connection closed inside the body"
                body += chunk
        return int(status_line.split()[1]), headers, body

    def log_after(self, marker: str, count: int) -> str:
        """The log once it holds ``count`` lines containing ``marker`` (bounded wait)."""
        deadline = time.monotonic() + 10
        while True:
            text = self.log.read_text(errors="replace")
            if text.count(marker) >= count or time.monotonic() > deadline:
                return text
            time.sleep(0.05)


@pytest.fixture(scope="module")
def server(binary_artefact: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = tmp_path_factory.mktemp("refusals") / "serve.log"
    command = [*DEPLOYML, "serve", str(binary_artefact), "--port", str(port), "--workers", "1"]
    # At debug level gunicorn logs most about each connection: nothing of the request may show.
    env = clean_env(DEPLOYML_MAX_REQUEST_BYTES=str(MAX_REQUEST_BYTES), DEPLOYML_LOG_LEVEL="debug")
    with running(command, port, log, env):
        yield Server(port, log)


def assert_json_error(status: int, headers: dict[str, str], body: bytes, code: str) -> None:
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"]
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "details"}
    assert (error["code"], error["details"]) == (code, [])
    assert status >= 400 and error["message"]


def assert_no_sentinel(text: str | bytes) -> None:
    raw = text.encode("latin-1", "replace") if isinstance(text, str) else text
    assert SENTINEL.lower() not in raw.lower()


def headers_block(*lines: bytes) -> bytes:
    return b"".join(line + b"\r\n" for line in lines) + b"\r\n"


HOST = b"Host: localhost"
MALFORMED = [
    ("a control byte in a header", 400, "invalid_header", "InvalidHeader",
     headers_block(b"GET /livez HTTP/1.1", HOST, b"X-Note: a\x01" + SENTINEL)),
    ("a header name with a bracket", 400, "invalid_header", "InvalidHeaderName",
     headers_block(b"GET /livez HTTP/1.1", HOST, b"X(" + SENTINEL + b"): 1")),
    ("a repeated Content-Length", 400, "invalid_header", "InvalidHeader",
     headers_block(b"POST /predict?" + SENTINEL + b" HTTP/1.1", HOST, b"Content-Length: 2",
                   b"Content-Length: 3") + b"{}"),
    ("a Content-Length with chunked", 400, "invalid_header", "InvalidHeader",
     headers_block(b"POST /predict?" + SENTINEL + b" HTTP/1.1", HOST, b"Content-Length: 5",
                   b"Transfer-Encoding: chunked") + b"0\r\n\r\n"),
    ("a Content-Length that is no number", 400, "invalid_header", "InvalidHeader",
     headers_block(b"POST /predict HTTP/1.1", HOST, b"Content-Length: 1" + SENTINEL)),
    ("a folded header", 400, "invalid_header", "ObsoleteFolding",
     headers_block(b"GET /livez HTTP/1.1", HOST, b"X-Note: a", b"  " + SENTINEL)),
    ("too many headers", 431, "headers_too_large", "LimitRequestHeaders",
     headers_block(b"GET /livez HTTP/1.1", HOST,
                   *(b"X-%d: %s" % (i, SENTINEL) for i in range(120)))),
    ("a header too large", 431, "headers_too_large", "LimitRequestHeaders",
     headers_block(b"GET /livez HTTP/1.1", HOST, b"X-Note: " + SENTINEL * 900)),
    ("a request line too long", 414, "request_line_too_long", "LimitRequestLine",
     headers_block(b"GET /livez?q=" + SENTINEL * 500 + b" HTTP/1.1", HOST)),
    ("a lower-case method", 400, "invalid_method", "InvalidRequestMethod",
     headers_block(SENTINEL.lower() + b" /livez HTTP/1.1", HOST)),
    ("a method too long", 400, "invalid_method", "InvalidRequestMethod",
     headers_block(SENTINEL * 3 + b" /livez HTTP/1.1", HOST)),
    ("an HTTP/0.9 request", 400, "malformed_request", "InvalidRequestLine",
     b"GET /livez?patient=" + SENTINEL + b"\r\n\r\n"),
    ("an unknown HTTP version", 400, "invalid_http_version", "InvalidHTTPVersion",
     headers_block(b"GET /livez?patient=" + SENTINEL + b" HTTP/7.1", HOST)),
    ("a request line of garbage", 400, "malformed_request", "InvalidRequestLine",
     headers_block(SENTINEL + b"\x00 " + SENTINEL)),
    ("an unknown transfer coding", 501, "unsupported_transfer_coding",
     "UnsupportedTransferCoding",
     headers_block(b"POST /predict HTTP/1.1", HOST, b"Transfer-Encoding: " + SENTINEL)),
    ("an unmeetable Expect", 417, "expectation_failed", "ExpectationFailed",
     headers_block(b"POST /predict HTTP/1.1", HOST, b"Expect: " + SENTINEL,
                   b"Content-Length: 2") + b"{}"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "code", "kind", "request_bytes"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_gunicorn_refusals_are_json_and_never_echo_or_log_the_request(
    server: Server, status: int, code: str, kind: str, request_bytes: bytes
) -> None:
    marker = f": {kind} ({status} {code})"
    before = server.log.read_text(errors="replace").count(marker)
    got_status, headers, body = server.exchange(request_bytes)
    assert got_status == status
    assert_json_error(got_status, headers, body, code)
    assert_no_sentinel(body)
    assert_no_sentinel(b"\r\n".join(f"{k}: {v}".encode() for k, v in headers.items()))
    log = server.log_after(marker, before + 1)
    assert log.count(marker) == before + 1
    assert_no_sentinel(log)


def chunked(body: bytes, size: int = 1000) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def post_chunked(server: Server, body: bytes) -> tuple[int, dict[str, str], bytes]:
    head = headers_block(
        b"POST /predict HTTP/1.1",
        HOST,
        b"Content-Type: application/json",
        b"Transfer-Encoding: chunked",
    )
    return server.exchange(head + chunked(body))


def first_row(binary_artefact: Path) -> dict[str, Any]:
    row: dict[str, Any] = json.loads((binary_artefact / "self_test.json").read_text())["inputs"][0]
    return row


def test_a_chunked_body_over_the_limit_is_a_413(server: Server, binary_artefact: Path) -> None:
    # Valid JSON however it is cut: a cut body used to be answered as if it were whole.
    valid = json.dumps(first_row(binary_artefact)).encode()
    status, headers, body = post_chunked(server, valid.ljust(MAX_REQUEST_BYTES + 1))
    assert status == 413
    assert_json_error(status, headers, body, "payload_too_large")
    status, _, _ = post_chunked(server, valid.ljust(MAX_REQUEST_BYTES))
    assert status == 200


def test_a_malformed_chunked_body_is_a_400_not_a_server_fault(server: Server) -> None:
    head = headers_block(
        b"POST /predict HTTP/1.1",
        HOST,
        b"Content-Type: application/json",
        b"Transfer-Encoding: chunked",
    )
    status, headers, body = server.exchange(head + b"z" + SENTINEL + b"\r\n{}\r\n0\r\n\r\n")
    assert status == 400
    assert_json_error(status, headers, body, "malformed_body")
    assert_no_sentinel(server.log.read_text(errors="replace"))


def test_an_odd_method_and_query_string_reach_the_access_log_as_other_and_nothing(
    server: Server,
) -> None:
    request = headers_block(b"ZQXJSECRET /livez?patient=" + SENTINEL * 300 + b" HTTP/1.1", HOST)
    status, headers, body = server.exchange(request)
    assert status == 405
    assert_json_error(status, headers, body, "method_not_allowed")
    log = server.log_after(headers["x-request-id"], 1)
    [line] = [json.loads(x) for x in log.splitlines() if headers["x-request-id"] in x]
    assert (line["method"], line["route"], line["status"]) == ("OTHER", None, 405)
    assert_no_sentinel(log)


def test_a_request_cut_short_leaves_no_request_text_in_the_log(server: Server) -> None:
    # deployml's worker reads a request whole before a thread takes it: one cut short is
    # dropped in its event loop, and nothing of it is logged.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /livez?patient=" + SENTINEL)
    time.sleep(0.5)
    status, _, _ = server.exchange(b"GET /livez HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 200
    assert_no_sentinel(server.log.read_text(errors="replace"))


def test_the_container_command_answers_refusals_in_json_too(
    regressor_artefact: Path, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "--config", "python:server.gunicorn_config"]
    env = clean_env(
        DEPLOYML_ARTEFACT=str(regressor_artefact), DEPLOYML_PORT=str(port), DEPLOYML_WORKERS="1"
    )
    with running([*command, "server.gunicorn_config:app()"], port, log, env):
        status, headers, body = Server(port, log).exchange(b"GET /livez?" + SENTINEL + b"\r\n\r\n")
    assert status == 400
    assert_json_error(status, headers, body, "malformed_request")
    assert_no_sentinel(log.read_text(errors="replace"))


def test_every_gunicorn_parse_error_is_a_client_error_but_its_own_faults() -> None:
    from gunicorn.http import errors

    from server.http.refusals import refusal_for

    faults = {"ConfigurationProblem", "InvalidResponseHeader", "InvalidResponseHeaderName"}
    kinds = [
        kind
        for kind in vars(errors).values()
        if isinstance(kind, type)
        and issubclass(kind, errors.ParseException)
        and kind is not errors.ParseException
    ]
    assert len(kinds) > 15
    for kind in kinds:
        status = refusal_for(kind.__new__(kind)).status
        assert (status == 500) == (kind.__name__ in faults), kind.__name__


def test_gunicorn_log_lines_are_bounded_printable_and_hold_no_exception_text() -> None:
    import logging

    from server.http.refusals import MAX_LOG_MESSAGE, GunicornLogFilter

    def filtered(msg: str, *args: object) -> str:
        record = logging.LogRecord("gunicorn.error", logging.DEBUG, __file__, 1, msg, args, None)
        assert GunicornLogFilter().filter(record)
        return record.getMessage()

    secret = SENTINEL.decode()
    assert filtered("closed. %s", ValueError(secret)) == "closed. ValueError"
    long = filtered("line %s", "x\x1b[2J\n" * 1000)
    assert long.isprintable() and len(long) < MAX_LOG_MESSAGE + 40
    assert long.endswith("... (6005 characters)")
