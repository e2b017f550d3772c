"""The errors of batch scoring: the branch of deployml's one error tree (drawn in
``packager/errors.py``) that ``deployml score`` adds. Messages name files, columns of the
schema and counts, never a cell's value.

    BatchError                   a scoring run cannot start, or did not finish (nothing written)
    ├── MissingColumnsError      a table lacks feature (or id) columns, named
    ├── ModelNotReadyError       the artefact failed its self-test: no row is scored with it
    ├── NoInputMatchError        a path or glob given to --input matches no file
    ├── InputFileError           an input cannot be read: missing, unreadable, malformed
    ├── InputFormatError         not .csv/.parquet, CSV and Parquet mixed, id types that differ
    ├── IdColumnError            an id column named like an output column, or given twice
    ├── OutputPathError          the output's parent is missing, or it holds an input
    ├── ExtraMissingError        Parquet, Dask or Spark asked for without its extra
    └── RowCountError            the parts hold another number of rows than the inputs

An output that exists without ``--force`` is the tree's
:class:`~packager.errors.OutputExistsError`, as for ``package``.
"""

from __future__ import annotations

from collections.abc import Sequence

from packager.errors import DeploymlError

__all__ = [
    "BatchError",
    "ExtraMissingError",
    "IdColumnError",
    "InputFileError",
    "InputFormatError",
    "MissingColumnsError",
    "ModelNotReadyError",
    "NoInputMatchError",
    "OutputPathError",
    "RowCountError",
]


class BatchError(DeploymlError):
    """A scoring run cannot start or did not finish; it leaves no output behind."""


class MissingColumnsError(BatchError):
    """A table lacks columns the run needs: the model's features, or the id columns asked for."""

    def __init__(self, where: str, missing: Sequence[str], what: str = "feature") -> None:
        shown = ", ".join(missing[:10])
        if len(missing) > 10:
            shown += f" and {len(missing) - 10} more"
        plural = "s" if len(missing) > 1 else ""
        super().__init__(f"{where} lacks {len(missing)} {what} column{plural}: {shown}")
        self.where = where
        self.missing = list(missing)
        self.what = what


class ModelNotReadyError(BatchError):
    """The artefact loads but fails its self-test, as a server would say at /readyz."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}; no row was scored with this model")
        self.path = path
        self.reason = reason


# --- The files of a run (sources, sinks, job) ---


class NoInputMatchError(BatchError):
    """A path or glob given as an input matches no file."""

    def __init__(self, pattern: str) -> None:
        super().__init__(f"no input file matches {pattern}")
        self.pattern = pattern


class InputFileError(BatchError):
    """An input file cannot be read (missing, unreadable, not UTF-8, malformed); the problem
    is deployml's wording or the system's, never the file's text."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"cannot read input {path}: {problem}")
        self.path = path
        self.problem = problem


class InputFormatError(BatchError):
    """An input is not a CSV or Parquet file by its suffix, or the inputs mix the two."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class IdColumnError(BatchError):
    """An id column named like one of the columns the scorer adds, or given twice."""

    def __init__(self, column: str, problem: str) -> None:
        super().__init__(f"--id-col {column}: {problem}")
        self.column = column
        self.problem = problem


class OutputPathError(BatchError):
    """The output directory cannot be made where it was asked for."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"output {path}: {problem}")
        self.path = path
        self.problem = problem


class ExtraMissingError(BatchError):
    """A run needs a package of an extra that is not installed (pyarrow, dask, pyspark)."""

    def __init__(self, needed_for: str, package: str, extra: str) -> None:
        super().__init__(
            f"{needed_for} needs {package}, which is not installed: pip install 'deployml[{extra}]'"
        )
        self.needed_for = needed_for
        self.package = package
        self.extra = extra


class RowCountError(BatchError):
    """The parts written hold another number of rows than the inputs: the run is failed."""

    def __init__(self, rows_in: int, rows_out: int) -> None:
        super().__init__(
            f"the inputs hold {rows_in:,} rows but {rows_out:,} were written; "
            "the run failed and nothing was written"
        )
        self.rows_in = rows_in
        self.rows_out = rows_out
