"""The application factory, the one entry point gunicorn and tests use: the core app of
``server.http`` with every other protocol of ``server.protocols`` registered on it."""

from __future__ import annotations

from flask import Flask

from server.http import build_app
from server.protocols import register_protocols
from server.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Load and self-test the artefact once, then build the app (settings default: env)."""
    app = build_app(settings)
    register_protocols(app)
    return app
