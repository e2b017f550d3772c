"""The JSON-lines access log: one line per request, without feature values.

Each line holds: time, request id, method, route (the matched rule, never the raw path
or query string), status, rows, latency in milliseconds, the artefact's hash, the
client's name when API keys are required (``flask.g.client``, set by ``server.http.auth``;
never the key), the name of the threshold profile a /predict answer decided with
(``flask.g.profile``; null otherwise), how many of the answered rows had each feature sent
as null and filled in by the model (``flask.g.imputed``: counts by feature name, ``{}`` when
none) and how many rows were refused and skipped (``flask.g.refused``). The request id is
taken from an ``X-Request-ID`` header when it is a sane token, otherwise generated, and is
sent back in the same header. No other request text reaches the line: a method that is not
one of HTTP's standard methods is logged as ``"OTHER"``.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime

import orjson
from flask import Flask, Response, g, request

from server.logs import AccessLog

__all__ = ["REQUEST_ID_HEADER", "install_access_log", "logged_method"]

REQUEST_ID_HEADER = "X-Request-ID"
# Ids from clients go into logs and headers: accept only short, plain tokens.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Methods logged as sent; any other is text of the client's choosing, of any length.
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
OTHER_METHOD = "OTHER"


def request_id(given: str | None) -> str:
    """The client's id when it is a sane token, else a fresh one."""
    if given is not None and _SANE_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def logged_method(method: str) -> str:
    """The method as the access log shows it: a standard one as sent, else ``"OTHER"``."""
    return method if method in _METHODS else OTHER_METHOD


def install_access_log(app: Flask, model_sha256: str) -> None:
    """Give every request an id and log one JSON line when its response is ready."""
    access = AccessLog()

    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()
        g.request_id = request_id(request.headers.get(REQUEST_ID_HEADER))
        g.rows = None

    @app.after_request
    def finish(response: Response) -> Response:
        facts = g._get_current_object()  # once, not through the proxy for each fact
        rid = facts.get("request_id") or request_id(None)
        response.headers[REQUEST_ID_HEADER] = rid
        if access.enabled():
            started = facts.get("started", time.perf_counter())
            line = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "request_id": rid,
                "method": logged_method(request.method),
                "route": request.url_rule.rule if request.url_rule else None,
                "status": response.status_code,
                "rows": facts.get("rows"),
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                "model_sha256": model_sha256,
                "client": facts.get("client"),
                "profile": facts.get("profile"),
                "imputed": facts.get("imputed", {}),
                "refused": facts.get("refused", 0),
            }
            access.write(orjson.dumps(line).decode())
        return response
