"""How the CSV files of ``train``, ``package --train/--test`` and ``threshold --data`` are
read, and the data dictionary (``--features``), as options applied to a command as one
decorator each.

``table_options`` gathers ``--sep``, ``--encoding``, ``--decimal``, ``--na-values`` and
``--date`` into one ``table`` value (a :class:`~packager.training.TableOptions`, which checks
them); defaults come from it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from packager.training import TableOptions

__all__ = ["features_option", "table_options"]

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--sep",
        default=TableOptions.sep,
        show_default=True,
        help="The CSV separator: one character, '\\t' or tab for a tab.",
    ),
    click.option(
        "--encoding",
        default=TableOptions.encoding,
        show_default=True,
        help="The CSV encoding, e.g. latin-1 or cp1252 for a Western European export.",
    ),
    click.option(
        "--decimal",
        default=TableOptions.decimal,
        show_default=True,
        help="The decimal mark of numbers in the CSV ('.' or ',').",
    ),
    click.option(
        "--na-values",
        multiple=True,
        metavar="TEXT",
        help="Cell text that marks a missing value, besides empty cells and NA (repeatable).",
    ),
    click.option(
        "--date",
        "dates",
        multiple=True,
        metavar="COLUMN",
        help="A column of dates, read as COLUMN_days (since 1970-01-01) and COLUMN_weekday "
        "(repeatable).",
    ),
)
_TABS = ("\\t", "tab", "TAB")


def table_options(command: F) -> F:
    """How the CSV files are read, passed to ``command`` as one ``table`` value."""

    @functools.wraps(command)
    def gather(**kwargs: Any) -> Any:
        sep = kwargs.pop("sep")
        table = TableOptions(
            sep="\t" if sep in _TABS else sep,
            encoding=kwargs.pop("encoding"),
            decimal=kwargs.pop("decimal"),
            na_values=kwargs.pop("na_values"),
            dates=kwargs.pop("dates"),
        )
        return command(table=table, **kwargs)

    decorated = cast(F, gather)
    for option in reversed(_OPTIONS):
        decorated = option(decorated)
    return decorated


features_option = click.option(
    "--features",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="The data dictionary (.csv, .yaml or .json): each feature's unit, description, "
    "plausible limits, and whether it is categorical, integer, nullable or an identifier.",
)
"""`--features`: the data dictionary, for `package` and `train`."""
