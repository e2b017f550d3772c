"""The data dictionary: what the model's author says each feature means and may hold.

A dictionary is optional. It is given to :func:`~packager.capture` as a mapping
(``features={"age": {"unit": "years", "min": 0, "max": 120}}``), or to ``package`` and
``train`` as a file (``--features features.yaml`` or ``.csv``). Each entry may say:

- ``unit`` and ``description``: text shown wherever the schema is (``/metadata``, the card,
  ``inspect``);
- ``min`` and ``max``: plausible limits. A request outside them is refused (422), unlike the
  training range, which only warns;
- ``categorical``: the numbers are codes (stage 1 to 4), checked like categories;
- ``integer``: only whole numbers are valid (else fractions are, whatever training held);
- ``nullable``: whether a request may leave the feature missing, overriding what training
  showed;
- ``identifier``: whether the column is a record identifier (``train`` leaves those out).

Every entry is checked here, on its own; whether it fits the data and the model is checked
where the schema is made (:mod:`packager.artefact.schema`). Errors name the source, the
feature and the key.
"""

from __future__ import annotations

import difflib
import json
import math
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from packager.errors import DictionaryError

__all__ = ["KEYS", "FeatureDictionary", "FeatureEntry", "as_dictionary", "read_dictionary"]

# The longest unit or description kept: a dictionary documents, it is not a manual.
MAX_TEXT = 1000
_TRUE = frozenset({"true", "yes", "1", "y"})
_FALSE = frozenset({"false", "no", "0", "n"})
_NAME_COLUMNS = ("name", "feature")
_SUFFIXES = {".csv": "csv", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}


@dataclass(frozen=True)
class FeatureEntry:
    """One feature's entry; ``None`` is "not said", so inference decides."""

    unit: str | None = None
    description: str | None = None
    min: float | None = None
    max: float | None = None
    categorical: bool | None = None
    integer: bool | None = None
    nullable: bool | None = None
    identifier: bool | None = None

    def declared(self) -> list[str]:
        """The keys this entry gives, in the order of :data:`KEYS`."""
        return [key for key in KEYS if getattr(self, key) is not None]


KEYS: tuple[str, ...] = tuple(f.name for f in fields(FeatureEntry))
_TEXT_KEYS = ("unit", "description")
_NUMBER_KEYS = ("min", "max")
_FLAG_KEYS = ("categorical", "integer", "nullable", "identifier")


@dataclass(frozen=True)
class FeatureDictionary:
    """Entries by feature name, and where they came from (named in errors)."""

    entries: Mapping[str, FeatureEntry]
    source: str = "the data dictionary"

    def entry(self, name: str) -> FeatureEntry:
        """The entry for ``name``; an empty one when the dictionary does not describe it."""
        return self.entries.get(name) or FeatureEntry()

    def check_names(self, known: Collection[str], what: str = "the model's features") -> None:
        """Refuse entries for names not in ``known`` (a typo would otherwise say nothing)."""
        unknown = [name for name in self.entries if name not in known]
        if not unknown:
            return
        close = [
            f"{name!r} (did you mean {match[0]!r}?)"
            if (match := difflib.get_close_matches(name, list(known), n=1, cutoff=0.75))
            else repr(name)
            for name in unknown[:10]
        ]
        more = f", and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise DictionaryError(self.source, f"describes {', '.join(close)}{more}, not among {what}")


def as_dictionary(given: Any, source: str = "features") -> FeatureDictionary | None:
    """``given`` (None, a :class:`FeatureDictionary` or a mapping of entries) as a dictionary."""
    if given is None or isinstance(given, FeatureDictionary):
        return given
    if not isinstance(given, Mapping):
        raise DictionaryError(
            source, f"must be a mapping of feature names to entries, not {type(given).__name__}"
        )
    return FeatureDictionary(_entries(given.items(), source), source)


def read_dictionary(path: str | os.PathLike[str]) -> FeatureDictionary:
    """A dictionary file: ``.yaml``/``.yml`` or ``.json`` (a mapping of names to entries, or a
    list of entries with a ``name``), or ``.csv`` (a ``name`` column and one column per key;
    an empty cell is "not said")."""
    file = Path(path)
    source = str(path)
    kind = _SUFFIXES.get(file.suffix.lower())
    if kind is None:
        raise DictionaryError(
            source, "is not a .csv, .yaml, .yml or .json file; name the file by its format"
        )
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DictionaryError(source, "does not exist") from None
    except IsADirectoryError:
        raise DictionaryError(source, "is a directory, not a file") from None
    except UnicodeDecodeError:
        raise DictionaryError(source, "is not UTF-8 text") from None
    except OSError as error:
        raise DictionaryError(source, f"cannot be read: {error.strerror}") from None
    if kind == "csv":
        return FeatureDictionary(_entries(_csv_rows(text, source), source), source)
    parsed = _json(text, source) if kind == "json" else _yaml(text, source)
    if isinstance(parsed, list):
        return FeatureDictionary(_entries(_listed(parsed, source), source), source)
    if not isinstance(parsed, Mapping):
        raise DictionaryError(
            source, "must hold a mapping of feature names to entries, or a list of entries"
        )
    return FeatureDictionary(_entries(parsed.items(), source), source)


def _yaml(text: str, source: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise DictionaryError(source, f"is not valid YAML{where}") from None


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DictionaryError(
            source, f"is not valid JSON (line {error.lineno}, column {error.colno})"
        ) from None


def _listed(items: list[Any], source: str) -> Iterable[tuple[Any, Any]]:
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or "name" not in item:
            raise DictionaryError(source, f"entry {i + 1} is not a mapping with a 'name'")
        entry = dict(item)
        yield entry.pop("name"), entry


def _csv_rows(text: str, source: str) -> Iterable[tuple[Any, dict[str, str]]]:
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text))
    header = [str(h).strip() for h in reader.fieldnames or []]
    name_column = next((h for h in header if h.lower() in _NAME_COLUMNS), None)
    if name_column is None:
        raise DictionaryError(source, "has no 'name' column naming each feature")
    unknown = [h for h in header if h != name_column and h not in KEYS]
    if unknown:
        raise DictionaryError(
            source, f"has column(s) {', '.join(map(repr, unknown))}; the keys are {_keys()}"
        )
    for line, row in enumerate(reader, start=2):
        if None in row:
            raise DictionaryError(source, f"line {line} has more cells than the header")
        cells = {str(k).strip(): (v or "").strip() for k, v in row.items()}
        name = cells.pop(name_column)
        if not name and not any(cells.values()):
            continue  # a blank line
        yield name, {key: value for key, value in cells.items() if value != ""}


def _entries(items: Iterable[tuple[Any, Any]], source: str) -> dict[str, FeatureEntry]:
    entries: dict[str, FeatureEntry] = {}
    for name, given in items:
        if not isinstance(name, str) or not name.strip():
            raise DictionaryError(source, "has an entry without a feature name")
        if name in entries:
            raise DictionaryError(source, f"describes {name!r} twice")
        entries[name] = _entry(name, given, source)
    return entries


def _entry(name: str, given: Any, source: str) -> FeatureEntry:
    if given is None:
        return FeatureEntry()
    if not isinstance(given, Mapping):
        raise DictionaryError(source, f"{name!r}: the entry must be a mapping of keys")
    unknown = [str(k) for k in given if k not in KEYS]
    if unknown:
        raise DictionaryError(
            source,
            f"{name!r}: unknown key(s) {', '.join(map(repr, unknown))}; the keys are {_keys()}",
        )
    values: dict[str, Any] = {}
    for key, value in given.items():
        if value is None:
            continue
        if key in _TEXT_KEYS:
            values[key] = _text(value, name, key, source)
        elif key in _NUMBER_KEYS:
            values[key] = _number(value, name, key, source)
        else:
            values[key] = _flag(value, name, key, source)
    entry = FeatureEntry(**values)
    if entry.min is not None and entry.max is not None and entry.min > entry.max:
        raise DictionaryError(source, f"{name!r}: min is greater than max")
    if entry.categorical and (entry.min is not None or entry.max is not None):
        raise DictionaryError(
            source,
            f"{name!r}: min and max are limits of a measurement; a categorical feature is "
            "checked against its codes instead",
        )
    if entry.categorical and entry.integer:
        raise DictionaryError(source, f"{name!r}: categorical and integer exclude each other")
    if entry.identifier and (entry.categorical or entry.integer):
        raise DictionaryError(
            source,
            f"{name!r}: an identifier is not a feature to describe as categorical or integer",
        )
    return entry


def _text(value: Any, name: str, key: str, source: str) -> str:
    if not isinstance(value, str):
        raise DictionaryError(source, f"{name!r}: {key} must be text")
    text = " ".join(value.split())
    if len(text) > MAX_TEXT:
        raise DictionaryError(source, f"{name!r}: {key} is longer than {MAX_TEXT} characters")
    return text


def _number(value: Any, name: str, key: str, source: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise DictionaryError(source, f"{name!r}: {key} must be a number") from None
        value = int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DictionaryError(source, f"{name!r}: {key} must be a number")
    if not math.isfinite(value):
        raise DictionaryError(source, f"{name!r}: {key} must be a finite number")
    return value


def _flag(value: Any, name: str, key: str, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise DictionaryError(source, f"{name!r}: {key} must be true or false")


def _keys() -> str:
    return ", ".join(KEYS)
