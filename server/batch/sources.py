"""A batch run's inputs: paths and globs to files, each checked and counted before any work.

``find_inputs`` expands the ``--input`` patterns (a missing match names its pattern);
``input_format`` tells CSV from Parquet by suffix and refuses a mix; ``read_inputs`` reads each
file's header (CSV) or schema (Parquet) against the columns the run needs, and counts its rows
and hashes its bytes in one pass, so the run manifest can name exactly what was scored.
``read_chunks`` streams a file in chunks of a given number of rows for the local engine.

CSV is read as UTF-8 text, comma-separated, every cell a string (``dtype=str``, no NA
guessing: an empty cell is the empty string, which the scorer reads as null); Parquet with
pyarrow, its columns typed. Errors name files, patterns and the schema's column names; a
cell's text never appears in one (pandas' own messages can quote a line, so they are not
passed on).
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from server.batch.errors import (
    ExtraMissingError,
    InputFileError,
    InputFormatError,
    MissingColumnsError,
    NoInputMatchError,
)

__all__ = [
    "FORMATS",
    "InputFile",
    "find_inputs",
    "id_types",
    "input_format",
    "read_chunks",
    "read_inputs",
    "require_pyarrow",
]

# The formats read and written, by the suffix that names them.
FORMATS = {".csv": "csv", ".parquet": "parquet"}
CSV_ENCODING = "utf-8"
# Bytes read at a time when hashing, and rows at a time when counting a CSV's rows.
_BLOCK = 2**20
_COUNT_ROWS = 200_000
_MAGIC = frozenset("*?[")


@dataclass(frozen=True)
class InputFile:
    """One input file as checked before the run: what the run manifest records of it."""

    path: Path
    format: str
    rows: int
    sha256: str
    columns: tuple[str, ...]

    def to_record(self) -> dict[str, Any]:
        """The file as ``_run.json`` lists it (its columns are the schema's business)."""
        return {
            "path": str(self.path),
            "format": self.format,
            "rows": self.rows,
            "sha256": self.sha256,
        }


def find_inputs(patterns: Sequence[str]) -> list[Path]:
    """The files the patterns name, in the order given (a glob's matches sorted), once each."""
    found: dict[Path, Path] = {}
    for pattern in patterns:
        expanded = str(Path(pattern).expanduser())
        if _MAGIC.isdisjoint(expanded):
            matches = [expanded] if Path(expanded).exists() else []
        else:
            matches = sorted(m for m in glob.glob(expanded, recursive=True) if Path(m).is_file())
        if not matches:
            raise NoInputMatchError(pattern)
        for match in matches:
            path = Path(match)
            if path.is_dir():
                raise InputFileError(str(path), "is a directory; give its files, as DIR/*.csv")
            found.setdefault(path.resolve(), path)
    return list(found.values())


def input_format(paths: Sequence[Path]) -> str:
    """``csv`` or ``parquet``, by the files' suffixes; refused unless one format for all."""
    formats: dict[str, Path] = {}
    for path in paths:
        kind = FORMATS.get(path.suffix.lower())
        if kind is None:
            raise InputFormatError(
                f"{path} is not a CSV or Parquet file: input files must end in "
                f"{' or '.join(FORMATS)}"
            )
        formats.setdefault(kind, path)
    if len(formats) > 1:
        examples = " and ".join(f"{kind} ({path})" for kind, path in formats.items())
        raise InputFormatError(f"the inputs mix formats, {examples}: give files of one format")
    return next(iter(formats))


def require_pyarrow(needed_for: str) -> None:
    """Refuse at once when Parquet is needed and pyarrow is not installed."""
    if importlib.util.find_spec("pyarrow") is None:
        raise ExtraMissingError(needed_for, "pyarrow", "parquet")


def read_inputs(
    paths: Sequence[Path], features: Sequence[str], id_columns: Sequence[str] = ()
) -> list[InputFile]:
    """Each file checked (readable, its columns there), its rows counted and bytes hashed."""
    kind = input_format(paths)
    if kind == "parquet":
        require_pyarrow("reading Parquet")
    files = []
    for path in paths:
        columns = _parquet_columns(path) if kind == "parquet" else _csv_columns(path)
        _check_columns(path, columns, features, "feature")
        _check_columns(path, columns, id_columns, "id")
        rows = _parquet_rows(path) if kind == "parquet" else _csv_rows(path)
        files.append(InputFile(path, kind, rows, _sha256(path), columns))
    return files


def read_chunks(file: InputFile, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """``columns`` of ``file``, ``chunk_rows`` rows at a time: CSV as text, Parquet typed."""
    wanted = list(dict.fromkeys(columns))
    if file.format == "parquet":
        import pyarrow.parquet as pq

        with _reading(file.path), pq.ParquetFile(file.path) as parquet:
            for batch in parquet.iter_batches(batch_size=chunk_rows, columns=wanted):
                yield batch.to_pandas()
        return
    # Every column is parsed (not usecols), so that a row with more cells than the header is
    # refused rather than read shifted.
    with _reading(file.path), _csv(file.path, chunksize=chunk_rows) as reader:
        for chunk in reader:
            yield chunk[wanted]


def id_types(files: Sequence[InputFile], id_columns: Sequence[str]) -> dict[str, Any]:
    """The Arrow type of each id column: text from CSV, the files' own type from Parquet,
    which must be the same in every file (a part's schema is fixed before it is written)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not files or files[0].format == "csv":
        return {column: pa.string() for column in id_columns}
    types: dict[str, Any] = {}
    for file in files:
        with _reading(file.path):
            schema = pq.read_schema(file.path)
        for column in id_columns:
            kind = schema.field(column).type
            if types.setdefault(column, kind) != kind:
                raise InputFormatError(
                    f"id column {column} is {types[column]} in {files[0].path} but {kind} in "
                    f"{file.path}: give files whose id columns have one type"
                )
    return types


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turns a failure to read ``path`` into an InputFileError without the library's text."""
    try:
        yield
    except InputFileError:
        raise
    except Exception as error:
        problem = _problem(error)
        if problem is None:
            raise
        raise InputFileError(str(path), problem) from None


def _problem(error: BaseException) -> str | None:
    """How a read failed, in words that hold none of the file's text; None: not a read failure."""
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, IsADirectoryError):
        return "is a directory"
    if isinstance(error, UnicodeDecodeError):
        return f"not {CSV_ENCODING.upper()} text"
    if isinstance(error, pd.errors.EmptyDataError):
        return "empty: no header line"
    if isinstance(error, pd.errors.ParserError):
        return "not well-formed CSV (a row with more cells than the header, or an open quote)"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    if type(error).__module__.startswith("pyarrow"):
        return f"not a readable Parquet file ({type(error).__name__})"
    return None


def _csv(path: Path, **options: Any) -> Any:
    return pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        encoding=CSV_ENCODING,
        engine="c",
        **options,
    )


def _csv_columns(path: Path) -> tuple[str, ...]:
    with _reading(path):
        header = _csv(path, nrows=0)
    return tuple(str(c) for c in header.columns)


def _csv_rows(path: Path) -> int:
    # Counted by the same parser that reads the chunks, so quoted line breaks count as pandas
    # counts them; one column is kept (ten times faster than all). A row with more cells than
    # the header passes here; read_chunks, reading every column, refuses it.
    rows = 0
    with _reading(path), _csv(path, usecols=[0], chunksize=_COUNT_ROWS) as reader:
        for chunk in reader:
            rows += len(chunk)
    return rows


def _parquet_columns(path: Path) -> tuple[str, ...]:
    import pyarrow.parquet as pq

    with _reading(path):
        schema = pq.read_schema(path)
    return tuple(schema.names)


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    with _reading(path):
        metadata = pq.read_metadata(path)
    return int(metadata.num_rows)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with _reading(path), path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _check_columns(path: Path, columns: Sequence[str], needed: Sequence[str], what: str) -> None:
    present = set(columns)
    missing = [name for name in needed if name not in present]
    if missing:
        raise MissingColumnsError(str(path), missing, what)
