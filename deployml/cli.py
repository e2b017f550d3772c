"""The ``deployml`` command line: every command, and the one place errors become one line.

Commands are thin: each parses its options and calls a plain function of ``packager`` or
``server`` that tests call directly. :class:`DeploymlGroup` is the error boundary: a
:class:`~packager.errors.DeploymlError` raised by any command becomes ``Error: ...`` and its
exit code (``--debug`` shows the traceback instead); usage errors exit 2, as click's do.
``serve`` imports the server (Flask, gunicorn) only when it runs. The ``audit`` and ``keys``
groups live in :mod:`deployml.audit` and :mod:`deployml.keys` and are added here, under the
same error boundary.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, cast

import click

from deployml.audit import audit
from deployml.keys import keys_group
from deployml.options import (
    data_options,
    details_options,
    model_file_options,
    output_option,
    serve_options,
    train_options,
)
from packager import (
    CapturedModel,
    ModelDetails,
    ModelFormat,
    load_model_file,
    package,
    read_manifest,
    summarise,
    verify,
)
from packager.artefact import ExampleRows
from packager.errors import (
    ArtefactError,
    ConfigError,
    DeploymlError,
    DeploymlWarning,
    OutputExistsError,
)
from packager.example import build_example
from packager.training import (
    TerminalProgress,
    read_table,
    train_csv,
    training_report,
)
from server.settings import PREFIX, Settings

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


def _report_packaged(path: Path) -> None:
    manifest, sha256 = read_manifest(path)
    click.echo(f"Packaged {manifest.model.name} {manifest.model.version} into {path}")
    click.echo(f"Artefact sha256: {sha256}")
    for item in manifest.missing:
        click.echo(f"Not recorded: {item}")


def _check_model_file_options(model_format: ModelFormat, trust: tuple[str, ...]) -> None:
    # Before any work: train would otherwise say so only after fitting.
    if trust and model_format == "pickle":
        raise click.UsageError("--trust approves types in a skops file; --format pickle has none")


def _package(
    captured: CapturedModel,
    output: Path,
    force: bool,
    model_format: ModelFormat,
    trust: tuple[str, ...],
) -> None:
    path = package(captured, output, force=force, model_format=model_format, trust=trust)
    _report_packaged(path)


@cli.command("package")
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@output_option("Artefact directory to write (must not exist unless --force).")
@click.option("--force", is_flag=True, help="Replace an existing artefact at --output.")
@model_file_options
@data_options
@details_options
def package_command(
    model_file: Path,
    output: Path,
    force: bool,
    model_format: ModelFormat,
    trust: tuple[str, ...],
    train: Path | None,
    test: Path | None,
    target: str | None,
    examples: str | None,
    details: ModelDetails,
) -> None:
    """Package MODEL_FILE (a capture file or a pickled estimator) as an artefact directory.

    MODEL_FILE is unpickled, which runs any code it holds: give only files you trust. The
    artefact holds the model as a skops file, which loads without running code.
    """
    _check_model_file_options(model_format, trust)
    if (train is None) != (target is None):
        raise click.UsageError("--train and --target go together")
    if test is not None and train is None:
        raise click.UsageError("--test needs --train and --target")
    if examples is not None and train is None:
        raise click.UsageError(
            "--examples needs --train and --target (a capture file keeps what it chose)"
        )
    captured = load_model_file(
        model_file,
        train=None if train is None else read_table(train, "training data"),
        test=None if test is None else read_table(test, "test data"),
        target=target,
        details=details,
        examples=cast(ExampleRows, examples or "synthetic"),
    )
    _package(captured, output, force, model_format, trust)


@cli.command("train")
@train_options
@model_file_options
@details_options
def train_command(
    data_file: Path,
    output: Path,
    force: bool,
    no_plots: bool,
    no_package: bool,
    model_format: ModelFormat,
    trust: tuple[str, ...],
    class_weight: str,
    model_name: str,
    details: ModelDetails,
    **options: Any,
) -> None:
    """Train, evaluate and package a model predicting --target from the columns of DATA_FILE."""
    if no_package and (trust or model_format != "skops"):
        raise click.UsageError("--format and --trust apply to packaging, not to --no-package")
    _check_model_file_options(model_format, trust)
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
        _package(captured, output, force, model_format, trust)


def _print_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    kind = "" if issubclass(category, DeploymlWarning) else f"{category.__name__}: "
    click.echo(f"Warning: {kind}{message}", err=True)


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


@cli.command("example")
@output_option(
    "Artefact directory to write (must not exist unless --force).", default="example-artefact"
)
@click.option("--force", is_flag=True, help="Replace an existing artefact at --output.")
def example_command(output: Path, force: bool) -> None:
    """Train, capture and package the bundled breast-cancer example model (no download)."""
    path = build_example(output, force=force)
    manifest, sha256 = read_manifest(path)
    click.echo(f"Packaged {manifest.model.name} {manifest.model.version} into {path}")
    click.echo(f"Artefact sha256: {sha256}")
    click.echo(f"Serve it with: deployml serve {path}")


cli.add_command(audit)

# serve's options, by the variable (without its prefix) each one overrides.
_SERVE_OPTIONS = {
    "ARTEFACT": "ARTEFACT_DIR",
    "HOST": "--host",
    "PORT": "--port",
    "WORKERS": "--workers",
    "ALLOW_PICKLE": "--allow-pickle",
    "EXPECTED_SHA256": "--expected-sha256",
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
) -> None:
    """Serve ARTEFACT_DIR (default: DEPLOYML_ARTEFACT) over HTTP with gunicorn."""
    given = {
        "ARTEFACT": artefact_dir,
        "HOST": host,
        "PORT": port,
        "WORKERS": workers,
        "ALLOW_PICKLE": "true" if allow_pickle else None,
        "EXPECTED_SHA256": expected_sha256,
    }
    overrides = {k: str(v) for k, v in given.items() if v is not None}
    try:
        settings = Settings.from_env(overrides=overrides)
    except ConfigError as error:
        name = error.variable.removeprefix(PREFIX)
        if name not in overrides or name not in _SERVE_OPTIONS:
            raise
        # The value came from an option, so the option is named, as click would.
        raise click.BadParameter(error.problem, param_hint=_SERVE_OPTIONS[name]) from None
    settings.require_artefact()
    # Imported here so that the other commands start without Flask and gunicorn.
    from server.gunicorn_app import serve

    serve(settings)
