"""Date columns: parsed with ``--date`` into two numeric features, or found and named.

A date as text is nothing a model can use, and one-hot encoding its values would memorise
rows. ``--date COL`` replaces COL by ``COL_days`` (days since 1970-01-01, fractional when
the cells hold times) and ``COL_weekday`` (0 = Monday ... 6 = Sunday), in COL's place; a
missing cell stays missing, and a cell that does not parse is an error that counts them.
Their dictionary entries (:func:`with_date_entries`: unit, description, ``identifier: false``,
and for the weekday ``integer`` and limits 0 to 6) join the data dictionary as if the author
had written them; an author's own keys win. Without ``--date``, ``train`` leaves out a
text column that :func:`looks_like_dates`, and says so.

A format is inferred from the first cell, as pandas does; when some cells do not fit it, day
first (05.01.2020 is 5 January) and ISO 8601 are tried too, and the reading that parses most
cells is taken. Day-first dates whose days are all 12 or less read month first, and a warning
says so: write dates as ISO 8601 (2020-01-05) to be sure.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any

import numpy as np
import pandas as pd

from packager.capture import FeatureDictionary, FeatureEntry
from packager.errors import CaptureError, DeploymlWarning

__all__ = [
    "DATE_SHARE",
    "date_entries",
    "date_features",
    "looks_like_dates",
    "with_date_entries",
    "with_dates",
]

# A text column whose values parse as dates this often (of its non-missing cells) holds dates.
DATE_SHARE = 0.9
_EPOCH = pd.Timestamp("1970-01-01")
_DAY_FIRST: dict[str, Any] = {"dayfirst": True}
_ISO: dict[str, Any] = {"format": "ISO8601"}
_ATTEMPTS: tuple[dict[str, Any], ...] = ({}, _DAY_FIRST, _ISO)
# Without a four-digit year a text is not taken for a date ("3-4" or "Monday" would parse).
_YEAR = r"\d{4}"
_LIMITS_AND_INTEGER = ("integer", "min", "max")


def date_features(name: str) -> tuple[str, str]:
    """The two features ``--date name`` makes: days since 1970-01-01 and the weekday."""
    return f"{name}_days", f"{name}_weekday"


def with_dates(data: pd.DataFrame, dates: Sequence[str], what: str) -> pd.DataFrame:
    """``data`` with each of ``dates`` replaced, in its place, by its two date features."""
    if not dates:
        return data
    columns = [str(c) for c in data.columns]
    unknown = [name for name in dates if name not in columns]
    if unknown:
        raise CaptureError(
            f"--date names {', '.join(map(repr, unknown))}, not a column of the {what}"
        )
    for name in dates:
        taken = [made for made in date_features(name) if made in columns]
        if taken:
            raise CaptureError(f"--date {name} makes {taken[0]!r}, already a column of the {what}")
    parts: list[pd.DataFrame] = []
    for name, column in zip(columns, data.columns, strict=True):
        if name not in dates:
            parts.append(data[[column]])
            continue
        parsed, bad = _parse(data[column])
        if bad:
            raise CaptureError(
                f"--date {name}: {bad} of {int(data[column].notna().sum())} cells of the "
                f"{what} do not parse as dates; correct them, or leave them empty"
            )
        if _read_either_way(data[column], parsed):
            warnings.warn(
                DeploymlWarning(
                    f"--date {name}: every date of the {what} reads both month first and day "
                    "first (no day is above 12); they were read month first. If they are day "
                    "first, write them as ISO 8601 (2020-01-05)"
                ),
                stacklevel=3,
            )
        days, weekday = date_features(name)
        parts.append(pd.DataFrame({days: _days(parsed), weekday: _weekday(parsed)}))
    return pd.concat(parts, axis=1)


def looks_like_dates(column: pd.Series) -> bool:
    """Whether ``column`` holds dates: a datetime column, or text (nearly) all of which parses."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return True
    if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        return False
    present = column.dropna()
    texts = present[present.map(lambda v: isinstance(v, str))].astype(str)
    if texts.empty or len(texts) < DATE_SHARE * len(present):
        return False
    if texts.str.contains(_YEAR).mean() < DATE_SHARE:
        return False
    _, bad = _parse(texts)
    return bad <= (1 - DATE_SHARE) * len(present)


def date_entries(dates: Sequence[str]) -> dict[str, FeatureEntry]:
    """The dictionary entries of the features ``--date`` makes of each of ``dates``."""
    entries: dict[str, FeatureEntry] = {}
    for name in dates:
        days, weekday = date_features(name)
        described = f"from {name}, parsed with --date"
        # Days are nearly all distinct whole numbers, which alone would look like an id.
        entries[days] = FeatureEntry(
            unit="days since 1970-01-01", description=described, identifier=False
        )
        entries[weekday] = FeatureEntry(
            unit="day of the week, 0 = Monday ... 6 = Sunday",
            description=described,
            integer=True,
            min=0,
            max=6,
            identifier=False,
        )
    return entries


def with_date_entries(
    dictionary: FeatureDictionary | None, dates: Sequence[str], categorical: Sequence[str] = ()
) -> FeatureDictionary | None:
    """``dictionary`` with the entries of the date features added under the author's own.

    Where the author describes a date feature, each key they give wins; a key they leave out
    is filled in, but for limits and ``integer`` on a feature they call categorical or an
    identifier, or that ``categorical`` names (``train --categorical``), which exclude them.
    """
    if not dates:
        return dictionary
    entries = dict(dictionary.entries) if dictionary else {}
    for name, made in date_entries(dates).items():
        entries[name] = _under(entries.get(name) or FeatureEntry(), made, name in categorical)
    return FeatureDictionary(entries, dictionary.source if dictionary else "--date")


def _under(own: FeatureEntry, made: FeatureEntry, coded: bool) -> FeatureEntry:
    filled = {
        f.name: getattr(made, f.name)
        for f in fields(FeatureEntry)
        if getattr(own, f.name) is None and getattr(made, f.name) is not None
    }
    if coded or own.categorical or own.identifier:
        filled = {k: v for k, v in filled.items() if k not in _LIMITS_AND_INTEGER}
    return replace(own, **filled)


def _parse(column: pd.Series) -> tuple[pd.Series, int]:
    """``column`` as timestamps (naive), and how many of its present cells did not parse."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return _naive(column), 0
    present = column.notna()
    texts = _texts(column)
    best: tuple[pd.Series, int] | None = None
    for attempt in _ATTEMPTS:
        parsed = _to_datetime(texts, attempt)
        bad = int((parsed.isna() & present).sum())
        if best is None or bad < best[1]:
            best = (parsed, bad)
        if not bad:
            break
    assert best is not None
    return best


def _read_either_way(column: pd.Series, parsed: pd.Series) -> bool:
    """Whether ``parsed`` (every cell of ``column`` read, not as ISO 8601) is month first while
    day first reads every cell too, as something else: 03/04/2024 and the like."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return False
    texts = _texts(column)
    if _to_datetime(texts, _ISO).equals(parsed):
        return False
    day_first = _to_datetime(texts, _DAY_FIRST)
    return bool(day_first.notna().sum() == parsed.notna().sum() and not day_first.equals(parsed))


def _texts(column: pd.Series) -> pd.Series:
    """Cells as text for parsing: whole numbers such as 20200105 as their digits."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        whole = np.isfinite(values) & (values == np.round(values))
        return pd.Series(
            [str(int(v)) if ok else None for v, ok in zip(values, whole, strict=True)],
            index=column.index,
            dtype=object,
        )
    return column.astype(object).where(column.notna(), None)


def _to_datetime(texts: pd.Series, attempt: dict[str, Any]) -> pd.Series:
    with warnings.catch_warnings():
        # "Could not infer format" and the like: the count of cells that fail says enough.
        warnings.simplefilter("ignore")
        for utc in (False, True):
            try:
                return _naive(pd.to_datetime(texts, errors="coerce", utc=utc, **attempt))
            except (ValueError, TypeError, OverflowError):
                continue  # mixed time zones: read again in UTC
    return pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")


def _naive(parsed: pd.Series) -> pd.Series:
    if getattr(parsed.dt, "tz", None) is not None:
        return parsed.dt.tz_localize(None)
    return parsed


def _days(parsed: pd.Series) -> pd.Series:
    return (parsed - _EPOCH) / pd.Timedelta(days=1)


def _weekday(parsed: pd.Series) -> pd.Series:
    weekday = parsed.dt.day_of_week
    if weekday.isna().any():
        return weekday.astype(np.float64)
    return weekday.astype(np.int64)
