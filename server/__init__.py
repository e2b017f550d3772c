"""deployml's prediction server: a Flask app, run by gunicorn, serving one artefact."""

from server.http.app import create_app
from server.settings import Settings

__all__ = ["Settings", "create_app"]
