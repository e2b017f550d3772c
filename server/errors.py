"""HTTP errors and the one set of handlers that turns every error into the same JSON shape.

Every response for a failure is ``{"error": {"code", "message", "details"}}``. Client
mistakes are :class:`~packager.errors.RequestError` subclasses carrying their own status
and code; Werkzeug's own errors (404, 405, 413, ...) are reshaped the same way; anything
else is a 500 whose body says only that the server failed. Messages and details name
features and rows, never submitted values.
"""

from __future__ import annotations

import logging
import traceback

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from packager.errors import RequestError

__all__ = [
    "EmptyBatchError",
    "InvalidInputError",
    "InvalidPayloadError",
    "MalformedJSONError",
    "NotReadyError",
    "TooManyRowsError",
    "UnscorableInputError",
    "UnseenCategoryError",
    "UnsupportedMediaTypeError",
    "error_response",
    "register_error_handlers",
]

JSON_MIMETYPE = "application/json"
log = logging.getLogger("deployml.server")

# Werkzeug names its errors in prose ("Method Not Allowed"); clients match on codes.
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class MalformedJSONError(RequestError):
    """The body is not valid JSON (NaN and Infinity tokens included)."""

    status = 400
    code = "malformed_json"

    def __init__(self, where: str) -> None:
        super().__init__(
            f"the body is not valid JSON ({where}); NaN and Infinity are not JSON, "
            "send null for a missing value"
        )


class UnsupportedMediaTypeError(RequestError):
    """The request did not declare a JSON body."""

    status = 415
    code = "unsupported_media_type"

    def __init__(self, received: str) -> None:
        super().__init__(f"expected Content-Type {JSON_MIMETYPE}, got {received or 'none'}")


class InvalidPayloadError(RequestError):
    """The JSON is well formed but not one of the three accepted shapes."""

    status = 400
    code = "invalid_payload"


class EmptyBatchError(RequestError):
    """The batch holds no rows."""

    status = 422
    code = "empty_batch"

    def __init__(self) -> None:
        super().__init__("the batch holds no rows; send at least one instance")


class TooManyRowsError(RequestError):
    """The batch holds more rows than ``DEPLOYML_MAX_ROWS`` allows."""

    status = 413
    code = "too_many_rows"

    def __init__(self, rows: int, limit: int) -> None:
        super().__init__(f"the batch holds {rows} rows; at most {limit} are allowed per request")
        self.rows = rows
        self.limit = limit


class InvalidInputError(RequestError):
    """Rows do not match the feature schema; details name each row and feature."""

    status = 422
    code = "invalid_input"

    def __init__(self, details: list[dict[str, object]], total: int) -> None:
        shown = "" if total == len(details) else f" (the first {len(details)} are listed)"
        super().__init__(
            f"{total} problem(s) with the input{shown}; see GET /metadata for the schema",
            details,
        )


class UnseenCategoryError(RequestError):
    """A category never seen in training that the model cannot score, or strict mode is on."""

    status = 422
    code = "unseen_category"

    def __init__(self, details: list[dict[str, object]], strict: bool) -> None:
        why = (
            "this server is configured to refuse them"
            if strict
            else "the model cannot score categories it never saw for these features"
        )
        features = sorted({str(d["feature"]) for d in details})
        super().__init__(
            f"categories not seen in training for {', '.join(features)}; {why}", details
        )


class UnscorableInputError(RequestError):
    """The model refused the validated input; its own message is withheld (it may hold values)."""

    status = 422
    code = "unscorable_input"

    def __init__(self, error_type: str) -> None:
        super().__init__(f"the model could not score this input ({error_type})")


class NotReadyError(RequestError):
    """The model is not ready to serve: the self-test failed."""

    status = 503
    code = "not_ready"

    def __init__(self, reason: str) -> None:
        super().__init__(f"the model is not ready: {reason}")


def error_response(
    status: int, code: str, message: str, details: list[dict[str, object]]
) -> Response:
    """The one JSON error body."""
    body = {"error": {"code": code, "message": message, "details": details}}
    return Response(orjson.dumps(body), status=status, mimetype=JSON_MIMETYPE)


def register_error_handlers(app: Flask) -> None:
    """Route every error raised while handling a request through the JSON shape."""
    app.register_error_handler(RequestError, _request_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)


def _request_error(error: RequestError) -> Response:
    return error_response(error.status, error.code, error.message, error.details)


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
