"""The HTTP endpoints: predict, metadata, the model card, liveness and readiness. Views hold no
try/except."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from server.audit import AuditLog
from server.errors import (
    JSON_MIMETYPE,
    MAX_DETAILS,
    BodyTooLargeError,
    NotReadyError,
    UnsupportedMediaTypeError,
)
from server.http.responses import json_response
from server.runtime import Runtime
from server.settings import Settings
from server.validation import SKIP, Batch, imputed_counts, parse_body, read_payload

__all__ = ["EXTENSION", "State", "blueprint"]

EXTENSION = "deployml"
blueprint = Blueprint("deployml", __name__)


@dataclass(frozen=True)
class State:
    """What the views need, stored on the app at start-up."""

    settings: Settings
    runtime: Runtime
    metadata: bytes
    model: dict[str, str]
    audit: AuditLog | None = None
    card: bytes = b""


def _state() -> State:
    state: State = current_app.extensions[EXTENSION]
    return state


@blueprint.post("/predict")
def predict() -> Response:
    """Validate the rows, score the valid ones, and return predictions (with a binary
    classifier's decisions under the profile in force), per-row warnings and imputed
    features, and in skip mode the refused rows and their problems."""
    state = _state()
    runtime = state.runtime
    if runtime.not_ready is not None:
        raise NotReadyError(runtime.not_ready)
    if request.mimetype != JSON_MIMETYPE:
        raise UnsupportedMediaTypeError(request.mimetype)
    payload = read_payload(
        parse_body(_body(state.settings)), state.settings.max_rows, features=runtime.validator.known
    )
    g.rows = payload.rows
    g.payload = payload  # for the audit line: its rows' keyed hashes, never their values
    # Before validation: a profile the model lacks is refused before any row is looked at.
    profile = runtime.profiles.resolve(payload.profile, payload.names_profile)
    on_error = payload.on_error or state.settings.on_error
    batch = runtime.validator.validate(payload, on_error)
    scores = runtime.predict(batch)
    g.imputed = imputed_counts(batch.imputed)  # for the access line: counts, never values
    g.refused = len(batch.refused_rows)
    body: dict[str, Any] = {"predictions": _per_request_row(batch, scores.predictions)}
    if runtime.labels is not None and scores.probabilities is not None:
        keyed = _keyed(runtime.labels, scores.probabilities)
        body["probabilities"] = _per_request_row(batch, keyed)
        if profile is not None:
            decisions = profile.decide(scores.probabilities)
            body["decisions"] = _per_request_row(batch, decisions)
            body["profile"] = profile.answer()
            g.profile = profile.name  # for the access line: the name only
    body["imputed"] = _per_request_row(batch, batch.imputed, [])
    body["warnings"] = batch.warnings
    if on_error == SKIP:
        body["errors"] = batch.errors[:MAX_DETAILS]
        body["refused_rows"] = batch.refused_rows
    body["model"] = state.model
    body["request_id"] = g.request_id
    g.answer = body
    return json_response(body)


def _per_request_row(batch: Batch, values: list[Any], refused: Any = None) -> list[Any]:
    """One entry per request row: the kept rows' values in place, ``refused`` for the others."""
    if batch.kept is None:
        return values
    answer = [refused] * (len(batch.kept) + len(batch.refused_rows))
    for row, value in zip(batch.kept, values, strict=True):
        answer[row] = value
    return answer


def _body(settings: Settings) -> bytes:
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


def _keyed(labels: list[str], rows: list[list[float]]) -> list[dict[str, float]]:
    """Each row's probabilities keyed by class label."""
    if len(labels) == 2:
        # Binary models are the common case; a dict display is about twice as fast as zip.
        first, second = labels
        return [{first: p, second: q} for p, q in rows]
    return [dict(zip(labels, row, strict=True)) for row in rows]


@blueprint.get("/metadata")
def metadata() -> Response:
    """The model's documentation: schema, target, metrics, provenance, versions, example."""
    return Response(_state().metadata, mimetype=JSON_MIMETYPE)


# The card page may load nothing: no script, no other origin; only its inline style and the
# plots it carries as data: URIs.
CARD_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@blueprint.get("/")
def card() -> Response:
    """The model card as one HTML page, made at start-up from the artefact served."""
    response = Response(_state().card, mimetype="text/html")
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
    state = _state()
    reason = state.runtime.not_ready
    if reason is None and state.audit is not None and not state.audit.fail_open:
        reason = state.audit.problem()
    if reason is not None:
        return json_response({"status": "not ready", "reason": reason}, status=503)
    return json_response({"status": "ready"})
