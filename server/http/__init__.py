"""The HTTP layer: the app factory, the routes, the JSON error shape, the access log, /metadata.

``create_app`` builds the app around a loaded runtime; the views find what they need in the
``State`` stored at ``app.extensions[EXTENSION]``.
"""

from server.http.app import create_app
from server.http.routes import EXTENSION, State

__all__ = ["EXTENSION", "State", "create_app"]
