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
from server.runtime import Runtime, ServedProfile, keyed, score
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
    mode = on_error or payload.on_error or current.settings.on_error
    scored = score(runtime, payload, mode)
    batch, outputs, profile = scored.batch, scored.outputs, scored.profile
    g.imputed = imputed_counts(batch.imputed)  # for the access line: counts, never values
    g.refused = len(batch.refused_rows)
    if current.metrics is not None:
        # Counted by the metrics' hook once the answer's status is final (the audit trail may
        # still turn it into a 503): counts and schema names, never values.
        g.scored = (batch, outputs)
    body: dict[str, Any] = {"predictions": scored.per_row(outputs.predictions)}
    if runtime.labels is not None and outputs.probabilities is not None:
        body["probabilities"] = scored.per_row(keyed(runtime.labels, outputs.probabilities))
    if profile is not None and scored.decisions is not None:
        body["decisions"] = scored.per_row(scored.decisions)
        body["profile"] = profile.answer()
        g.profile = profile.name  # for the access line: the name only
    body["imputed"] = scored.per_row(batch.imputed, [])
    body["warnings"] = batch.warnings
    if mode == SKIP:
        body["errors"] = batch.errors[:MAX_DETAILS]
        body["refused_rows"] = batch.refused_rows
    g.answer = body  # for the audit line
    return Answer(batch=batch, outputs=outputs, profile=profile, body=body)
