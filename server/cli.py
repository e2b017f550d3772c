"""The ``deployml`` console script: the packager's commands plus ``serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from deployml.cli import cli, reports_errors


@cli.command("serve")
@click.argument(
    "artefact_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), required=False
)
@click.option("--host", help="Address to bind (default: DEPLOYML_HOST or 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port (default: DEPLOYML_PORT or 8000)."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes (default: DEPLOYML_WORKERS or 2).",
)
@reports_errors
def serve_command(
    artefact_dir: Path | None, host: str | None, port: int | None, workers: int | None
) -> None:
    """Serve ARTEFACT_DIR (default: DEPLOYML_ARTEFACT) over HTTP with gunicorn."""
    # Imported here so that the packaging commands start without Flask and gunicorn.
    from server.gunicorn_app import serve
    from server.settings import Settings

    given = {"ARTEFACT": artefact_dir, "HOST": host, "PORT": port, "WORKERS": workers}
    settings = Settings.from_env(overrides={k: str(v) for k, v in given.items() if v is not None})
    settings.require_artefact()
    serve(settings)


def main(argv: list[str] | None = None) -> Any:
    """Run the ``deployml`` command line."""
    return cli.main(args=argv, prog_name="deployml")
