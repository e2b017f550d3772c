"""Gunicorn configuration from ``DEPLOYML_*`` variables, for the container's command line.

    gunicorn --config python:server.gunicorn_config "server:create_app()"

runs the server exactly as ``deployml serve`` does (see :mod:`server.gunicorn_app`).
"""

from __future__ import annotations

from server.gunicorn_app import gunicorn_options
from server.settings import Settings

globals().update(gunicorn_options(Settings.from_env()))
