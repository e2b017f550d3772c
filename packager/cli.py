"""The ``deployml`` command group and its packaging commands.

Commands are thin: each parses its options and calls a plain function that tests call
directly. A :class:`~packager.errors.DeploymlError` becomes one ``Error: ...`` line and exit
code 1 at this boundary; ``--debug`` shows the traceback instead. Usage errors exit 2 (click).
``server.cli`` adds ``serve`` to this group, so this module never imports ``server``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from packager.artefact import package, read_manifest
from packager.errors import ArtefactError, DeploymlError
from packager.example import build_example
from packager.modelfile import load_model_file
from packager.summary import describe
from packager.table import read_table
from packager.verification import verify

P = ParamSpec("P")
R = TypeVar("R")


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="deployml")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Package scikit-learn models with their training metadata, and serve them."""
    ctx.obj = {"debug": debug}


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a DeploymlError raised by ``command`` into ``Error: ...`` and exit code 1."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DeploymlError as error:
            ctx = click.get_current_context(silent=True)
            if ctx is not None and (ctx.find_root().obj or {}).get("debug"):
                raise
            click.echo(f"Error: {error.message}", err=True)
            sys.exit(error.exit_code)

    return wrapper


@cli.command("package")
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Artefact directory to write (must not exist unless --force).",
)
@click.option("--force", is_flag=True, help="Replace an existing artefact at --output.")
@click.option(
    "--train",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Training data CSV, for a plain pickled estimator.",
)
@click.option(
    "--test",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Test data CSV (needs --train), for metrics.",
)
@click.option("--target", help="The target column of --train and --test.")
@click.option("--name", help="Model name.")
@click.option("--model-version", help="Model version (default 1.0.0).")
@click.option("--description", help="What the model predicts, in a sentence.")
@click.option("--author", help="Who trained the model.")
@click.option("--organisation", help="The organisation responsible for it.")
@click.option("--contact", help="Whom to contact about it.")
@click.option("--intended-use", help="What it is for and whom.")
@click.option("--limitations", help="What it must not be used for.")
@reports_errors
def package_command(
    model_file: Path,
    output: Path,
    force: bool,
    train: Path | None,
    test: Path | None,
    target: str | None,
    model_version: str | None,
    **model_info: str | None,
) -> None:
    """Package MODEL_FILE (a capture file or a pickled estimator) as an artefact directory.

    MODEL_FILE is unpickled, which runs any code it holds: give only files you trust.
    """
    if (train is None) != (target is None):
        raise click.UsageError("--train and --target go together")
    if test is not None and train is None:
        raise click.UsageError("--test needs --train and --target")
    captured = load_model_file(
        model_file,
        train=None if train is None else read_table(train, "training data"),
        test=None if test is None else read_table(test, "test data"),
        target=target,
        version=model_version,
        **model_info,
    )
    path = package(captured, output, force=force)
    manifest, sha256 = read_manifest(path)
    click.echo(f"Packaged {manifest.model.name} {manifest.model.version} into {path}")
    click.echo(f"Artefact sha256: {sha256}")
    for item in manifest.missing:
        click.echo(f"Not recorded: {item}")


@cli.command("inspect")
@click.argument("artefact_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON instead.")
@reports_errors
def inspect_command(artefact_dir: Path, as_json: bool) -> None:
    """Summarise the artefact at ARTEFACT_DIR (reads the manifest; never loads the model)."""
    manifest, sha256 = read_manifest(artefact_dir)
    if as_json:
        click.echo(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(describe(manifest, sha256))


@cli.command("verify")
@click.argument("artefact_dir", type=click.Path(path_type=Path))
@reports_errors
def verify_command(artefact_dir: Path) -> None:
    """Check ARTEFACT_DIR's hashes and versions, load its model and re-score its examples."""
    report = verify(artefact_dir)
    for check in report.checks:
        click.echo(f"{check.status.upper():<4}  {check.name}: {check.detail}")
    if not report.ok:
        failed = ", ".join(c.name for c in report.checks if c.status == "fail")
        raise ArtefactError(f"{artefact_dir} failed verification ({failed})")
    click.echo(f"{artefact_dir} verified; artefact sha256 {report.sha256}")


@cli.command("example")
@click.option(
    "-o",
    "--output",
    default="example-artefact",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Artefact directory to write (must not exist unless --force).",
)
@click.option("--force", is_flag=True, help="Replace an existing artefact at --output.")
@reports_errors
def example_command(output: Path, force: bool) -> None:
    """Train, capture and package the bundled breast-cancer example model (no download)."""
    path = build_example(output, force=force)
    manifest, sha256 = read_manifest(path)
    click.echo(f"Packaged {manifest.model.name} {manifest.model.version} into {path}")
    click.echo(f"Artefact sha256: {sha256}")
    click.echo(f"Serve it with: deployml serve {path}")


def main(argv: list[str] | None = None) -> Any:
    """Entry point for the packaging commands alone (``python -m packager``)."""
    return cli.main(args=argv, prog_name="deployml")
