"""The HTTP layer: the app factory, the routes, the JSON error shape, the access log, /metadata,
and gunicorn's own refusals in the same shape.

``create_app`` builds the app around a loaded runtime; the views find what they need in the
``State`` stored at ``app.extensions[EXTENSION]``. ``install_refusals`` and
``log_request_start`` are gunicorn hooks: the first answers the requests gunicorn refuses
itself, the second keeps the raw method and path out of gunicorn's debug log.
"""

from server.http.app import create_app
from server.http.refusals import install_refusals, log_request_start
from server.http.routes import EXTENSION, State

__all__ = ["EXTENSION", "State", "create_app", "install_refusals", "log_request_start"]
