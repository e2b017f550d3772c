"""deployml's prediction server: a Flask app, run by gunicorn, serving one artefact.

Subpackages, each behind its front door: ``server.validation`` checks requests against
the recorded schema, ``server.runtime`` holds the loaded model, ``server.http`` is the core app
built on both, ``server.protocols`` the other protocols it speaks, and ``server.metrics`` what
Prometheus scrapes. ``app`` puts the app together, ``settings`` is the one place that reads
the environment, ``logs`` sets up the loggers, and ``gunicorn_app`` runs the app.
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
    from server.app import create_app as build

    return build(settings)
