"""gunicorn's own refusals, answered in the JSON error shape and logged without request text.

gunicorn refuses a request it cannot parse (bad bytes in a header, a repeated or conflicting
Content-Length, headers or a request line too long, an odd method, an HTTP/0.9 line) before
the app sees it. Left alone it answers with an HTML page and logs a line, and both quote the
request: its request line with the query string, a header's name, the method.

:func:`install_refusals` is gunicorn's ``post_worker_init`` hook. It gives the worker
:func:`refuse` as its ``handle_error``, which answers ``{"error": {"code", "message",
"details"}}`` with a fixed message per kind of refusal and logs only the refusal's type and
status, and it puts a filter on gunicorn's error log that reduces exceptions passed as
arguments to their type and bounds every message. It works with any gunicorn worker class,
since every one calls ``self.handle_error`` for what it cannot answer.
:func:`log_request_start` replaces gunicorn's ``pre_request`` hook, whose debug line holds
the raw method and path. :func:`register_body_errors` answers the same errors met while the
app reads a body (a malformed chunk) the same way.
"""

from __future__ import annotations

import logging
import socket
import ssl
import traceback
import types
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from flask import Flask, Response
from gunicorn import util
from gunicorn.http import errors

from server.errors import JSON_MIMETYPE
from server.http.access_log import REQUEST_ID_HEADER, logged_method
from server.http.responses import error_body, error_response

__all__ = [
    "GunicornLogFilter",
    "Refusal",
    "install_refusals",
    "log_request_start",
    "refusal_for",
    "refuse",
    "register_body_errors",
]

# The longest line gunicorn's error log may carry (tracebacks come on top, as they are).
MAX_LOG_MESSAGE = 500


@dataclass(frozen=True)
class Refusal:
    """What the client is told: status, error code and a message that quotes nothing."""

    status: int
    code: str
    message: str


_SERVER_FAULT = Refusal(500, "server_error", "the server failed to handle the request")
# Most specific first: gunicorn's response-header errors subclass its request-header ones.
_REFUSALS: tuple[tuple[tuple[type[BaseException], ...], Refusal], ...] = (
    ((errors.InvalidResponseHeader, errors.InvalidResponseHeaderName), _SERVER_FAULT),
    ((errors.ConfigurationProblem,), _SERVER_FAULT),
    (
        (errors.InvalidRequestLine, errors.InvalidH2CPreface),
        Refusal(400, "malformed_request", "the request line is not valid HTTP/1.x"),
    ),
    (
        (errors.InvalidRequestMethod,),
        Refusal(400, "invalid_method", "the request method is not a valid HTTP method"),
    ),
    (
        (errors.InvalidHTTPVersion,),
        Refusal(400, "invalid_http_version", "the HTTP version is not one this server speaks"),
    ),
    (
        (
            errors.InvalidHeader,
            errors.InvalidHeaderName,
            errors.ObsoleteFolding,
            errors.InvalidSchemeHeaders,
        ),
        Refusal(
            400,
            "invalid_header",
            "a request header is malformed, repeated or in conflict with another",
        ),
    ),
    (
        (errors.LimitRequestLine,),
        Refusal(414, "request_line_too_long", "the request line is longer than allowed"),
    ),
    (
        (errors.LimitRequestHeaders,),
        Refusal(431, "headers_too_large", "the request headers are too many or too large"),
    ),
    (
        (errors.InvalidChunkSize, errors.ChunkMissingTerminator, errors.InvalidChunkExtension),
        Refusal(400, "malformed_body", "the chunked request body is malformed"),
    ),
    (
        (errors.UnsupportedTransferCoding,),
        Refusal(501, "unsupported_transfer_coding", "the Transfer-Encoding is not supported"),
    ),
    (
        (errors.ExpectationFailed,),
        Refusal(417, "expectation_failed", "the Expect header cannot be met"),
    ),
    (
        (errors.InvalidProxyLine, errors.InvalidProxyHeader),
        Refusal(400, "invalid_proxy_line", "the PROXY protocol line is malformed"),
    ),
    (
        (errors.ForbiddenProxyRequest,),
        Refusal(403, "forbidden", "PROXY protocol requests are not allowed from this address"),
    ),
    ((ssl.SSLError,), Refusal(403, "forbidden", "the TLS handshake failed")),
)


def refusal_for(error: BaseException) -> Refusal:
    """The answer to a request that failed with ``error`` before or outside the app."""
    for kinds, refusal in _REFUSALS:
        if isinstance(error, kinds):
            return refusal
    return _SERVER_FAULT


def response_bytes(refusal: Refusal) -> bytes:
    """The whole HTTP response: status line, headers and the JSON error body."""
    body = error_body(refusal.code, refusal.message, [])
    head = (
        f"HTTP/1.1 {refusal.status} {HTTPStatus(refusal.status).phrase}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {JSON_MIMETYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{REQUEST_ID_HEADER}: {uuid.uuid4().hex}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


def refuse(worker: Any, req: Any, client: socket.socket, addr: Any, error: BaseException) -> None:
    """gunicorn's ``Worker.handle_error``, answering in JSON and logging no request text."""
    refusal = refusal_for(error)
    peer = addr[0] if isinstance(addr, tuple) and addr else "unix socket"
    kind = type(error).__name__
    if refusal is _SERVER_FAULT:
        # As the app's own 500s: the type and where it happened, never the message.
        where = traceback.extract_tb(error.__traceback__)[-1:]
        place = f"{where[0].filename}:{where[0].lineno}" if where else "unknown"
        worker.log.error("error handling a request from ip=%s: %s at %s", peer, kind, place)
    else:
        worker.log.warning(
            "refused a request from ip=%s: %s (%d %s)", peer, kind, refusal.status, refusal.code
        )
    try:
        util.write_nonblock(client, response_bytes(refusal))
    except Exception:  # the client may be gone; there is no one left to tell
        worker.log.debug("could not send the refusal")


class GunicornLogFilter(logging.Filter):
    """Keeps request text out of gunicorn's error log: exceptions passed as arguments become
    their type (gunicorn's parse errors quote the request), and every message is bounded
    and printable."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                type(arg).__name__ if isinstance(arg, BaseException) else arg for arg in record.args
            )
        message = record.getMessage()
        if len(message) > MAX_LOG_MESSAGE or not message.isprintable():
            escaped = _printable(message[:MAX_LOG_MESSAGE])
            shown = escaped[:MAX_LOG_MESSAGE]
            if len(shown) < max(len(message), len(escaped)):
                shown += f"... ({len(message)} characters)"
            record.msg, record.args = shown, ()
        return True


def _printable(text: str) -> str:
    """``text`` with every unprintable character escaped (so one record stays one line)."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def register_body_errors(app: Flask) -> None:
    """Answer gunicorn's errors raised while the app reads a body (a malformed chunk) as the
    client's mistakes they are, in the same words as when gunicorn meets them itself."""
    app.register_error_handler(errors.ParseException, _body_error)


def _body_error(error: errors.ParseException) -> Response:
    refusal = refusal_for(error)
    return error_response(refusal.status, refusal.code, refusal.message, [])


def log_request_start(worker: Any, req: Any) -> None:
    """gunicorn's ``pre_request`` hook: its default logs the raw method and path (a path can
    name a patient); this logs the method as the access log shows it, and no path."""
    worker.log.debug("request started: %s", logged_method(req.method))


def install_refusals(worker: Any) -> None:
    """gunicorn's ``post_worker_init`` hook: JSON refusals and a filtered error log."""
    worker.handle_error = types.MethodType(refuse, worker)
    error_log = worker.log.error_log
    if not any(isinstance(f, GunicornLogFilter) for f in error_log.filters):
        error_log.addFilter(GunicornLogFilter())
