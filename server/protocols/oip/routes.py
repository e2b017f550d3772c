"""The Open Inference Protocol (KServe V2) REST routes, beside ``/predict``.

``GET /v2`` (the server), ``/v2/health/live`` and ``/v2/health/ready``, and for the one
model served ``GET /v2/models/<name>`` (its tensors), ``GET .../ready`` and
``POST .../infer``, each model route also under ``/versions/<version>``. An infer request
scores through ``server.http.answer`` like ``/predict``, always all or nothing: a tensor
cannot hold the null of a refused row. Errors are the protocol's ``{"error": "text"}``:
the validator's problems (422 for /predict) are a 400 listing each row and feature, never a
value; the model or version asked for, when not this one, is not repeated.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from packager.errors import RequestError
from server.errors import NotReadyError, UnknownModelError
from server.http import State, answer, json_response, not_ready, read_body, state
from server.protocols.oip.inference import HEADER_LENGTH, read_request, respond
from server.protocols.oip.signature import Signature

__all__ = ["blueprint", "install_oip"]

blueprint = Blueprint("oip", __name__, url_prefix="/v2")

SERVER_NAME = "deployml"
EXTENSIONS = ["binary_tensor_data"]
_SIGNATURE = "oip.signature"
_SERVER = "oip.server"
_MODEL = "/models/<name>"
_VERSIONED = "/models/<name>/versions/<version>"
# The validator's 422 is the protocol's 400: it has one status for a bad request.
_STATUS = {422: 400}


def install_oip(app: Flask) -> None:
    """Add the routes, with the model's signature and the server's metadata worked out once."""
    app.extensions[_SIGNATURE] = Signature.of(_state_of(app).runtime)
    app.extensions[_SERVER] = {"name": SERVER_NAME, "version": _version(), "extensions": EXTENSIONS}
    app.register_blueprint(blueprint)


def _version() -> str:
    """deployml's installed version (a search of the installed packages: not per request)."""
    try:
        return metadata.version(SERVER_NAME)
    except metadata.PackageNotFoundError:
        return "unknown"


def _state_of(app: Flask) -> State:
    """The core app's state, outside a request."""
    with app.app_context():
        return state()


def _signature() -> Signature:
    found: Signature = current_app.extensions[_SIGNATURE]
    return found


def _served(name: str, version: str | None) -> Signature:
    """The signature, if the URL names the model served; 404 otherwise."""
    signature = _signature()
    if not signature.serves(name, version):
        raise UnknownModelError(signature.name, signature.version)
    return signature


@blueprint.get("")
def server_metadata() -> Response:
    """The server's name, version and protocol extensions."""
    return json_response(current_app.extensions[_SERVER])


@blueprint.get("/health/live")
def live() -> Response:
    """Liveness: the process answers HTTP."""
    return json_response({"live": True})


@blueprint.get("/health/ready")
def ready() -> Response:
    """Readiness, as /readyz: 503 with the reason when not ready."""
    reason = not_ready()
    if reason is not None:
        return json_response({"ready": False, "error": reason}, status=503)
    return json_response({"ready": True})


@blueprint.get(_MODEL)
@blueprint.get(_VERSIONED)
def model_metadata(name: str, version: str | None = None) -> Response:
    """The model's name, version, platform and tensors."""
    return json_response(_served(name, version).metadata())


@blueprint.get(f"{_MODEL}/ready")
@blueprint.get(f"{_VERSIONED}/ready")
def model_ready(name: str, version: str | None = None) -> Response:
    """Whether the model is ready to infer: 503 with the reason when not."""
    signature = _served(name, version)
    reason = not_ready()
    body: dict[str, Any] = {"name": signature.name, "ready": reason is None}
    if reason is not None:
        return json_response({**body, "error": reason}, status=503)
    return json_response(body)


@blueprint.post(f"{_MODEL}/infer")
@blueprint.post(f"{_VERSIONED}/infer")
def infer(name: str, version: str | None = None) -> Response:
    """Score one column per feature; answer the requested outputs in JSON or binary."""
    signature = _served(name, version)
    current = state()
    if current.runtime.not_ready is not None:
        raise NotReadyError(current.runtime.not_ready)
    body = read_body(current.settings)
    asked = read_request(
        body, request.headers.get(HEADER_LENGTH), signature, current.settings.max_rows
    )
    answered = answer(asked.payload, on_error="fail")
    header, binary = respond(answered, asked, signature)
    if binary is None:
        return Response(header, mimetype="application/json")
    response = Response(header + binary, mimetype="application/octet-stream")
    response.headers[HEADER_LENGTH] = str(len(header))
    return response


@blueprint.errorhandler(RequestError)
def _request_error(error: RequestError) -> Response:
    # The protocol's body has no code: the audit line finds it here.
    g.error_code = error.code
    response = json_response(
        {"error": _text(error)}, status=_STATUS.get(error.status, error.status)
    )
    response.headers.extend(error.headers)
    return response


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return json_response({"error": error.description or error.name}, status=error.code or 500)


def _text(error: RequestError) -> str:
    """The message, then each problem as ``row R, feature F: problem`` (never a value)."""
    if not error.details:
        return error.message
    problems = "; ".join(
        ", ".join(
            f"{key} {detail[key]}" for key in ("row", "feature") if detail.get(key) is not None
        )
        + f": {detail.get('problem')}"
        for detail in error.details
    )
    return f"{error.message}: {problems}"
