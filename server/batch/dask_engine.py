"""The Dask engine: the Scorer mapped over a Dask DataFrame's partitions, one part file each.

``--scheduler ADDRESS`` connects to a running cluster; without it a ``LocalCluster`` of one
worker process per core, one thread each, is started and closed again (even on failure).
One thread per process because scoring is pandas and scikit-learn code that holds the GIL
between short numpy calls: threads in one process would take turns, processes run side by
side, and each process holds one partition at a time. The model's OpenMP and BLAS threads are
a machine's cores shared out among the partitions it scores at once (``Scorer.sharing_cores``).

The artefact is shipped to every worker by a worker plugin (:class:`ArtefactCopy`) into the
worker's local directory, under a name made from its hash, and the Scorer reads that copy
(``scorer.at(copy)``); the hash pinned in the Scorer makes any other copy fail to load. The
model is loaded once per worker process: the Scorer caches its runtime per process.

Partitions keep the input order (files in the order given, rows in file order), so
``part-00000``, ``part-00001``, ... read back in order are the input rows in order. Input and
output paths must be reachable by every worker: always so on a local cluster; on a remote one,
a filesystem they share.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
from server.batch.sinks import PartWriter, output_schema, part_path
from server.batch.sources import CSV_ENCODING, id_types

if TYPE_CHECKING:
    from server.batch.scorer import Scorer

try:  # the extra may be missing: versions() refuses the run before the plugin is made
    from distributed import WorkerPlugin
except ImportError:
    WorkerPlugin = object  # type: ignore[misc,assignment]

__all__ = ["ArtefactCopy", "run", "versions"]

EXTRA = "dask"
LOCAL_HTTP = "127.0.0.1:0"


def versions() -> dict[str, str]:
    """dask's and distributed's versions; ExtraMissingError naming the extra if missing."""
    try:
        import dask
        import dask.dataframe
        import distributed
        import pyarrow  # noqa: F401  (Dask's strings, and the Parquet parts)
    except ImportError as error:
        raise ExtraMissingError("the dask engine", error.name or "dask", EXTRA) from None
    return {"dask": dask.__version__, "distributed": distributed.__version__}


def run(job: Job, scorer: Scorer, staging: Path, progress: Progress) -> EngineRun:
    """Score ``job``'s inputs on a Dask cluster, one part file in ``staging`` per partition."""
    found = versions()
    import dask
    from distributed import as_completed

    copy = ArtefactCopy(shipped_artefact(scorer), copy_name(scorer))
    columns = list(dict.fromkeys([*scorer.feature_names, *scorer.id_columns]))
    dtypes = scorer.output_dtypes
    schema = None
    if job.output_format == "parquet":
        schema = output_schema(id_types(job.inputs, scorer.id_columns), dtypes)
    with _client(job.address) as client:
        scorer = scorer.sharing_cores(_slots_per_machine(client))
        client.register_plugin(copy, name=copy.name)
        try:
            frame = _read(job, columns)
            scored = frame.map_partitions(
                _score_partition, scorer, copy.name, meta=_meta(frame, scorer.id_columns, dtypes)
            )
            writes = [
                dask.delayed(_write_part)(
                    part, part_path(staging, index, job.output_format), job.output_format, schema
                )
                for index, part in enumerate(scored.to_delayed())
            ]
            futures = client.compute(writes)
            try:
                for future in as_completed(futures):
                    progress(future.result())
            except Exception as error:
                client.cancel(futures)
                raise failed("dask", error) from error
        finally:
            # Best effort: a cluster that failed must not hide the run's own error.
            with suppress(Exception):
                client.unregister_worker_plugin(copy.name)
        address = job.address or client.scheduler.address
    return EngineRun(parts=len(writes), partitions=len(writes), address=address, versions=found)


class ArtefactCopy(WorkerPlugin):
    """A worker plugin: the artefact's files, written into each worker's local directory."""

    def __init__(self, artefact: Path, name: str) -> None:
        self.name = name
        self.files = {
            path.relative_to(artefact).as_posix(): path.read_bytes()
            for path in sorted(artefact.rglob("*"))
            if path.is_file()
        }

    def setup(self, worker: Any) -> None:
        """Write the files under ``<the worker's local directory>/<name>``, each whole."""
        root = Path(worker.local_directory) / self.name
        for relative, data in self.files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
            partial.write_bytes(data)
            partial.replace(target)

    def teardown(self, worker: Any) -> None:
        """Remove the copy: a shared cluster does not keep the model after the run."""
        shutil.rmtree(Path(worker.local_directory) / self.name, ignore_errors=True)


@contextmanager
def _client(address: str | None) -> Iterator[Any]:
    """A client of the cluster at ``address``, else of a local cluster closed on exit."""
    from distributed import Client, LocalCluster

    if address is not None:
        with Client(address) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=_cores(),
            threads_per_worker=1,
            processes=True,
            # The scheduler serves HTTP even without a dashboard, by default on port 8787
            # of every interface: here on a free port of this machine only.
            dashboard_address=LOCAL_HTTP,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _slots_per_machine(client: Any) -> int:
    """The most partitions one machine scores at once: its workers' threads added up."""
    slots: Counter[str] = Counter()
    for address, threads in client.nthreads().items():
        slots[urlsplit(address).hostname or address] += threads
    return max(slots.values(), default=1)


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _read(job: Job, columns: Sequence[str]) -> Any:
    """The inputs as one Dask DataFrame of about ``job.chunk_rows`` rows a partition, in order."""
    import dask.dataframe as dd

    paths = [str(source.path) for source in job.inputs]
    blocksize = split_bytes(job)
    if job.inputs[0].format == "csv":
        frame = dd.read_csv(
            paths,
            usecols=columns,
            dtype=str,
            keep_default_na=False,
            encoding=CSV_ENCODING,
            blocksize=blocksize,
        )
    else:
        frame = dd.read_parquet(
            paths, columns=columns, split_row_groups="adaptive", blocksize=blocksize
        )
    # A Parquet row group is never split on reading: a file of one large group is one
    # partition, cut here into slices so that scoring, the costly part, runs in parallel.
    wanted = partitions_wanted(job)
    if frame.npartitions < wanted:
        frame = frame.repartition(npartitions=wanted)
    return frame


def _meta(frame: Any, id_columns: Sequence[str], dtypes: dict[str, str]) -> pd.DataFrame:
    """The empty frame :meth:`Scorer.score` returns: the id columns' dtypes, then its own."""
    columns = {name: frame._meta[name] for name in id_columns}
    columns.update({name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()})
    return pd.DataFrame(columns)


def _score_partition(frame: pd.DataFrame, scorer: Scorer, copy: str) -> pd.DataFrame:
    from distributed import get_worker

    return scorer.at(Path(get_worker().local_directory) / copy).score(frame)


def _write_part(frame: pd.DataFrame, path: Path, output_format: str, schema: Any) -> int:
    with PartWriter(path, output_format, list(frame.columns), schema) as part:
        part.write(frame)
    return len(frame)
