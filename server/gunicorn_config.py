"""Gunicorn configuration from ``DEPLOYML_*`` variables, for the container's command line.

    gunicorn --config python:server.gunicorn_config "server:create_app()"

runs the server exactly as ``deployml serve`` does (see :mod:`server.gunicorn_app`). A bad
setting or an address that cannot be bound stops it here, in one line, before gunicorn loads
the model.
"""

from __future__ import annotations

import sys

from packager.errors import DeploymlError
from server.gunicorn_app import check_address, gunicorn_options
from server.settings import Settings

try:
    _settings = Settings.from_env()
    check_address(_settings)
except DeploymlError as error:
    # gunicorn would wrap an exception here in a traceback; SystemExit passes through it.
    sys.exit(f"Error: {error.message}")

globals().update(gunicorn_options(_settings))
