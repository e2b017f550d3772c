"""Where a batch run writes: a staging directory, its part files, and the rename that finishes.

A run writes into ``.NAME.partial-RUNID`` beside the output (the same file system, so the
final rename is atomic), one part at a time (``part-00000.parquet``, ...). Only when every
part is written and counted does :func:`finish` rename it to the output; with ``--force`` an
existing output is moved aside first and deleted only once the new one is in place. Any
failure removes the staging directory (:func:`discard`), so nothing half-written ever sits
where the output belongs.

:class:`PartWriter` writes a part chunk by chunk: Parquet through one ``ParquetWriter`` whose
schema is fixed before the first chunk (:func:`output_schema`: the id columns' input types,
then the scorer's added columns), so every chunk of every part has the same types; CSV with
one header. :func:`read_totals` reads back only ``status``, ``errors``, ``warnings`` and
``imputed``, a part at a time, to count what the run did.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import pandas as pd

from packager.errors import OutputExistsError
from server.batch.errors import OutputPathError

__all__ = [
    "PART_PREFIX",
    "PartWriter",
    "Totals",
    "check_output",
    "discard",
    "finish",
    "make_staging",
    "output_schema",
    "part_path",
    "part_paths",
    "read_totals",
]

PART_PREFIX = "part-"
SUFFIXES = {"parquet": ".parquet", "csv": ".csv"}
# The columns job.py reads back to count a run: never the outputs or the id columns.
COUNTED = ("status", "errors", "warnings", "imputed")
_READ_BACK_ROWS = 200_000
# The scorer's pandas dtypes, as Arrow types.
_ARROW_TYPES = {"Int64": "int64", "Float64": "float64", "boolean": "bool", "string": "string"}


def check_output(output: Path, force: bool) -> None:
    """Refuse an output that exists (unless ``force``) or whose parent directory is missing."""
    parent = output.absolute().parent
    if not parent.is_dir():
        raise OutputPathError(str(output), f"its parent directory {parent} does not exist")
    if (output.exists() or output.is_symlink()) and not force:
        raise OutputExistsError(str(output))


def make_staging(output: Path, run_id: str) -> Path:
    """A fresh, empty directory beside ``output``, named so that it is clearly unfinished."""
    staging = output.absolute().parent / f".{output.name}.partial-{run_id}"
    staging.mkdir()
    return staging


def part_path(staging: Path, index: int, output_format: str) -> Path:
    """The part file number ``index``: ``part-00000.parquet``, ``part-00001.csv``..."""
    return staging / f"{PART_PREFIX}{index:05d}{SUFFIXES[output_format]}"


def part_paths(directory: Path, output_format: str) -> list[Path]:
    """The part files in ``directory``, in order."""
    return sorted(directory.glob(f"{PART_PREFIX}*{SUFFIXES[output_format]}"))


def finish(staging: Path, output: Path, force: bool) -> None:
    """Rename the finished staging directory to ``output``; an old one goes only after."""
    output = output.absolute()
    if not (output.exists() or output.is_symlink()):
        os.rename(staging, output)
        return
    if not force:
        raise OutputExistsError(str(output))
    aside = staging.with_name(staging.name.replace(".partial-", ".replaced-"))
    os.rename(output, aside)
    try:
        os.rename(staging, output)
    except BaseException:
        os.rename(aside, output)
        raise
    _remove(aside)


def discard(staging: Path) -> None:
    """Remove a staging directory and everything in it (a failed or interrupted run)."""
    _remove(staging)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def output_schema(id_types: Mapping[str, Any], output_dtypes: Mapping[str, str]) -> Any:
    """The Arrow schema of every Parquet part: the id columns' types, then the added columns."""
    import pyarrow as pa

    fields = [pa.field(name, kind) for name, kind in id_types.items()]
    fields += [
        pa.field(name, pa.type_for_alias(_ARROW_TYPES[dtype]))
        for name, dtype in output_dtypes.items()
    ]
    return pa.schema(fields)


class PartWriter:
    """One part file, written a chunk at a time; use as a context manager (closed on exit)."""

    def __init__(
        self, path: Path, output_format: str, columns: Sequence[str], schema: Any = None
    ) -> None:
        self.path = path
        self.output_format = output_format
        self.columns = list(columns)
        self.schema = schema
        self.rows = 0
        self._writer: Any = None
        self._header = True
        if output_format == "parquet":
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(path, schema)
        else:
            path.touch(exist_ok=False)

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows (in the schema's column order and types, for Parquet)."""
        if list(frame.columns) != self.columns:
            raise ValueError(f"a chunk's columns differ from the part's: {list(frame.columns)}")
        if self.output_format == "parquet":
            import pyarrow as pa

            table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
            self._writer.write_table(table)
        else:
            frame.to_csv(self.path, mode="a", header=self._header, index=False)
            self._header = False
        self.rows += len(frame)

    def close(self) -> None:
        """Finish the file (Parquet's footer); a CSV part without rows still gets a header."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        elif self.output_format == "csv" and self._header:
            pd.DataFrame(columns=self.columns).to_csv(self.path, index=False)
            self._header = False

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class Totals:
    """What the written parts hold: rows by status, problems per feature, imputed features."""

    rows: int = 0
    scored: int = 0
    refused: int = 0
    # Rows with each problem, by feature then problem: {"age": {"above training range": 3}}.
    errors: dict[str, Counter[str]] = field(default_factory=dict)
    warnings: dict[str, Counter[str]] = field(default_factory=dict)
    imputed: Counter[str] = field(default_factory=Counter)

    def add(self, chunk: pd.DataFrame) -> None:
        """Count a chunk of ``COUNTED`` columns."""
        self.rows += len(chunk)
        statuses = chunk["status"].value_counts()
        self.scored += int(statuses.get("scored", 0))
        self.refused += int(statuses.get("refused", 0))
        for name in ("errors", "warnings"):
            for text, count in _distinct(chunk[name]):
                for item in orjson.loads(text):
                    feature = str(item.get("feature") or "(row)")
                    problems = getattr(self, name).setdefault(feature, Counter())
                    problems[str(item.get("problem", ""))] += count
        for text, count in _distinct(chunk["imputed"]):
            for item in orjson.loads(text):
                self.imputed[str(item)] += count  # the feature's name

    def problems(self, name: str) -> dict[str, dict[str, int]]:
        """``errors`` or ``warnings`` as plain sorted dictionaries (for JSON)."""
        found: dict[str, Counter[str]] = getattr(self, name)
        return {f: dict(sorted(found[f].items())) for f in sorted(found)}


def _distinct(column: pd.Series) -> Iterator[tuple[str, int]]:
    # Each distinct JSON text parsed once: most rows share "[]" or a few lists.
    for text, count in column.dropna().value_counts().items():
        if str(text) not in ("", "[]"):
            yield str(text), int(count)


def read_totals(directory: Path, output_format: str) -> Totals:
    """Count the parts in ``directory``, reading only their ``COUNTED`` columns."""
    totals = Totals()
    for path in part_paths(directory, output_format):
        for chunk in _counted_chunks(path, output_format):
            totals.add(chunk)
    return totals


def _counted_chunks(path: Path, output_format: str) -> Iterator[pd.DataFrame]:
    if output_format == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as parquet:
            for batch in parquet.iter_batches(batch_size=_READ_BACK_ROWS, columns=list(COUNTED)):
                yield batch.to_pandas()
        return
    with pd.read_csv(
        path, usecols=list(COUNTED), dtype=str, keep_default_na=False, chunksize=_READ_BACK_ROWS
    ) as reader:
        yield from reader
