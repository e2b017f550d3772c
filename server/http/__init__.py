"""The HTTP layer: the core app, the one scoring path, the JSON error shape, the access log,
/metadata, and gunicorn's own refusals in the same shape.

``build_app`` builds the core app (the card, /predict, /metadata, the probes) around a loaded
runtime; ``server.app`` adds the other protocols to it. Views find what they need in the
``State`` stored at ``app.extensions[EXTENSION]`` (``state()``), and every protocol scores
through ``answer``. ``install_refusals`` and ``log_request_start`` are gunicorn hooks: the
first answers the requests gunicorn refuses itself, the second keeps the raw method and path
out of gunicorn's debug log. ``OPEN_PATHS`` are the probes that need no API key.
"""

from server.http.access_log import logged_method
from server.http.app import build_app
from server.http.auth import OPEN_PATHS
from server.http.refusals import install_refusals, log_request_start
from server.http.responses import error_body, json_response
from server.http.routes import read_body
from server.http.serving import EXTENSION, Answer, State, answer, not_ready, state

__all__ = [
    "EXTENSION",
    "OPEN_PATHS",
    "Answer",
    "State",
    "answer",
    "build_app",
    "error_body",
    "install_refusals",
    "json_response",
    "log_request_start",
    "logged_method",
    "not_ready",
    "read_body",
    "state",
]
