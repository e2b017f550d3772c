"""``deployml package``, ``train`` and ``example``: the commands that write an artefact.

Registered on the command line in :mod:`deployml.cli`; their errors reach the same boundary.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import click

from deployml.evaluation_options import evaluation_options
from deployml.options import (
    data_options,
    details_options,
    model_file_options,
    output_option,
    train_options,
)
from deployml.table_options import features_option, table_options
from packager import (
    CapturedModel,
    ModelDetails,
    ModelFormat,
    load_model_file,
    package,
    read_manifest,
)
from packager.artefact import ExampleRows
from packager.capture import FeatureDictionary, read_dictionary
from packager.compile import compile_model
from packager.errors import (
    ArtefactError,
    DeploymlWarning,
    OutputExistsError,
    RequirementsNotMetError,
)
from packager.evaluation import EvaluationPlan, requirement_line
from packager.example import build_example
from packager.training import (
    TableOptions,
    TerminalProgress,
    read_table,
    train_csv,
    training_report,
    with_date_entries,
)

__all__ = ["example_command", "package_command", "print_warning", "train_command"]


def _report_packaged(path: Path) -> None:
    manifest, sha256 = read_manifest(path)
    click.echo(f"Packaged {manifest.model.name} {manifest.model.version} into {path}")
    click.echo(f"Artefact sha256: {sha256}")
    for item in manifest.missing:
        click.echo(f"Not recorded: {item}")
    cases = manifest.edge_cases
    if cases is not None:
        failing = f"; failing (allowed): {', '.join(cases.failing)}" if cases.failing else ""
        click.echo(f"Edge cases: {cases.passed} of {cases.total} pass{failing}")
    _report_requirements([requirement_line(r) for r in manifest.requirements])


def _report_requirements(lines: list[str], *, err: bool = False) -> None:
    """Each release gate, PASS or FAIL, with what it measured and its interval."""
    if lines:
        click.echo("Release requirements:", err=err)
    for line in lines:
        click.echo(f"  {line}", err=err)


@contextmanager
def _gates_reported() -> Iterator[None]:
    """When a gate fails, every gate's line (on stderr) before the error says what failed."""
    try:
        yield
    except RequirementsNotMetError as error:
        _report_requirements(error.report, err=True)
        raise


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
    compiler: str | None,
    test: Any = None,
) -> None:
    # Compiled and proven first: a refusal leaves nothing written.
    compiled = None if compiler is None else compile_model(captured, test=test)
    path = package(
        captured, output, force=force, model_format=model_format, trust=trust, compiled=compiled
    )
    _report_packaged(path)
    if compiled is not None:
        record = compiled.record
        checked = ", ".join(f"{rows} {name}" for name, rows in record.rows_checked.items())
        worst = ", ".join(f"{name} {size:.2g}" for name, size in record.worst_difference.items())
        click.echo(
            f"Compiled: {record.path} answers as scikit-learn on {checked} rows (labels "
            f"identical; worst difference {worst or 'none'}, tolerance {record.tolerance:g})"
        )


@click.command("package")
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@output_option("Artefact directory to write (must not exist unless --force).")
@click.option("--force", is_flag=True, help="Replace an existing artefact at --output.")
@model_file_options
@data_options
@table_options
@features_option
@details_options
@evaluation_options
def package_command(
    model_file: Path,
    output: Path,
    force: bool,
    model_format: ModelFormat,
    trust: tuple[str, ...],
    compiler: str | None,
    train: Path | None,
    test: Path | None,
    target: str | None,
    examples: str | None,
    table: TableOptions,
    features: Path | None,
    details: ModelDetails,
    evaluation: EvaluationPlan,
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
    if table != TableOptions() and train is None:
        raise click.UsageError(
            "--sep, --encoding, --decimal, --na-values and --date say how --train and --test "
            "are read; give --train"
        )
    dictionary = _dictionary(features)
    with _gates_reported(), warnings.catch_warnings():
        # deployml's own warnings (a model no better than the baseline) every time; others
        # keep their filters, and all are printed once, by print_warning.
        warnings.simplefilter("always", DeploymlWarning)
        warnings.showwarning = print_warning
        test_rows = None if test is None else read_table(test, "test data", table)
        captured = load_model_file(
            model_file,
            train=None if train is None else read_table(train, "training data", table),
            test=test_rows,
            target=target,
            details=details,
            examples=cast(ExampleRows, examples or "synthetic"),
            evaluation=evaluation,
            features=with_date_entries(dictionary, table.dates),
        )
    _package(captured, output, force, model_format, trust, compiler, test_rows)


@click.command("train")
@train_options
@table_options
@features_option
@model_file_options
@details_options
@evaluation_options
def train_command(
    data_file: Path,
    output: Path,
    force: bool,
    no_plots: bool,
    no_package: bool,
    model_format: ModelFormat,
    trust: tuple[str, ...],
    compiler: str | None,
    class_weight: str,
    model_name: str,
    table: TableOptions,
    features: Path | None,
    details: ModelDetails,
    evaluation: EvaluationPlan,
    **options: Any,
) -> None:
    """Train, evaluate and package a model predicting --target from the columns of DATA_FILE."""
    if no_package and (trust or model_format != "skops" or compiler):
        raise click.UsageError(
            "--format, --trust and --compile apply to packaging, not to --no-package"
        )
    _check_model_file_options(model_format, trust)
    # Fail before training, not after; package() still decides what --force may replace.
    if not force and os.path.lexists(output):
        raise OutputExistsError(str(output))
    if not output.absolute().parent.is_dir():
        raise ArtefactError(f"cannot write {output}: {output.parent} is not a directory")
    dictionary = _dictionary(features)
    with _gates_reported(), warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = print_warning  # as they arise, not after a long run
        captured = train_csv(
            data_file,
            model=model_name,
            plots=not no_plots,
            progress=TerminalProgress(),
            class_weight=None if class_weight == "none" else class_weight,
            table=table,
            features=dictionary,
            details=details,
            evaluation=evaluation,
            **options,
        )
    click.echo(training_report(captured.manifest, plots=captured.attachments))
    click.echo()
    if no_package:
        path = captured.save(output)
        click.echo(f"Saved the captured model to {path}; package it with:")
        click.echo(f"  deployml package {path} -o DIR")
        _report_requirements([requirement_line(r) for r in captured.manifest.requirements])
    else:
        _package(captured, output, force, model_format, trust, compiler)


def _dictionary(path: Path | None) -> FeatureDictionary | None:
    """The data dictionary of --features, read before any slow work."""
    return None if path is None else read_dictionary(path)


def print_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    """Show a warning as the commands do: ``Warning: ...`` on stderr, no source line."""
    kind = "" if issubclass(category, DeploymlWarning) else f"{category.__name__}: "
    click.echo(f"Warning: {kind}{message}", err=True)


@click.command("example")
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
