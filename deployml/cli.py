"""The ``deployml`` command line: every command, and the one place errors become one line.

Commands are thin: each parses its options and calls a plain function of ``packager`` or
``server`` that tests call directly. :class:`DeploymlGroup` is the error boundary: a
:class:`~packager.errors.DeploymlError` raised by any command becomes ``Error: ...`` and its
exit code (``--debug`` shows the traceback instead); usage errors exit 2, as click's do.
``serve`` imports the server (Flask, gunicorn) only when it runs. The commands that write an
artefact live in :mod:`deployml.packaging`, ``threshold`` (a profile for a new site) in
:mod:`deployml.threshold`, ``diff`` in :mod:`deployml.diff`, the ``audit`` and ``keys`` groups
in :mod:`deployml.audit` and :mod:`deployml.keys`, ``score`` (files scored in batch) in
:mod:`deployml.score`; all are added here, under the same error
boundary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from deployml.audit import audit
from deployml.card import card_command
from deployml.diff import diff_command
from deployml.keys import keys_group
from deployml.options import (
    ARTEFACT_OPTIONS,
    serve_options,
    settings_from_options,
)
from deployml.packaging import example_command, package_command, train_command
from deployml.score import score_command
from deployml.threshold import threshold_command
from packager import read_manifest, summarise, verify
from packager.errors import ArtefactError, ConfigError, DeploymlError
from server.settings import PREFIX

__all__ = ["cli", "main"]


class DeploymlGroup(click.Group):
    """A click group that turns a DeploymlError from any command into ``Error: ...``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DeploymlError as error:
            if ctx.params.get("debug"):
                raise
            click.echo(f"Error: {error.message}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=DeploymlGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="deployml")
def cli(debug: bool) -> None:
    """Package scikit-learn models with their training metadata, and serve them."""


cli.add_command(keys_group)


def main(argv: list[str] | None = None) -> Any:
    """Run the ``deployml`` command line (the console script and ``python -m deployml``)."""
    return cli.main(args=argv, prog_name="deployml")


@cli.command("inspect")
@click.argument("artefact_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON instead.")
def inspect_command(artefact_dir: Path, as_json: bool) -> None:
    """Summarise the artefact at ARTEFACT_DIR (reads the manifest; never loads the model)."""
    manifest, sha256 = read_manifest(artefact_dir)
    if as_json:
        click.echo(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(summarise(manifest, sha256))


@cli.command("verify")
@click.argument("artefact_dir", type=click.Path(path_type=Path))
@click.option(
    "--allow-pickle", is_flag=True, help="Unpickle a pickled model, which runs any code it holds."
)
def verify_command(artefact_dir: Path, allow_pickle: bool) -> None:
    """Check ARTEFACT_DIR's hashes and versions, load its model and re-score its examples."""
    report = verify(artefact_dir, allow_pickle=allow_pickle)
    for check in report.checks:
        click.echo(f"{check.status.upper():<4}  {check.name}: {check.detail}")
    if not report.ok:
        failed = ", ".join(c.name for c in report.checks if c.status == "fail")
        raise ArtefactError(f"{artefact_dir} failed verification ({failed})")
    click.echo(f"{artefact_dir} verified; artefact sha256 {report.sha256}")


cli.add_command(audit)
cli.add_command(package_command)
cli.add_command(train_command)
cli.add_command(example_command)
cli.add_command(threshold_command)
cli.add_command(diff_command)
cli.add_command(card_command)
cli.add_command(score_command)

# serve's options, by the variable (without its prefix) each one overrides.
_SERVE_OPTIONS = {
    "ARTEFACT": "ARTEFACT_DIR",
    "HOST": "--host",
    "PORT": "--port",
    "WORKERS": "--workers",
    **ARTEFACT_OPTIONS,
}


@cli.command("serve")
@serve_options
def serve_command(
    artefact_dir: Path | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    allow_pickle: bool | None,
    expected_sha256: str | None,
    profile: str | None,
) -> None:
    """Serve ARTEFACT_DIR (default: DEPLOYML_ARTEFACT) over HTTP with gunicorn."""
    given = {
        "ARTEFACT": artefact_dir,
        "HOST": host,
        "PORT": port,
        "WORKERS": workers,
        "ALLOW_PICKLE": allow_pickle,
        "EXPECTED_SHA256": expected_sha256,
        "PROFILE": profile,
    }
    settings = settings_from_options(given, _SERVE_OPTIONS)
    settings.require_artefact()
    # Imported here so that the other commands start without Flask and gunicorn.
    from server.gunicorn_app import serve

    try:
        serve(settings)
    except ConfigError as error:
        # Checked against the artefact once it is loaded: one line naming the option given.
        if error.variable != PREFIX + "PROFILE" or profile is None:
            raise
        raise ConfigError(_SERVE_OPTIONS["PROFILE"], error.problem) from None
