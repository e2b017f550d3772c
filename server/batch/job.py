"""A batch run from start to end: every check before work, the engine, the count, the rename.

:func:`plan_job` does everything that can fail before a row is scored: the options, the
output's place, the inputs' patterns, formats, columns, rows and hashes, the extras the run
needs, and the artefact (the :class:`~server.batch.scorer.Scorer` refuses a broken one at
once). :func:`run_job` then gives the :class:`Job` to its engine, which writes part files
into a staging directory beside the output; it counts the parts back (rows in must equal rows
out), writes ``_run.json`` and renames the directory into place. Any failure, an interrupt
included, removes the staging directory: a failed run leaves nothing behind.

Engines are modules of this package with one function,
``run(job, scorer, staging, progress) -> EngineRun``, imported by name when chosen
(``ENGINES``), so that Dask and Spark are imported only by the runs that use them.
``progress(rows)`` is called with the rows an engine has just finished, when it can tell.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.batch.errors import ExtraMissingError, IdColumnError, OutputPathError, RowCountError
from server.batch.run_record import (
    ArtefactRef,
    RunRecord,
    new_run_id,
    package_versions,
    utc_now,
)
from server.batch.scorer import Scorer
from server.batch.sinks import (
    SUFFIXES,
    check_output,
    discard,
    finish,
    make_staging,
    part_paths,
    read_totals,
)
from server.batch.sources import (
    InputFile,
    find_inputs,
    input_format,
    read_inputs,
    require_pyarrow,
)
from server.settings import Settings

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "ENGINES",
    "EngineRun",
    "Job",
    "Progress",
    "plan_job",
    "run_job",
]

DEFAULT_CHUNK_ROWS = 50_000
# Each engine: its module in this package, and the package and extra it needs.
ENGINES: dict[str, tuple[str, str | None, str | None]] = {
    "local": ("local", None, None),
    "dask": ("dask_engine", "dask", "dask"),
    "spark": ("spark_engine", "pyspark", "spark"),
}
OUTPUT_FORMATS = tuple(SUFFIXES)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Job:
    """A checked run: what to read, where to write, how, and with which artefact."""

    inputs: list[InputFile]
    output: Path
    output_format: str
    chunk_rows: int
    engine: str
    address: str | None
    force: bool
    id_columns: tuple[str, ...] = ()
    settings: Settings = field(default_factory=Settings)
    artefact: ArtefactRef | None = None
    run_id: str = field(default_factory=new_run_id)

    @property
    def rows(self) -> int:
        """The rows of every input together."""
        return sum(file.rows for file in self.inputs)


@dataclass(frozen=True)
class EngineRun:
    """What an engine reports: partitions scored, where it ran, its packages' versions."""

    parts: int
    partitions: int
    address: str | None = None
    versions: dict[str, str] = field(default_factory=dict)


def plan_job(
    settings: Settings,
    patterns: Sequence[str],
    output: Path,
    *,
    id_columns: Sequence[str] = (),
    output_format: str = "parquet",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    engine: str = "local",
    address: str | None = None,
    force: bool = False,
    run_id: str | None = None,
) -> tuple[Job, Scorer]:
    """Check everything that can be checked before work; the job and its scorer."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if output_format not in OUTPUT_FORMATS or engine not in ENGINES:
        raise ValueError(f"unknown output format {output_format!r} or engine {engine!r}")
    check_output(output, force)
    paths = find_inputs(patterns)
    kind = input_format(paths)
    _check_inside(paths, output)
    if "parquet" in (kind, output_format):
        require_pyarrow(f"{'reading' if kind == 'parquet' else 'writing'} Parquet")
    _require_engine(engine)
    _check_unique(id_columns)
    run_id = run_id or new_run_id()
    scorer = Scorer(settings, id_columns=id_columns, cells_are_text=kind == "csv", run_id=run_id)
    if engine == "local":
        # The one scoring process here has every core; set before the model loads below.
        scorer = scorer.sharing_cores(1)
    for column in id_columns:
        if column in scorer.output_dtypes:
            raise IdColumnError(column, "the scored output has a column of that name already")
    default = scorer.runtime.profiles.default
    job = Job(
        inputs=read_inputs([p.absolute() for p in paths], scorer.feature_names, id_columns),
        output=output,
        output_format=output_format,
        chunk_rows=chunk_rows,
        engine=engine,
        address=address,
        force=force,
        id_columns=tuple(id_columns),
        settings=settings,
        artefact=ArtefactRef(
            settings.require_artefact().absolute(),
            scorer.sha256,
            scorer.model["name"],
            scorer.model["version"],
            None if default is None else default.name,
        ),
        run_id=run_id,
    )
    return job, scorer


def run_job(job: Job, scorer: Scorer, progress: Progress | None = None) -> RunRecord:
    """Score the job with its engine into a staging directory, count, record, rename."""
    started = utc_now()
    module = importlib.import_module(f"server.batch.{ENGINES[job.engine][0]}")
    staging = make_staging(job.output, job.run_id)
    try:
        ran: EngineRun = module.run(job, scorer, staging, progress or _ignore)
        totals = read_totals(staging, job.output_format)
        if totals.rows != job.rows or totals.scored + totals.refused != totals.rows:
            raise RowCountError(job.rows, totals.rows)
        record = RunRecord(
            run_id=job.run_id,
            artefact=_artefact(job),
            inputs=[file.to_record() for file in job.inputs],
            output={
                "path": str(job.output.absolute()),
                "format": job.output_format,
                "parts": [p.name for p in part_paths(staging, job.output_format)],
            },
            rows={"in": job.rows, "scored": totals.scored, "refused": totals.refused},
            errors=totals.problems("errors"),
            warnings=totals.problems("warnings"),
            imputed=dict(sorted(totals.imputed.items())),
            engine={"name": job.engine, "address": ran.address, "partitions": ran.partitions},
            versions={**package_versions(), **ran.versions},
            settings=_recorded_settings(job),
            started_at=started,
            ended_at=utc_now(),
            audit_log=None if job.settings.audit_log is None else str(job.settings.audit_log),
        )
        record.write(staging)
        finish(staging, job.output, job.force)
    except BaseException:
        discard(staging)
        raise
    return record


def _ignore(rows: int) -> None:
    return None


def _artefact(job: Job) -> ArtefactRef:
    if job.artefact is None:
        raise ValueError("a Job needs its artefact (plan_job sets it)")
    return job.artefact


def _recorded_settings(job: Job) -> dict[str, Any]:
    # Only the settings that change what a row's output is, and how the run was cut.
    return {
        "profile": _artefact(job).profile,
        "strict_categories": job.settings.strict_categories,
        "chunk_rows": job.chunk_rows,
        "id_columns": list(job.id_columns),
    }


def _require_engine(engine: str) -> None:
    _, package, extra = ENGINES[engine]
    if package is not None and extra is not None and importlib.util.find_spec(package) is None:
        raise ExtraMissingError(f"the {engine} engine", package, extra)


def _check_unique(id_columns: Sequence[str]) -> None:
    seen: set[str] = set()
    for column in id_columns:
        if column in seen:
            raise IdColumnError(column, "given twice")
        seen.add(column)


def _check_inside(paths: Sequence[Path], output: Path) -> None:
    # With --force the old output is deleted at the end: it must not hold what is read.
    root = output.absolute()
    for path in paths:
        if root in path.absolute().parents:
            raise OutputPathError(str(output), f"holds the input {path}; write elsewhere")
