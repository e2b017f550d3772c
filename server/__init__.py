"""deployml's prediction server: a Flask app, run by gunicorn, serving one artefact.

Three subpackages, each behind its front door: ``server.validation`` checks requests against
the recorded schema, ``server.runtime`` holds the loaded model, and ``server.http`` is the app
built on both. ``settings`` is the one place that reads the environment, ``logs`` sets up the
loggers, and ``gunicorn_app`` runs the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["Settings", "create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Load and self-test the artefact once, then build the app (settings default: env)."""
    # Imported on use, so that reading Settings (as the command line does) needs no Flask.
    from server.http import create_app as build

    return build(settings)
