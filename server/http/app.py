"""The application factory, the one entry point gunicorn and tests use."""

from __future__ import annotations

import orjson
from flask import Flask

from server.http.access_log import install_access_log
from server.http.metadata import metadata_document
from server.http.refusals import register_body_errors
from server.http.responses import register_error_handlers
from server.http.routes import EXTENSION, State, blueprint
from server.logs import configure_logging
from server.runtime import load_runtime
from server.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Load and self-test the artefact once, then build the app (settings default: env)."""
    settings = Settings.from_env() if settings is None else settings
    configure_logging(settings)
    runtime = load_runtime(settings)
    manifest = runtime.artefact.manifest
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions[EXTENSION] = State(
        settings=settings,
        runtime=runtime,
        metadata=orjson.dumps(metadata_document(runtime, settings)),
        model={
            "name": manifest.model.name,
            "version": manifest.model.version,
            "sha256": runtime.artefact.sha256,
        },
    )
    register_error_handlers(app)
    register_body_errors(app)
    install_access_log(app, runtime.artefact.sha256)
    app.register_blueprint(blueprint)
    return app
