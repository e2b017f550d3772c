"""``deployml score``: tables scored with an artefact, as ``/predict`` would score them.

Registered on the command line in :mod:`deployml.cli`. The work is ``server.batch``'s:
:func:`~server.batch.plan_job` checks everything before a row is scored and
:func:`~server.batch.run_job` runs the engine, counts and renames. The artefact options
(``--allow-pickle``, ``--expected-sha256``, ``--profile``) are serve's, and other settings
(``DEPLOYML_STRICT_CATEGORIES``, ``DEPLOYML_AUDIT_LOG``...) come from the environment as for
``serve``. Progress goes to stderr; a summary (or ``--json``, the run record) to stdout.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from deployml.options import (
    ARTEFACT_OPTIONS,
    artefact_options,
    output_option,
    settings_from_options,
)
from packager.errors import ConfigError
from packager.training import TerminalProgress
from server.batch import (
    DEFAULT_CHUNK_ROWS,
    ENGINES,
    OUTPUT_FORMATS,
    RUN_RECORD,
    RunRecord,
    plan_job,
    run_job,
)
from server.settings import PREFIX

__all__ = ["score_command"]

_STEP = "scoring"
# The problems the summary names, most frequent first; _run.json has them all.
_SUMMARY_PROBLEMS = 5


@click.command("score")
@click.argument("artefact_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    required=True,
    metavar="PATH_OR_GLOB",
    help="A CSV or Parquet file, or a glob such as 'data/*.parquet' (repeatable).",
)
@output_option("Directory to write the parts and _run.json to; must not exist unless --force.")
@click.option(
    "--id-col",
    "id_columns",
    multiple=True,
    metavar="COLUMN",
    help="An input column copied to the output beside each row's answer (repeatable).",
)
@click.option(
    "--engine",
    type=click.Choice(list(ENGINES)),
    default="local",
    show_default=True,
    help="local: this process, in chunks; dask or spark: a cluster (their extras).",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=DEFAULT_CHUNK_ROWS,
    show_default=True,
    help="Rows scored at a time (local), or per partition (dask, spark).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(list(OUTPUT_FORMATS)),
    default="parquet",
    show_default=True,
    help="The output parts' format (Parquet needs the parquet extra).",
)
@click.option("--scheduler", metavar="ADDRESS", help="The Dask scheduler (default: a local one).")
@click.option("--master", metavar="URL", help="The Spark master (default: local[*]).")
@click.option("--force", is_flag=True, help="Replace an existing output, once the new one is done.")
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON at the end.")
@artefact_options
def score_command(
    artefact_dir: Path,
    inputs: tuple[str, ...],
    output: Path,
    id_columns: tuple[str, ...],
    engine: str,
    chunk_rows: int,
    output_format: str,
    scheduler: str | None,
    master: str | None,
    force: bool,
    as_json: bool,
    allow_pickle: bool | None,
    expected_sha256: str | None,
    profile: str | None,
) -> None:
    """Score the rows of CSV or Parquet files with ARTEFACT_DIR into a directory of parts.

    Each row keeps the --id-col columns and gets prediction, probabilities, decision, status,
    errors, warnings and imputed; rows that fail validation are kept, refused, with their
    errors. Nothing is written unless the whole run succeeds.
    """
    if scheduler is not None and engine != "dask":
        raise click.BadParameter("only the dask engine has a scheduler", param_hint="--scheduler")
    if master is not None and engine != "spark":
        raise click.BadParameter("only the spark engine has a master", param_hint="--master")
    options = {"ARTEFACT": "ARTEFACT_DIR", **ARTEFACT_OPTIONS}
    given = {
        "ARTEFACT": artefact_dir,
        "ALLOW_PICKLE": allow_pickle,
        "EXPECTED_SHA256": expected_sha256,
        "PROFILE": profile,
    }
    settings = settings_from_options(given, options)
    try:
        job, scorer = plan_job(
            settings,
            inputs,
            output,
            id_columns=id_columns,
            output_format=output_format,
            chunk_rows=chunk_rows,
            engine=engine,
            address=scheduler or master,
            force=force,
        )
        bar = TerminalProgress(unit="rows")
        done = 0
        bar(_STEP, 0, job.rows)

        def progress(rows: int) -> None:
            nonlocal done
            done = min(done + rows, job.rows)
            bar(_STEP, done, job.rows)

        with _stopped_cleanly():
            record = run_job(job, scorer, progress)
    except ConfigError as error:
        # A profile is checked against the artefact: named as the option, when it was one.
        if error.variable != PREFIX + "PROFILE" or profile is None:
            raise
        raise ConfigError(ARTEFACT_OPTIONS["PROFILE"], error.problem) from None
    if done < job.rows:
        bar(_STEP, job.rows, job.rows)
    if as_json:
        click.echo(json.dumps(record.to_dict(), indent=2))
    else:
        click.echo(summary(record, output))


@contextmanager
def _stopped_cleanly() -> Iterator[None]:
    """SIGTERM (a scheduler stopping the job) ends the run as Ctrl-C does: the staging
    directory is removed on the way out, and the exit code says which signal it was."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(number: int, frame: object) -> None:
        raise SystemExit(128 + number)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def summary(record: RunRecord, output: Path) -> str:
    """What a person reads at the end of a run: counts, where the output and record are."""
    rows = record.rows
    lines = [
        f"Scored {rows['in']:,} row(s) from {len(record.inputs)} file(s): "
        f"{rows['scored']:,} scored, {rows['refused']:,} refused",
        f"Output: {output} ({len(record.output['parts'])} {record.output['format']} part(s))",
        f"Run record: {output / RUN_RECORD}",
    ]
    for title, problems in (("Refused", record.errors), ("Warnings", record.warnings)):
        if problems:
            lines.append(f"{title}: {_most_frequent(problems)}")
    return "\n".join(lines)


def _most_frequent(problems: dict[str, dict[str, int]]) -> str:
    """The most frequent problems, with their rows, and how many more the record lists."""
    found = sorted(
        (
            (count, feature, problem)
            for feature, counts in problems.items()
            for problem, count in counts.items()
        ),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    text = "; ".join(f"{f} {p} ({c:,})" for c, f, p in found[:_SUMMARY_PROBLEMS])
    if len(found) > _SUMMARY_PROBLEMS:
        text += f"; {len(found) - _SUMMARY_PROBLEMS} more in the run record"
    return text
