"""The one set of handlers that turns every error into the same JSON shape.

Every response for a failure is ``{"error": {"code", "message", "details"}}``. Client
mistakes are :class:`~packager.errors.RequestError` subclasses carrying their own status
and code; Werkzeug's own errors (404, 405, 413, ...) are reshaped the same way; anything
else is a 500 whose body says only that the server failed.

Werkzeug's texts are replaced where they would not help: a 404 lists the app's routes (read
from its URL map, never the path asked for), a 405 names the route's rule and the methods it
answers (the method sent as the access log shows it), and a 413 names the limit and the
setting that raises it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from typing import Any

import orjson
from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map

from packager.errors import RequestError
from server.errors import JSON_MIMETYPE, BodyTooLargeError, Detail
from server.http.access_log import logged_method
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
# The methods Werkzeug and Flask add to every route: a 404 lists the ones it was given.
_AUTOMATIC = frozenset({"HEAD", "OPTIONS"})


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
    response = error_response(status, code, _message(error), [])
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        # HTTP requires a 405 to say which methods the route accepts.
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


def _message(error: HTTPException) -> str:
    """What the client is told: the routes, the allowed methods or the limit where Werkzeug
    would say "Not Found", "Method Not Allowed" or "Payload Too Large"."""
    if isinstance(error, NotFound):
        return f"no route answers this path; the routes are: {_routes(current_app.url_map)}"
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        rule = _rule(current_app.url_map, error.valid_methods)
        allowed = ", ".join(sorted(error.valid_methods))
        where = f" on {rule}" if rule else ""
        return f"{logged_method(request.method)} is not allowed{where}; it answers {allowed}"
    if isinstance(error, RequestEntityTooLarge):
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if isinstance(limit, int):
            return BodyTooLargeError(limit).message
    return error.description or error.name


def _routes(url_map: Map) -> str:
    """``GET /, GET /livez, ..., POST /predict``: each rule with the methods it was given,
    by path (HEAD and OPTIONS, which Flask adds to every route, are left out)."""
    found = []
    for rule in sorted(url_map.iter_rules(), key=lambda r: r.rule):
        given = sorted((rule.methods or set()) - _AUTOMATIC) or sorted(rule.methods or ())
        found += [f"{method} {rule.rule}" for method in given]
    return ", ".join(found)


def _rule(url_map: Map, allowed: Iterable[str]) -> str | None:
    """The rule of the route the path matched, found again with a method it allows."""
    adapter = url_map.bind_to_environ(request.environ)
    try:
        rule, _ = adapter.match(method=sorted(allowed)[0], return_rule=True)
    except HTTPException:  # a redirect, or no longer a match: say nothing of the route
        return None
    return rule.rule


def _server_error(error: Exception) -> Response:
    # The message of an arbitrary exception may quote input values: log its type and
    # where it happened, never its text.
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("internal error %s\n%s", type(error).__name__, frames)
    return error_response(500, "server_error", "the server failed to handle the request", [])
