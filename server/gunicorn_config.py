"""Gunicorn configuration from ``DEPLOYML_*`` variables, for the container's command line.

    gunicorn --config python:server.gunicorn_config "server.gunicorn_config:app()"

runs the server exactly as ``deployml serve`` does (see :mod:`server.gunicorn_app`). A bad
setting or an address that cannot be bound stops it here, in one line, before gunicorn loads
the model; an artefact that cannot be served stops it in one line in :func:`app`, as
``deployml serve`` would, instead of gunicorn's traceback.
"""

from __future__ import annotations

import sys

from flask import Flask

from packager.errors import DeploymlError
from server.app import create_app
from server.gunicorn_app import check_address, gunicorn_options
from server.metrics import use_directory
from server.settings import Settings

try:
    _settings = Settings.from_env()
    check_address(_settings)
    # Before the app creates a metric: every worker then counts in the shared directory.
    use_directory(_settings)
except DeploymlError as error:
    # gunicorn would wrap an exception here in a traceback; SystemExit passes through it.
    sys.exit(f"Error: {error.message}")

globals().update(gunicorn_options(_settings))


def app() -> Flask:
    """The app gunicorn serves: loaded and self-tested once (``preload_app``), or one line."""
    try:
        return create_app(_settings)
    except DeploymlError as error:
        sys.exit(f"Error: {error.message}")
