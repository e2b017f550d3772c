"""The HTTP endpoints: predict, metadata, the model card, liveness and readiness. Views hold no
try/except."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from server.errors import (
    JSON_MIMETYPE,
    BodyTooLargeError,
    NotReadyError,
    UnsupportedMediaTypeError,
)
from server.http.responses import json_response
from server.http.serving import answer, not_ready, state
from server.settings import Settings
from server.validation import parse_body, read_payload

__all__ = ["blueprint", "read_body"]

blueprint = Blueprint("deployml", __name__)


@blueprint.post("/predict")
def predict() -> Response:
    """Validate the rows, score the valid ones, and return predictions (with a binary
    classifier's decisions under the profile in force), per-row warnings and imputed
    features, and in skip mode the refused rows and their problems."""
    current = state()
    if current.runtime.not_ready is not None:
        raise NotReadyError(current.runtime.not_ready)
    if request.mimetype != JSON_MIMETYPE:
        raise UnsupportedMediaTypeError(request.mimetype)
    body = read_body(current.settings)
    validator = current.runtime.validator
    # A batch goes from bytes to checked values in one decode (keeping its rows as sent when
    # the audit trail hashes them); any other body, or a doubt, goes the generic way.
    max_rows = current.settings.max_rows
    payload = validator.read_typed(
        body, max_rows, keep_rows=current.audit is not None
    ) or read_payload(parse_body(body), max_rows, features=validator.known)
    answered = answer(payload)
    return json_response({**answered.body, "model": current.model, "request_id": g.request_id})


def read_body(settings: Settings) -> bytes:
    """The raw body, read in one call from the server; 413 past the size limit."""
    limit = settings.max_request_bytes
    length = request.content_length
    if length is None:
        if not request.environ.get("wsgi.input_terminated"):
            # A server that does not end the stream itself: Werkzeug reads nothing.
            return request.get_data(cache=False)
        # No declared length (chunked): one byte past the limit shows the body is too
        # large. Werkzeug's own limit would cut the body there and carry on with it.
        chunked: bytes = request.environ["wsgi.input"].read(limit + 1)
        if len(chunked) > limit:
            raise BodyTooLargeError(limit)
        return chunked
    if length > limit:
        raise BodyTooLargeError(limit)
    # Werkzeug's own reader copies a large body chunk by chunk; a tenth of a 10,000-row
    # request went there.
    body: bytes = request.environ["wsgi.input"].read(length)
    return body


@blueprint.get("/metadata")
def metadata() -> Response:
    """The model's documentation: schema, target, metrics, provenance, versions, example."""
    return Response(state().metadata, mimetype=JSON_MIMETYPE)


# The card page may load nothing: no script, no other origin; only its inline style and the
# plots it carries as data: URIs.
CARD_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@blueprint.get("/")
def card() -> Response:
    """The model card as one HTML page, made at start-up from the artefact served."""
    response = Response(state().card, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CARD_POLICY
    return response


@blueprint.get("/livez")
def livez() -> Response:
    """Liveness: the process answers HTTP."""
    return json_response({"status": "alive"})


@blueprint.get("/readyz")
def readyz() -> Response:
    """Readiness: the model passed its self-test, and the audit log can be written (unless the
    server is set to answer without it)."""
    reason = not_ready()
    if reason is not None:
        return json_response({"status": "not ready", "reason": reason}, status=503)
    return json_response({"status": "ready"})
