"""The ``deployml`` command group and its packaging commands.

Commands are thin: each parses its options and calls a plain function that tests call
directly. A :class:`~packager.errors.DeploymlError` becomes one ``Error: ...`` line and exit
code 1 at this boundary; ``--debug`` shows the traceback instead. Usage errors exit 2 (click).
``server.cli`` adds ``serve`` to this group, so this module never imports ``server``.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import fields
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from packager import (
    CapturedModel,
    ModelDetails,
    describe,
    load_model_file,
    package,
    read_manifest,
    verify,
)
from packager.artefact import MAX_CATEGORIES
from packager.errors import ArtefactError, DeploymlError, DeploymlWarning, OutputExistsError
from packager.example import build_example
from packager.training.columns import TASKS
from packager.training.models import MODELS, SCALERS
from packager.training.progress import TerminalProgress
from packager.training.report import training_report
from packager.training.table import read_table
from packager.training.trainer import train_csv

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])


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


def details_options(command: F) -> F:
    """The options that describe a model, passed to the command as one ``details`` value."""
    options = [
        click.option("--name", help="Model name."),
        click.option("--model-version", "version", help="Model version (default 1.0.0)."),
        click.option("--description", help="What the model predicts, in a sentence."),
        click.option("--author", help="Who trained the model."),
        click.option("--organisation", help="The organisation responsible for it."),
        click.option("--contact", help="Whom to contact about it."),
        click.option("--intended-use", help="What it is for and whom."),
        click.option("--limitations", help="What it must not be used for."),
    ]
    names = [field.name for field in fields(ModelDetails)]

    def gather(**kwargs: Any) -> Any:
        details = ModelDetails(**{name: kwargs.pop(name) for name in names})
        return command(details=details, **kwargs)

    gather.__name__, gather.__doc__ = command.__name__, command.__doc__
    for option in reversed(options):
        gather = option(gather)
    return gather  # type: ignore[return-value]


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
@details_options
@reports_errors
def package_command(
    model_file: Path,
    output: Path,
    force: bool,
    train: Path | None,
    test: Path | None,
    target: str | None,
    details: ModelDetails,
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
        details=details,
    )
    _package_and_report(captured, output, force)


def _package_and_report(captured: CapturedModel, output: Path, force: bool) -> None:
    path = package(captured, output, force=force)
    manifest, sha256 = read_manifest(path)
    click.echo(f"Packaged {manifest.model.name} {manifest.model.version} into {path}")
    click.echo(f"Artefact sha256: {sha256}")
    for item in manifest.missing:
        click.echo(f"Not recorded: {item}")


@cli.command("train")
@click.argument("data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", required=True, help="The column to predict.")
@click.option(
    "--model",
    "model_name",
    type=click.Choice(MODELS),
    default="random-forest",
    show_default=True,
    help="The model to fit.",
)
@click.option(
    "--task",
    type=click.Choice(["auto", *TASKS]),
    default="auto",
    show_default=True,
    help="auto: classification for labels and few whole numbers, else regression.",
)
@click.option("--drop", multiple=True, help="A column to leave out (repeat for more).")
@click.option(
    "--categorical",
    multiple=True,
    help="A numeric column to one-hot encode as categories (repeat for more).",
)
@click.option(
    "--na-values",
    multiple=True,
    help="Cell text that marks a missing value, besides empty cells and NA (repeatable).",
)
@click.option(
    "--scale",
    type=click.Choice(SCALERS),
    default="standard",
    show_default=True,
    help="Scaling of numeric columns.",
)
@click.option(
    "--test-size",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.25,
    show_default=True,
    help="Fraction of rows held out for testing.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Seed of the split, the folds and the model.",
)
@click.option("--cv", type=click.IntRange(min=2), help="Cross-validate with K folds too.")
@click.option("--search", is_flag=True, help="Choose hyperparameters from a small grid.")
@click.option(
    "--class-weight",
    type=click.Choice(["none", "balanced"]),
    default="none",
    show_default=True,
    help="balanced: weigh classes inversely to their frequency.",
)
@click.option(
    "--max-categories",
    type=click.IntRange(min=2),
    default=MAX_CATEGORIES,
    show_default=True,
    help="Text columns with more distinct values are left out.",
)
@click.option("--no-plots", is_flag=True, help="Skip the plots and the learning curve.")
@click.option(
    "--no-package",
    is_flag=True,
    help="Write a capture file (e.g. model.pkl) at --output instead of an artefact.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Artefact directory (or capture file) to write; must not exist unless --force.",
)
@click.option("--force", is_flag=True, help="Replace an existing output.")
@details_options
@reports_errors
def train_command(
    data_file: Path,
    output: Path,
    force: bool,
    no_plots: bool,
    no_package: bool,
    class_weight: str,
    model_name: str,
    details: ModelDetails,
    **options: Any,
) -> None:
    """Train, evaluate and package a model predicting --target from the columns of DATA_FILE."""
    # Fail before training, not after; package() still decides what --force may replace.
    if not force and os.path.lexists(output):
        raise OutputExistsError(str(output))
    if not output.absolute().parent.is_dir():
        raise ArtefactError(f"cannot write {output}: {output.parent} is not a directory")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _print_warning  # as they arise, not after a long run
        captured = train_csv(
            data_file,
            model=model_name,
            plots=not no_plots,
            progress=TerminalProgress(),
            class_weight=None if class_weight == "none" else class_weight,
            details=details,
            **options,
        )
    click.echo(training_report(captured.manifest, plots=captured.attachments))
    click.echo()
    if no_package:
        path = captured.save(output)
        click.echo(f"Saved the captured model to {path}; package it with:")
        click.echo(f"  deployml package {path} -o DIR")
    else:
        _package_and_report(captured, output, force)


def _print_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    kind = "" if issubclass(category, DeploymlWarning) else f"{category.__name__}: "
    click.echo(f"Warning: {kind}{message}", err=True)


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
