"""Text read as the values a request would send: a table's cells (CSV bodies, CSV files), and
a columnar JSON body of numbers straight into floats.

An empty cell is null; a number feature's cell a number (whole as an integer, as written); a
boolean's ``true``/``false``/``1``/``0``; a category's the training category it spells (``2``
for a category of numbers). A cell that cannot be read so stays text, which the validator
refuses by row and feature, like a string sent for a number; a category never seen in
training goes on, to be warned about or refused as in JSON. A column that is no feature stays
text. Numbers are read a column at a time by numpy, other kinds once per distinct text.

:func:`columnar_numbers` reads a whole columnar body with simdjson, its ``data`` into one
float matrix, and :func:`number_rows` a ``data`` array alone (for a body msgspec has read). No
Python float is made per value, as msgspec and orjson make them (and copy, and free): a body
of 10,000 rows of 30 numbers takes 6.3 ms whole, 8.0 ms as msgspec's pass and then
:func:`number_rows`, and 9 ms for msgspec to make its floats alone (in-process, one run).
The numbers are the same to the bit: both read JSON numbers correctly rounded, and simdjson
refuses whatever it would read otherwise (a number beyond 64-bit integers or doubles).
Anything but rows of exactly ``width`` numbers gives None, for the caller to read the way
that words each problem.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
import simdjson

from packager.artefact import FeatureSpec, value_from_text

__all__ = ["Columnar", "column_from_text", "columnar_numbers", "number_rows"]

_NUMBERS = ("number", "integer")
_OPEN = ord("[")
_BOM = b"\xef\xbb\xbf"
_COLUMNAR = frozenset({"columns", "data"})
# A simdjson parser keeps the buffers of the largest document it has read, and refuses to
# parse while arrays of its last document are alive: one per thread.
_PARSERS = threading.local()


def column_from_text(texts: Sequence[str], feature: FeatureSpec | None) -> list[Any]:
    """One column's cells as JSON values (text, for a column that is not a feature)."""
    cells = np.array(texts, dtype=str)
    empty = cells == ""
    if feature is None:
        values = np.array(texts, dtype=object)
    elif feature.kind in _NUMBERS:
        values = _numbers(cells, empty)
    else:
        found, inverse = np.unique(cells, return_inverse=True)
        read = np.empty(len(found), dtype=object)
        read[:] = [_cell(str(text), feature) for text in found]
        values = read[inverse.reshape(-1)]
    values[empty] = None
    result: list[Any] = values.tolist()
    return result


def _numbers(cells: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Numbers as written: whole ones as integers, others as floats, unreadable ones as text."""
    filled = np.where(empty, "0", cells)
    for kind in (np.int64, np.float64):
        try:
            return filled.astype(kind).astype(object)
        except (ValueError, OverflowError):
            continue
    # Some cell is not a number: read each, keeping the others' text for the validator.
    values = np.empty(len(cells), dtype=object)
    values[:] = [_number(str(text)) for text in filled]
    return values


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _cell(text: str, feature: FeatureSpec) -> Any:
    """A boolean's or a category's cell, as ``value_from_text`` reads it; a text it refuses
    stays text, or a number for a category of numbers (the validator judges either)."""
    if text == "":
        return None
    try:
        return value_from_text(text, feature)
    except ValueError:
        pass
    if feature.kind == "category" and any(
        isinstance(c, int | float) and not isinstance(c, bool) for c in feature.categories or ()
    ):
        return _number(text)
    return text


def number_rows(raw: Any, width: int) -> np.ndarray | None:
    """A JSON array of rows of ``width`` numbers as a float64 matrix (rows by width); None
    for any other JSON, or a number simdjson will not read as a double."""
    return _parsed(raw, lambda document: _matrix(document, width), arrays_around=1)


def columnar_numbers(body: bytes, width: int, options: Collection[str]) -> Columnar | None:
    """A whole columnar body of numbers, ``{"columns": [...], "data": [[...], ...]}`` and
    any of ``options`` as a string, boolean or null: its column names, float matrix and
    options. None for any other body, without parsing one with a second brace ``{`` (an
    ``instances`` body) at all.

    It spares a columnar body msgspec's pass over ``data`` before simdjson's. What it
    refuses goes the msgspec way, which reads it the same or words its problems: a key
    twice (simdjson would take the first), an option of another kind, a column name with a
    bracket or a brace, or a lone surrogate escape."""
    if body.find(b"{", body.find(b"{") + 1) >= 0:  # memchr: an instances body has more
        return None
    if body.startswith(_BOM):  # simdjson skips it; orjson and msgspec refuse the body
        return None
    return _parsed(body, lambda document: _columnar(document, width, options), arrays_around=2)


class Columnar(NamedTuple):
    """A columnar body read whole: its column names as sent, matrix and options."""

    columns: list[str]
    matrix: np.ndarray
    options: dict[str, Any]


def _columnar(document: Any, width: int, options: Collection[str]) -> Columnar | None:
    if not isinstance(document, simdjson.Object):
        return None
    keys = list(document.keys())
    found = set(keys)
    if len(found) != len(keys) or not found >= _COLUMNAR or not found - _COLUMNAR <= set(options):
        return None
    columns, data = document["columns"], document["data"]
    if not isinstance(columns, simdjson.Array):
        return None
    names: list[Any] = columns.as_list()
    given = {key: document[key] for key in found - _COLUMNAR}
    if not all(type(name) is str for name in names) or not all(
        value is None or type(value) in (str, bool) for value in given.values()
    ):
        return None
    matrix = _matrix(data, width)
    return None if matrix is None else Columnar(names, matrix, given)


def _matrix(document: Any, width: int) -> np.ndarray | None:
    """A simdjson array of rows of ``width`` numbers as a matrix; the caller counts its
    brackets, which show an array inside a row."""
    if not isinstance(document, simdjson.Array):
        return None
    rows = len(document)
    if not all(isinstance(row, simdjson.Array) and len(row) == width for row in document):
        return None
    flat = np.frombuffer(document.as_buffer(of_type="d"), dtype=np.float64)
    return flat.reshape(rows, width) if flat.size == rows * width else None


_Read = TypeVar("_Read", np.ndarray, Columnar)


def _parsed(raw: Any, read: Callable[[Any], _Read | None], *, arrays_around: int) -> _Read | None:
    """What ``read`` makes of the JSON ``raw`` (None for JSON simdjson refuses), if ``raw``
    holds no array but the rows and ``arrays_around`` more: as_buffer flattens arrays inside
    rows, so that a row [1, [2]] has two values and length two, and only the count of its
    brackets shows it."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = simdjson.Parser()
    try:
        got = read(parser.parse(raw))
    except (TypeError, ValueError):  # not numbers, or not JSON
        return None
    except RuntimeError:  # the parser still holds a document: a new one next time
        _PARSERS.parser = None
        return None
    if got is None:
        return None
    rows = len(got.matrix if isinstance(got, Columnar) else got)
    brackets = np.count_nonzero(np.frombuffer(raw, np.uint8) == _OPEN)
    return got if brackets == rows + arrays_around else None
