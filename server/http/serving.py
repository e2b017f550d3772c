"""The one path from a read payload to an answer, shared by every protocol the server speaks.

``/predict``, the Open Inference Protocol's ``infer`` and MLflow's ``/invocations`` each read
their own body into a :class:`~server.validation.Payload`, then call :func:`answer`: readiness,
the threshold profile, validation, the model, decisions, and what the access log, the audit
trail and the metrics learn of the request (counts and names, never values) all happen here,
once. Each protocol then words the same :class:`Answer` in its own shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, g

from packager.artefact import Outputs
from server.audit import AuditLog
from server.errors import MAX_DETAILS, NotReadyError
from server.metrics import Metrics
from server.runtime import Runtime, ServedProfile
from server.settings import Settings
from server.validation import SKIP, Batch, Payload, imputed_counts

__all__ = ["EXTENSION", "Answer", "State", "answer", "not_ready", "state"]

EXTENSION = "deployml"


@dataclass(frozen=True)
class State:
    """What the views need, stored on the app at start-up."""

    settings: Settings
    runtime: Runtime
    metadata: bytes
    model: dict[str, str]
    audit: AuditLog | None = None
    card: bytes = b""
    # Prometheus counting; None when DEPLOYML_METRICS is off.
    metrics: Metrics | None = None


def state() -> State:
    """The state of the app handling this request."""
    found: State = current_app.extensions[EXTENSION]
    return found


def not_ready() -> str | None:
    """Why the server is not ready to answer (every protocol's readiness probe asks this):
    the model failed its self-test, or the audit log cannot be written and the server is set
    to fail closed; None when ready."""
    current = state()
    reason = current.runtime.not_ready
    if reason is None and current.audit is not None and not current.audit.fail_open:
        reason = current.audit.problem()
    return reason


@dataclass(frozen=True)
class Answer:
    """A scored request: the validated batch, the model's outputs, the decisions, and ``body``,
    the answer in /predict's shape (one entry per request row; refused rows ``None``)."""

    batch: Batch
    outputs: Outputs
    profile: ServedProfile | None
    body: dict[str, Any]


def answer(payload: Payload, *, on_error: str | None = None) -> Answer:
    """Score ``payload`` as the server scores every request (``on_error``: the payload's
    choice, else the setting); raise the request's error, which the protocol words."""
    current = state()
    runtime = current.runtime
    if runtime.not_ready is not None:
        raise NotReadyError(runtime.not_ready)
    g.rows = payload.rows
    g.payload = payload  # for the audit line: its rows' keyed hashes, never their values
    # Before validation: a profile the model lacks is refused before any row is looked at.
    profile = runtime.profiles.resolve(payload.profile, payload.names_profile)
    mode = on_error or payload.on_error or current.settings.on_error
    batch = runtime.validator.validate(payload, mode)
    outputs = runtime.predict(batch)
    g.imputed = imputed_counts(batch.imputed)  # for the access line: counts, never values
    g.refused = len(batch.refused_rows)
    if current.metrics is not None:
        # Counted by the metrics' hook once the answer's status is final (the audit trail may
        # still turn it into a 503): counts and schema names, never values.
        g.scored = (batch, outputs)
    body: dict[str, Any] = {"predictions": _per_request_row(batch, outputs.predictions)}
    if runtime.labels is not None and outputs.probabilities is not None:
        keyed = _keyed(runtime.labels, outputs.probabilities)
        body["probabilities"] = _per_request_row(batch, keyed)
        if profile is not None:
            decisions = profile.decide(outputs.probabilities)
            body["decisions"] = _per_request_row(batch, decisions)
            body["profile"] = profile.answer()
            g.profile = profile.name  # for the access line: the name only
    else:
        profile = None
    body["imputed"] = _per_request_row(batch, batch.imputed, [])
    body["warnings"] = batch.warnings
    if mode == SKIP:
        body["errors"] = batch.errors[:MAX_DETAILS]
        body["refused_rows"] = batch.refused_rows
    g.answer = body  # for the audit line
    return Answer(batch=batch, outputs=outputs, profile=profile, body=body)


def _per_request_row(batch: Batch, values: list[Any], refused: Any = None) -> list[Any]:
    """One entry per request row: the kept rows' values in place, ``refused`` for the others."""
    if batch.kept is None:
        return values
    answered = [refused] * (len(batch.kept) + len(batch.refused_rows))
    for row, value in zip(batch.kept, values, strict=True):
        answered[row] = value
    return answered


def _keyed(labels: list[str], rows: list[list[float]]) -> list[dict[str, float]]:
    """Each row's probabilities keyed by class label."""
    if len(labels) == 2:
        # Binary models are the common case; a dict display is about twice as fast as zip.
        first, second = labels
        return [{first: p, second: q} for p, q in rows]
    return [dict(zip(labels, row, strict=True)) for row in rows]
