"""The one set of handlers that turns every error into the same JSON shape.

Every response for a failure is ``{"error": {"code", "message", "details"}}``. Client
mistakes are :class:`~packager.errors.RequestError` subclasses carrying their own status
and code; Werkzeug's own errors (404, 405, 413, ...) are reshaped the same way; anything
else is a 500 whose body says only that the server failed.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from packager.errors import RequestError
from server.errors import JSON_MIMETYPE, Detail
from server.logs import SERVER_LOGGER

__all__ = ["error_body", "error_response", "json_response", "register_error_handlers"]

log = logging.getLogger(SERVER_LOGGER)

# Werkzeug names its errors in prose ("Method Not Allowed"); clients match on codes.
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response, serialized with orjson."""
    return Response(orjson.dumps(body), status=status, mimetype=JSON_MIMETYPE)


def error_body(code: str, message: str, details: list[Detail]) -> bytes:
    """The one JSON error body, serialized."""
    return orjson.dumps({"error": {"code": code, "message": message, "details": details}})


def error_response(status: int, code: str, message: str, details: list[Detail]) -> Response:
    """The one JSON error body, as a response."""
    return Response(error_body(code, message, details), status=status, mimetype=JSON_MIMETYPE)


def register_error_handlers(app: Flask) -> None:
    """Route every error raised while handling a request through the JSON shape."""
    app.register_error_handler(RequestError, _request_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)


def _request_error(error: RequestError) -> Response:
    response = error_response(error.status, error.code, error.message, error.details)
    response.headers.extend(error.headers)
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = _HTTP_CODES.get(status, "http_error" if status < 500 else "server_error")
    response = error_response(status, code, error.description or error.name, [])
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        # HTTP requires a 405 to say which methods the route accepts.
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _server_error(error: Exception) -> Response:
    # The message of an arbitrary exception may quote input values: log its type and
    # where it happened, never its text.
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("internal error %s\n%s", type(error).__name__, frames)
    return error_response(500, "server_error", "the server failed to handle the request", [])
