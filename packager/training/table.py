"""Tables read from CSV files, with every way a file can fail turned into a clear error."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import pandas as pd

from packager.errors import CaptureError

__all__ = ["read_table"]


def read_table(
    path: str | os.PathLike[str], what: str, *, na_values: Sequence[str] = ()
) -> pd.DataFrame:
    """A CSV file as a DataFrame; ``what`` names it in errors (which never quote its cells).

    ``na_values`` are extra cell texts to read as missing, besides pandas' own ("", "NA", ...).
    """
    try:
        with warnings.catch_warnings():
            # index_col=False: a trailing comma on every row (a spreadsheet's export) is read
            # as the empty field it is; otherwise pandas takes the first column as the index
            # and moves every value one column on. A row with a real extra value warns.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            data = pd.read_csv(path, na_values=list(na_values) or None, index_col=False)
    except pd.errors.ParserWarning:
        raise CaptureError(
            f"{what} {path} has rows with more values than its header has columns"
        ) from None
    except FileNotFoundError:
        raise CaptureError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise CaptureError(f"{what} {path} is a directory, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise CaptureError(f"{what} {path} is empty") from None
    except UnicodeDecodeError:
        raise CaptureError(
            f"{what} {path} is not UTF-8 text; save it as UTF-8 CSV (a binary or "
            "spreadsheet file cannot be read either)"
        ) from None
    except (pd.errors.ParserError, ValueError) as error:
        raise CaptureError(
            f"{what} {path} cannot be read as CSV ({type(error).__name__})"
        ) from error
    except OSError as error:
        raise CaptureError(f"{what} {path} cannot be read: {error.strerror}") from None
    if data.empty:
        raise CaptureError(f"{what} {path} has no rows")
    return data
