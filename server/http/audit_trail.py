"""The audit trail of the HTTP layer: one audit line per request that scores rows (/predict and
the other protocols' scoring routes) and per /metadata request.

Every request to an audited endpoint gets its line, whatever its status, once its response
is ready and before it is sent. If the line cannot be written the response is replaced by a
503 ``audit_unavailable`` (fail closed), so no answer leaves unaudited; /livez and /readyz
are not audited (they are polled and answer nothing about the model's outputs).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, g, request

from server.audit import AuditLog, AuditRequest, rows_of
from server.errors import AuditUnavailableError

__all__ = ["AUDITED_ENDPOINTS", "install_audit_trail"]

# Every route that scores rows is audited, whichever protocol it speaks.
AUDITED_ENDPOINTS = frozenset(
    {"deployml.predict", "deployml.metadata", "oip.infer", "mlflow.invocations"}
)


def install_audit_trail(app: Flask, audit: AuditLog, model: Mapping[str, str]) -> None:
    """Write each audited request's line after its response is made; a 503 if it cannot be."""

    # Registered after the access log's hook, so it runs first and the access log sees the 503.
    @app.after_request
    def write_line(response: Response) -> Response:
        if request.endpoint not in AUDITED_ENDPOINTS:
            return response
        try:
            audit.write(_audited(response), model)
        except AuditUnavailableError as error:
            # Worded by the handlers of the request's protocol (the Open Inference Protocol's
            # and MLflow's error shapes are not the core one).
            return current_app.make_response(current_app.handle_user_exception(error))
        return response


def _audited(response: Response) -> AuditRequest:
    """What this request was, from what the view left on ``g`` and the response."""
    payload = g.get("payload")
    answer: dict[str, Any] = g.get("answer") or {}
    profile: dict[str, Any] = answer.get("profile") or {}
    started = g.get("started", time.perf_counter())
    return AuditRequest(
        request_id=g.get("request_id") or "",
        endpoint=request.url_rule.rule if request.url_rule else request.path,
        method=request.method,
        status=response.status_code,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        caller=g.get("client"),
        rows=None if payload is None else rows_of(payload.records, payload.columns, payload.data),
        predictions=answer.get("predictions"),
        probabilities=answer.get("probabilities"),
        warnings=answer.get("warnings", ()),
        error_code=_error_code(response),
        profile=profile.get("name"),
        threshold=profile.get("threshold"),
        decisions=answer.get("decisions"),
        imputed=answer.get("imputed", ()),
        refused_rows=answer.get("refused_rows", ()),
    )


def _error_code(response: Response) -> str | None:
    """The code of a JSON error response (``invalid_input``...), else None. A protocol whose
    error shape has no code (the Open Inference Protocol's) leaves it in ``g.error_code``."""
    if response.status_code < 400:
        return None
    if g.get("error_code"):
        return str(g.error_code)
    body = response.get_json(silent=True)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        return code if isinstance(code, str) else None
    return None
