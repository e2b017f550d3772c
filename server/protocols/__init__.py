"""The protocols other tools already speak, beside deployml's own ``/predict``.

Each module reads its protocol's body into a payload and scores it through
``server.http.answer`` (the one path every prediction takes: the same validation, warnings,
access log, audit line and metrics), then words the answer in its own shape.
``register_protocols`` adds them all to the core app.
"""

from __future__ import annotations

from flask import Flask

from server.protocols.mlflow import install_mlflow
from server.protocols.oip import install_oip
from server.protocols.openapi import install_openapi
from server.protocols.prometheus import install_prometheus

__all__ = ["register_protocols"]


def register_protocols(app: Flask) -> None:
    """Register every protocol's routes (and hooks) on the core app."""
    install_mlflow(app)
    install_oip(app)
    install_prometheus(app)
    # Last: the OpenAPI document lists the routes registered above, as the app has them.
    install_openapi(app)
