"""Prometheus: ``GET /metrics`` (the text exposition format, every worker added up), ``GET
/drift`` (the population stability index of each feature against training, as JSON), and the
hook that counts every request by matched route, method and status.

Installed only when ``DEPLOYML_METRICS`` is on: off, neither route exists (404) and no hook
runs. Every protocol scores rows in ``server.http.answer``, which leaves them to this hook to
count once the answer's status is final.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.http import EXTENSION, json_response, logged_method, state
from server.metrics import Metrics, drift_report, exposed_registry

__all__ = ["UNMATCHED", "install_prometheus"]

# The endpoint label of a request that matched no route: its path is request text.
UNMATCHED = "unmatched"

blueprint = Blueprint("prometheus", __name__)


def install_prometheus(app: Flask) -> None:
    """Add /metrics, /drift and the request counting, unless metrics are off."""
    metrics: Metrics | None = app.extensions[EXTENSION].metrics
    if metrics is None:
        return
    app.register_blueprint(blueprint)

    def count(response: Response) -> Response:
        # Each use of Flask's ``g`` or ``request`` looks up the context (about a
        # microsecond): look up each once, then read their attributes.
        known = vars(g._get_current_object())
        asked = request._get_current_object()  # type: ignore[attr-defined]
        started = known.get("started")
        seconds = 0.0 if started is None else time.perf_counter() - started
        status = response.status_code
        scored = known.get("scored")
        if scored is not None and status < 400:
            metrics.observe(*scored)
        rows = known.get("rows")
        rule = asked.url_rule
        metrics.count_request(
            UNMATCHED if rule is None else rule.rule,
            logged_method(asked.method),
            status,
            seconds,
            rows if rows and status >= 400 else 0,
        )
        return response

    # First in Flask's list of after-request hooks, which it runs last to first: the status
    # counted is the one the client gets (the audit trail's fail-closed 503 among them), and
    # rows are counted scored only when their answer goes out, else refused.
    app.after_request_funcs.setdefault(None, []).insert(0, count)


@blueprint.get("/metrics")
def metrics() -> Response:
    """Every metric of every worker, in Prometheus's text format."""
    own = _current_metrics()
    own.flush()
    body = generate_latest(exposed_registry(own.registry))
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@blueprint.get("/drift")
def drift() -> Response:
    """Each feature's population stability index against its training bins."""
    own = _current_metrics()
    own.flush()
    report = drift_report(own, exposed_registry(own.registry))
    return json_response({**report, "model": state().model})


def _current_metrics() -> Metrics:
    found = state().metrics
    assert found is not None, "the routes exist only when metrics are on"
    return found
