"""The core application: the loaded runtime, its state, hooks and own routes."""

from __future__ import annotations

import logging

import orjson
from flask import Flask

from packager.artefact import card_files, card_page
from server.api_keys import read_api_keys
from server.audit import AuditLog, open_audit_log
from server.http.access_log import install_access_log
from server.http.audit_trail import install_audit_trail
from server.http.auth import install_auth
from server.http.metadata import metadata_document
from server.http.refusals import register_body_errors
from server.http.responses import register_error_handlers
from server.http.routes import blueprint
from server.http.serving import EXTENSION, State
from server.logs import SERVER_LOGGER, configure_logging
from server.metrics import Metrics, ModelFacts
from server.runtime import Runtime, load_runtime
from server.settings import Settings

__all__ = ["build_app"]

log = logging.getLogger(SERVER_LOGGER)


def build_app(settings: Settings | None = None) -> Flask:
    """Load and self-test the artefact once, then build the core app (settings default: env);
    ``server.app.create_app`` adds the other protocols."""
    settings = Settings.from_env() if settings is None else settings
    configure_logging(settings)
    # The keys first: a bad file should stop the server before the model loads, not after.
    keys = None if settings.api_keys_file is None else read_api_keys(settings.api_keys_file)
    runtime = load_runtime(settings)
    manifest = runtime.artefact.manifest
    audit = open_audit_log(settings)
    # No static files: without this Flask adds a /static route that could only answer 404.
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    model = {
        "name": manifest.model.name,
        "version": manifest.model.version,
        "sha256": runtime.artefact.sha256,
    }
    state = State(
        settings=settings,
        runtime=runtime,
        metadata=orjson.dumps(metadata_document(runtime, settings)),
        model=model,
        audit=audit,
        card=_card(runtime),
        metrics=_metrics(runtime, model) if settings.metrics else None,
    )
    app.extensions[EXTENSION] = state
    register_error_handlers(app)
    register_body_errors(app)
    install_access_log(app, runtime.artefact.sha256)
    if audit is not None:
        install_audit_trail(app, audit, state.model)
        _report_audit_log(audit)
    # After the access log's hook, so that a refused request is logged with its id.
    install_auth(app, keys)
    app.register_blueprint(blueprint)
    return app


def _metrics(runtime: Runtime, model: dict[str, str]) -> Metrics:
    """The served model's Prometheus metrics, with every labelled series made now."""
    manifest = runtime.artefact.manifest
    default = runtime.profiles.default
    facts = ModelFacts(
        model=model,
        features=manifest.input.names,
        labels=runtime.labels,
        positive_column=None if default is None else default.column,
        drift=manifest.drift,
    )
    return Metrics(facts)


def _card(runtime: Runtime) -> bytes:
    """The model card page for GET /, made once from the loaded artefact's manifest and its
    plots (read again and checked against their hashes)."""
    artefact = runtime.artefact
    files = card_files(artefact.path, artefact.manifest)
    return card_page(artefact.manifest, files, artefact.sha256).encode("utf-8")


def _report_audit_log(audit: AuditLog) -> None:
    """Say where lines go (never the key), and loudly if they cannot be written now."""
    mode = "fail open" if audit.fail_open else "fail closed"
    log.info("audit log: %s (key id %s, %s)", audit.path, audit.key_id, mode)
    problem = audit.problem()
    if problem is not None:
        log.error("%s; /readyz says not ready until it can be", problem)
