"""MLflow's scoring protocol: ``POST /invocations`` and ``GET /ping``, as ``mlflow models
serve`` answers them, so that a client or script written for it works unchanged.

A body (JSON: :mod:`server.protocols.mlflow_inputs`; CSV: :mod:`server.protocols.csv_rows`)
is read into a payload and scored through ``server.http.answer``, the path every prediction
takes (validation, warnings, access log, audit line). The answer is MLflow's
``{"predictions": [...]}`` (labels, or a regressor's values), with /predict's other keys
beside it (MLflow's client reads ``predictions`` only). Errors take MLflow's shape,
``{"error_code": "BAD_REQUEST", "message": "..."}`` with 400 for any bad input (deployml's
422s included), 401, 413, 415 and 503 kept; the message names each problem by row and
feature, never a value, and ``details`` lists them as /predict does. The audit line gets
deployml's own code through ``g.error_code``.
"""

from __future__ import annotations

import logging
import traceback

import orjson
from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from packager.errors import RequestError
from server.errors import JSON_MIMETYPE, MAX_DETAILS, NotReadyError, ScoringMediaTypeError
from server.http import answer, json_response, not_ready, read_body, state
from server.logs import SERVER_LOGGER
from server.protocols.csv_rows import read_csv
from server.protocols.mlflow_inputs import parse_json, read_inputs

__all__ = ["install_mlflow"]

log = logging.getLogger(SERVER_LOGGER)

blueprint = Blueprint("mlflow", __name__)

CSV_MIMETYPE = "text/csv"
CHARSET = "utf-8"
# MLflow's error codes (its databricks_pb2 names) for each status deployml answers with.
_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    413: "REQUEST_LIMIT_EXCEEDED",
    415: "BAD_REQUEST",
    503: "TEMPORARILY_UNAVAILABLE",
}
# Problems the message names one by one; the others are in details.
_NAMED = 10


def install_mlflow(app: Flask) -> None:
    """Serve MLflow's scoring protocol on ``app``."""
    app.register_blueprint(blueprint)


@blueprint.post("/invocations")
def invocations() -> Response:
    """Score a JSON (``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``)
    or CSV body as MLflow's scoring server does."""
    current = state()
    if current.runtime.not_ready is not None:
        raise NotReadyError(current.runtime.not_ready)
    mimetype = _media_type()
    body = read_body(current.settings)
    max_rows = current.settings.max_rows
    if mimetype == CSV_MIMETYPE:
        payload = read_csv(body, max_rows, current.runtime.validator.features)
    else:
        payload = read_inputs(parse_json(body), max_rows)
    answered = answer(payload)
    return json_response({**answered.body, "model": current.model, "request_id": g.request_id})


@blueprint.get("/ping")
def ping() -> Response:
    """Health as MLflow's /ping: 200 with its body when ready, else 503 and the reason."""
    reason = not_ready()
    if reason is not None:
        return json_response({"status": "not ready", "reason": reason}, status=503)
    return Response("\n", mimetype=JSON_MIMETYPE)


def _media_type() -> str:
    """JSON or CSV, in UTF-8 (MLflow's rule: any other type, charset or parameter is a 415)."""
    mimetype = request.mimetype
    if mimetype not in (JSON_MIMETYPE, CSV_MIMETYPE):
        raise ScoringMediaTypeError(f"got {'another type' if mimetype else 'none'}")
    options = request.mimetype_params
    if options.get("charset", CHARSET).lower() != CHARSET or options.keys() - {"charset"}:
        raise ScoringMediaTypeError("got another charset, or a parameter other than charset")
    return mimetype


@blueprint.errorhandler(RequestError)
def _request_error(error: RequestError) -> Response:
    response = _error(error.status, error.code, _worded(error), error.details)
    response.headers.extend(error.headers)
    return response


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    return _error(status, "http_error", error.description or error.name, [])


@blueprint.errorhandler(Exception)
def _server_error(error: Exception) -> Response:
    # As the core app's handler: the type and where, never the text (it may quote values).
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("internal error %s\n%s", type(error).__name__, frames)
    return _error(500, "server_error", "the server failed to handle the request", [])


def _worded(error: RequestError) -> str:
    """The message, then the first problems by row and feature (never a value)."""
    named = [_problem(detail) for detail in error.details[:_NAMED]]
    if not named:
        return error.message
    more = len(error.details) - len(named)
    tail = f"; and {more} more in details" if more > 0 else ""
    return f"{error.message}: {'; '.join(named)}{tail}"


def _problem(detail: dict[str, object]) -> str:
    where = f"row {detail['row']}" if "row" in detail else "the request"
    if detail.get("feature") is not None:
        where += f", {detail['feature']}"
    return f"{where}: {detail['problem']}"


def _error(status: int, code: str, message: str, details: list[dict[str, object]]) -> Response:
    """MLflow's error body (its status for bad input is 400); deployml's code for the audit."""
    g.error_code = code
    status = 400 if status in (400, 422) else status
    body = {
        "error_code": _CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"),
        "message": message,
        "details": details[:MAX_DETAILS],
    }
    return Response(orjson.dumps(body), status=status, mimetype=JSON_MIMETYPE)
