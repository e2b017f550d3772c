"""The Spark engine: the Scorer run by ``mapInPandas`` on a Spark session, parts renamed.

``--master URL`` starts a session on that master, else on ``local[*]``; inside a running
Spark application (a session already active in this process) that session is used and left
running. A session started here has its web UI and console progress bar off, and is stopped
at the end even on failure. Its Python workers run this interpreter (``PYSPARK_PYTHON`` is
set to it when unset), so they find the same pandas, scikit-learn and deployml.

The artefact is shipped with ``SparkContext.addFile(..., recursive=True)`` under a name made
from its hash, found on each executor with ``SparkFiles.get`` and read with
``scorer.at(copy)``; the hash pinned in the Scorer makes any other copy fail to load. The
Scorer loads the model once per Python worker process (Spark reuses them between tasks).

Spark plans its file splits by size, not in the order the files were given, so the parts do
not keep the input order across files: match rows by an id column (``--id-col``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from server.batch.cluster import (
    copy_name,
    failed,
    partitions_wanted,
    shipped_artefact,
    split_bytes,
)
from server.batch.errors import ExtraMissingError
from server.batch.job import EngineRun, Job, Progress
from server.batch.sinks import part_path

if TYPE_CHECKING:
    from server.batch.scorer import Scorer

__all__ = ["SPARK_TYPES", "run", "versions"]

EXTRA = "spark"
DEFAULT_MASTER = "local[*]"
# The Scorer's output dtypes as Spark SQL types (pyspark.sql.types' class names).
SPARK_TYPES = {
    "Int64": "LongType",
    "Float64": "DoubleType",
    "boolean": "BooleanType",
    "string": "StringType",
}
# pyspark 4 warns that it does not yet fully support pandas 3; the conversions used here
# (Arrow batches of text, numbers and booleans) are the ones the engine's tests prove.
_PANDAS_WARNING = "PySpark does not yet fully support pandas"
# Spark's CSV quoting made RFC 4180's, as pandas reads and writes it.
_CSV = {"header": "true", "quote": '"', "escape": '"'}
_SPLIT_BYTES = "spark.sql.files.maxPartitionBytes"
_BATCH_ROWS = "spark.sql.execution.arrow.maxRecordsPerBatch"
_POLL_SECONDS = 0.5


def versions() -> dict[str, str]:
    """pyspark's version; ExtraMissingError naming the extra when it is not installed."""
    try:
        import pyarrow  # noqa: F401  (mapInPandas moves its batches through Arrow)
        import pyspark
    except ImportError as error:
        raise ExtraMissingError("the spark engine", error.name or "pyspark", EXTRA) from None
    return {"pyspark": pyspark.__version__}


def run(job: Job, scorer: Scorer, staging: Path, progress: Progress) -> EngineRun:
    """Score ``job``'s inputs on a Spark session; its part files renamed into ``staging``."""
    found = versions()
    artefact = shipped_artefact(scorer)
    dtypes = scorer.output_dtypes
    rows = sum(source.rows for source in job.inputs)
    settings = {_SPLIT_BYTES: str(split_bytes(job)), _BATCH_ROWS: str(job.chunk_rows)}
    with _quiet(), _session(job.address) as spark, _conf(spark, settings):
        shared = scorer.sharing_cores(_slots_per_machine(spark))
        copy = _ship(spark, artefact, copy_name(scorer))
        frame = _needed(_read(spark, job), [*scorer.feature_names, *scorer.id_columns])
        if job.inputs[0].format == "parquet" and _row_groups(job) < partitions_wanted(job):
            # A row group is read by one task: spread files of a few large groups.
            frame = frame.repartition(partitions_wanted(job))
        counted = spark.sparkContext.accumulator(0)
        scored = frame.mapInPandas(
            partial(_score_batches, scorer=shared, copy=copy, counted=counted),
            _schema(frame, scorer.id_columns, dtypes),
        )
        written = staging / "_spark"
        with _reporting(counted, rows, progress):
            try:
                _write(scored, written, job.output_format)
            except Exception as error:
                raise failed("spark", error) from error
        parts = _rename_parts(written, staging, job.output_format)
        master = spark.sparkContext.master
    return EngineRun(parts=parts, partitions=parts, address=master, versions=found)


@contextmanager
def _reporting(counted: Any, rows: int, progress: Progress) -> Iterator[None]:
    """Rows scored, as the executors' counts reach the driver (each task's at its end)."""
    reported = 0
    stop = threading.Event()

    def report() -> None:
        nonlocal reported
        # A task run twice (speculation, a retry) may count twice: never past the input.
        now = min(int(counted.value), rows)
        if now > reported:
            progress(now - reported)
            reported = now

    def poll() -> None:
        while not stop.wait(_POLL_SECONDS):
            report()

    poller = threading.Thread(target=poll, name="deployml-spark-progress", daemon=True)
    poller.start()
    try:
        yield
    finally:
        stop.set()
        poller.join()
    report()


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
        yield


@contextmanager
def _session(master: str | None) -> Iterator[Any]:
    """The session already active in this process (left running), else one started here."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    # Spark starts its Python workers with this interpreter, read when the session starts.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(master or DEFAULT_MASTER)
        .appName("deployml score")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.log.level", "ERROR")
        .getOrCreate()
    )
    try:
        yield spark
    finally:
        spark.stop()


@contextmanager
def _conf(spark: Any, values: dict[str, str]) -> Iterator[None]:
    """Session settings for the run; a caller's session gets its own back afterwards."""
    before = {key: spark.conf.get(key, None) for key in values}
    for key, value in values.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _ship(spark: Any, artefact: Path, name: str) -> str:
    """Add a copy of the artefact named after its hash: the name executors find it by.

    The name carries the hash because Spark refuses a second directory of one name with
    other contents. Executors that join later fetch it, so the copy stays until this process
    exits.
    """
    holder = Path(tempfile.mkdtemp(prefix="deployml-spark-"))
    atexit.register(shutil.rmtree, holder, ignore_errors=True)
    shutil.copytree(artefact, holder / name)
    spark.sparkContext.addFile(str(holder / name), recursive=True)
    return name


def _slots_per_machine(spark: Any) -> int:
    """The Python workers one machine runs at once: every task slot in local mode, else an
    executor's cores (Spark's ``spark.executor.cores``, 1 unless set)."""
    context = spark.sparkContext
    if context.master.startswith("local"):
        return int(context.defaultParallelism)
    return int(context.getConf().get("spark.executor.cores", "1"))


def _row_groups(job: Job) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(source.path).metadata.num_row_groups for source in job.inputs)


def _read(spark: Any, job: Job) -> Any:
    paths = [str(source.path) for source in job.inputs]
    if job.inputs[0].format == "csv":
        # Every column read as text, an empty cell as null: the Scorer reads cells_are_text.
        return spark.read.options(**_CSV, inferSchema="false").csv(paths)
    return spark.read.parquet(*paths)


def _needed(frame: Any, columns: Sequence[str]) -> Any:
    """Only the columns the run uses: the others never cross to the Python workers. One the
    checks found but the file no longer has is left for the Scorer to name, as it names it."""
    from pyspark.sql import functions

    present = set(frame.columns)
    # Backquoted, so that a name holding a dot is a column, not a field of a struct.
    quoted = [
        "`" + name.replace("`", "``") + "`" for name in dict.fromkeys(columns) if name in present
    ]
    return frame.select(*(functions.col(name) for name in quoted))


def _schema(frame: Any, id_columns: Sequence[str], dtypes: dict[str, str]) -> Any:
    """The Spark schema of the scored rows: the id columns' own types, then the outputs'."""
    from pyspark.sql import types

    fields = [frame.schema[name] for name in id_columns]
    fields += [
        types.StructField(name, getattr(types, SPARK_TYPES[dtype])(), nullable=True)
        for name, dtype in dtypes.items()
    ]
    return types.StructType(fields)


def _score_batches(
    batches: Iterable[pd.DataFrame], *, scorer: Scorer, copy: str, counted: Any
) -> Iterator[pd.DataFrame]:
    from pyspark import SparkFiles

    shipped = scorer.at(Path(SparkFiles.get(copy)))
    for batch in batches:
        yield shipped.score(batch)
        counted.add(len(batch))


def _write(scored: Any, directory: Path, output_format: str) -> None:
    writer = scored.write.mode("errorifexists")
    if output_format == "csv":
        writer.options(**_CSV).csv(str(directory))
    else:
        writer.parquet(str(directory))


def _rename_parts(written: Path, staging: Path, output_format: str) -> int:
    """Spark's part files moved into ``staging`` as part-NNNNN.<ext>; its markers dropped."""
    parts = sorted(p for p in written.iterdir() if p.name.startswith("part-"))
    for index, part in enumerate(parts):
        part.replace(part_path(staging, index, output_format))
    shutil.rmtree(written)
    return len(parts)
