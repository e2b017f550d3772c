"""Tables read from CSV files, with every way a file can fail turned into a clear error.

How a file is read is one :class:`TableOptions` value (``--sep``, ``--encoding``,
``--decimal``, ``--na-values`` and ``--date`` on the command line), the same for ``train``,
``package --train/--test`` and ``threshold --data``. Errors name the file, the option that
would help and counts, never a cell's text.
"""

from __future__ import annotations

import codecs
import os
import re
import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd

from packager.errors import CaptureError, DeploymlWarning
from packager.training.dates import with_dates

__all__ = ["TableOptions", "read_table"]

# Separators a one-column file is searched for in its header, with how to pass each.
_SEPARATORS = ((";", "';'"), ("\t", "'\\t'"), ("|", "'|'"), (",", "','"))
# A text column with this share of values like "3,75" is numbers with a decimal comma.
_DECIMAL_COMMA_SHARE = 0.9
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
_DECIMAL_MARKS = (".", ",")
# Byte-order marks and the encodings they announce (UTF-32's first, as it starts like UTF-16's).
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class TableOptions:
    """How to read a CSV file: its separator, encoding and decimal mark, the extra cell texts
    that mean missing (besides pandas' own: "", "NA", ...), and the columns holding dates
    (each parsed into ``COL_days`` and ``COL_weekday``; see :mod:`packager.training.dates`)."""

    sep: str = ","
    encoding: str = "utf-8"
    decimal: str = "."
    na_values: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "na_values", tuple(self.na_values))
        object.__setattr__(self, "dates", tuple(self.dates))
        if not isinstance(self.sep, str) or len(self.sep) != 1:
            raise CaptureError(f"--sep must be one character, not {self.sep!r}")
        # Any other mark reads every number with a point or comma as text, silently.
        if self.decimal not in _DECIMAL_MARKS:
            raise CaptureError(f"--decimal must be '.' or ',', not {self.decimal!r}")
        if self.sep == self.decimal:
            raise CaptureError(f"--sep and --decimal are both {self.sep!r}")
        try:
            codecs.lookup(self.encoding)
        except (LookupError, TypeError):
            raise CaptureError(
                f"--encoding {self.encoding!r} is not an encoding Python knows; try utf-8, "
                "latin-1 or cp1252"
            ) from None
        if len(set(self.dates)) != len(self.dates):
            raise CaptureError("--date names a column twice")

    def record(self) -> dict[str, Any]:
        """The options as the manifest's training record keeps them."""
        return {
            "sep": self.sep,
            "encoding": self.encoding,
            "decimal": self.decimal,
            "na_values": list(self.na_values),
            "dates": list(self.dates),
        }


def read_table(
    path: str | os.PathLike[str], what: str, options: TableOptions | None = None
) -> pd.DataFrame:
    """A CSV file as a DataFrame; ``what`` names it in errors (which never quote its cells)."""
    options = options or TableOptions()
    _check_byte_order_mark(path, what, options.encoding)
    try:
        with warnings.catch_warnings():
            # index_col=False: a trailing comma on every row (a spreadsheet's export) is read
            # as the empty field it is; otherwise pandas takes the first column as the index
            # and moves every value one column on. A row with a real extra value warns.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            data = pd.read_csv(
                path,
                sep=options.sep,
                encoding=options.encoding,
                decimal=options.decimal,
                na_values=list(options.na_values) or None,
                index_col=False,
            )
    except pd.errors.ParserWarning:
        raise CaptureError(
            f"{what} {path} has rows with more values than its header has columns"
            + _separator_hint(path, options)
        ) from None
    except FileNotFoundError:
        raise CaptureError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise CaptureError(f"{what} {path} is a directory, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise CaptureError(f"{what} {path} is empty") from None
    except UnicodeDecodeError:
        raise CaptureError(_undecodable(what, path, options.encoding)) from None
    except pd.errors.ParserError as error:
        # Decimal commas in a semicolon file read with commas: rows split into as many values
        # as each has commas, so their lengths differ as soon as one has an empty cell.
        if hint := _separator_hint(path, options):
            raise CaptureError(
                f"{what} {path} has rows with different numbers of values{hint}"
            ) from None
        raise CaptureError(
            f"{what} {path} cannot be read as CSV ({type(error).__name__})"
        ) from error
    except ValueError as error:
        raise CaptureError(
            f"{what} {path} cannot be read as CSV ({type(error).__name__})"
        ) from error
    except OSError as error:
        raise CaptureError(f"{what} {path} cannot be read: {error.strerror}") from None
    if data.empty:
        raise CaptureError(f"{what} {path} has no rows")
    _check_separator(data, what, path, options)
    _check_header(path, what, options)
    if options.decimal != ",":
        _warn_of_decimal_commas(data, what)
    return with_dates(data, options.dates, f"{what} {path}")


def _check_byte_order_mark(path: str | os.PathLike[str], what: str, encoding: str) -> None:
    """A file that starts with a byte-order mark says its encoding: read as another (latin-1
    reads any bytes), every column name and text would be garbled without an error."""
    try:
        with open(path, "rb") as file:
            start = file.read(4)
    except OSError:
        return  # read_csv says what is wrong with the path
    given = codecs.lookup(encoding).name
    for mark, family in _MARKS:
        if start.startswith(mark):
            if not given.startswith(family):
                raise CaptureError(
                    f"{what} {path} starts with a {family.upper()} byte-order mark, so it is "
                    f"{family.upper()} text, not {encoding}; pass --encoding {family}"
                )
            return


def _undecodable(what: str, path: str | os.PathLike[str], encoding: str) -> str:
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "UTF-8"
        hint = (
            "a file saved by a spreadsheet in Western Europe is usually Latin-1: pass "
            "--encoding latin-1 (or cp1252)"
        )
    else:
        hint = "pass its encoding with --encoding (latin-1 reads any bytes)"
    return (
        f"{what} {path} is not {encoding} text; {hint}. A spreadsheet (.xlsx) or other binary "
        "file cannot be read: save it as CSV"
    )


def _check_separator(data: pd.DataFrame, what: str, path: Any, options: TableOptions) -> None:
    """A file read as one column whose header holds another separator: say which to pass."""
    if data.shape[1] == 1 and (hint := _separator_hint(path, options)):
        raise CaptureError(f"{what} {path} reads as one column{hint}")


def _check_header(path: Any, what: str, options: TableOptions) -> None:
    """Two columns of one name: pandas would rename the second ``name.1`` without a word."""
    header = pd.read_csv(
        path, sep=options.sep, encoding=options.encoding, header=None, nrows=1, dtype=str
    )
    names = [str(name) for name in header.iloc[0] if isinstance(name, str)]
    if twice := sorted({name for name in names if names.count(name) > 1}):
        raise CaptureError(
            f"{what} {path} has more than one column named {', '.join(map(repr, twice))}; "
            "rename or remove the copies"
        )


def _separator_hint(path: Any, options: TableOptions) -> str:
    """``; its header holds ';': ...`` when the header holds another separator more often
    than the one given (decimal commas split rows read with commas); else nothing."""
    try:
        with open(path, encoding=options.encoding, errors="replace") as file:
            header = file.readline()
    except OSError:
        return ""
    for candidate, shown in _SEPARATORS:
        if candidate != options.sep and header.count(candidate) > header.count(options.sep):
            return f"; its header holds {shown}: is it separated by {shown}? pass --sep {shown}"
    return ""


def _warn_of_decimal_commas(data: pd.DataFrame, what: str) -> None:
    for name in data.columns:
        column = data[name]
        if pd.api.types.is_numeric_dtype(column.dtype):
            continue
        present = column.dropna()
        texts = present[present.map(lambda v: isinstance(v, str))]
        if len(texts) and texts.str.match(_DECIMAL_COMMA).mean() >= _DECIMAL_COMMA_SHARE:
            warnings.warn(
                DeploymlWarning(
                    f"column {name!r} of the {what} holds numbers with a decimal comma, read "
                    "as text; pass --decimal ',' to read them as numbers"
                ),
                stacklevel=3,
            )
