"""The data dictionary as the schema reads it, and the plausible limits it sets.

Reading and checking a dictionary is :mod:`packager.capture.dictionary`'s job; this package
imports nothing above it, so it states what it reads as protocols the dictionary's classes
meet. An entry's ``declared()`` names the keys it gives (each one an attribute of the entry).

Plausible limits (``min``/``max``) are hard: a request outside them is refused, and data
outside them is an error in the data or in the limits. Only numbers have them. The texts here
are the ones every part shows (the limits and the unit are the author's; no value is quoted).
:func:`documented` applies the keys that describe a feature without changing what it accepts
to a feature recorded earlier (a capture file's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from packager.artefact.manifest import FeatureSpec, InputSpec
from packager.artefact.values import limits_for_people
from packager.errors import DictionaryError

__all__ = [
    "ACCEPTING",
    "DECLARABLE",
    "NUMBER_KINDS",
    "Dictionary",
    "Entry",
    "check_limits",
    "check_limits_of",
    "check_not_measured",
    "documented",
    "limits_of",
    "limits_problem",
    "limits_text",
    "said",
]

NUMBER_KINDS = ("number", "integer")
# The keys a dictionary entry may give, in the order ``FeatureSpec.declared`` lists them.
DECLARABLE = (
    "unit",
    "description",
    "min",
    "max",
    "categorical",
    "integer",
    "nullable",
    "identifier",
)
# The keys that change what a feature accepts: decided when a model is captured, with its data.
ACCEPTING = ("categorical", "integer", "nullable")


class Entry(Protocol):
    """One feature's entry: ``declared()`` names the keys given, each an attribute."""

    def declared(self) -> list[str]:
        """The keys this entry gives."""
        ...


class Dictionary(Protocol):
    """Entries by feature name, and the source errors name."""

    @property
    def source(self) -> str:
        """Where the dictionary came from (a file, or the ``features`` argument)."""
        ...

    def entry(self, name: str) -> Entry:
        """The entry for ``name`` (one giving no key when the dictionary does not describe it)."""
        ...


def said(entry: Entry | None) -> dict[str, Any]:
    """The keys ``entry`` gives, with their values."""
    if entry is None:
        return {}
    return {key: getattr(entry, key) for key in entry.declared()}


def limits_of(
    name: str, kind: str, given: Mapping[str, Any], source: str
) -> tuple[float | None, float | None]:
    """The plausible limits ``given`` sets for a feature of ``kind`` (numbers only)."""
    low, high = given.get("min"), given.get("max")
    if (low is not None or high is not None) and kind not in NUMBER_KINDS:
        raise DictionaryError(
            source,
            f"{name!r}: min and max are plausible limits of a number; this feature is a {kind}",
        )
    return low, high


def check_not_measured(name: str, given: Mapping[str, Any], source: str) -> None:
    """Refuse limits or ``integer`` for a column the model's pipeline encodes as codes, unless
    the author says ``categorical`` either way: recorded as a measurement, a value between its
    codes would pass the checks and be scored as none of them, with no warning."""
    measured = [key for key in ("min", "max", "integer") if key in given]
    if measured and "categorical" not in given:
        raise DictionaryError(
            source,
            f"{name!r}: the model's pipeline encodes it as categories, but the dictionary gives "
            f"it {' and '.join(measured)}, as for a measurement; say categorical: true (without "
            "them) to check its codes, or categorical: false to keep it a number",
        )


def limits_text(feature: FeatureSpec) -> str:
    """The feature's plausible limits for people, with its unit: ``0 to 120 years``."""
    unit = f" {feature.unit}" if feature.unit else ""
    return limits_for_people(feature.plausible_min, feature.plausible_max) + unit


def limits_problem(feature: FeatureSpec) -> str:
    """What is wrong with a value outside the feature's plausible limits (never the value)."""
    return f"outside the plausible limits for this feature ({limits_text(feature)})"


def check_limits_of(feature: FeatureSpec, values: Any, what: str, source: str) -> None:
    """Refuse ``values`` (one column of ``what`` rows: training, test...) outside the feature's
    plausible limits, with a count of them."""
    low, high = feature.plausible_min, feature.plausible_max
    if low is None and high is None:
        return
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64
    )
    outside = np.zeros(len(numbers), dtype=bool)
    if low is not None:
        outside |= numbers < low
    if high is not None:
        outside |= numbers > high
    count = int(outside.sum())
    if count:
        rows, lie = ("row", "lies") if count == 1 else ("rows", "lie")
        raise DictionaryError(
            source,
            f"{count} {what} {rows} of {feature.name!r} {lie} outside the plausible limits "
            f"{limits_text(feature)}; correct the data or the limits",
        )


def check_limits(
    spec: InputSpec, columns: Mapping[str, Sequence[Any]] | pd.DataFrame, what: str, source: str
) -> None:
    """:func:`check_limits_of` for every feature of ``spec`` with limits and a column here."""
    for feature in spec.features:
        if feature.name in columns:
            check_limits_of(feature, columns[feature.name], what, source)


def documented(feature: FeatureSpec, entry: Entry | None, source: str) -> FeatureSpec:
    """``feature`` (recorded earlier) with its entry's unit, description, identifier flag and
    plausible limits; keys that would change what it accepts are refused, since its schema
    was decided with the data at capture."""
    given = said(entry)
    if not given:
        return feature
    refused = [key for key in given if key in ACCEPTING]
    if refused:
        raise DictionaryError(
            source,
            f"{feature.name!r}: {', '.join(refused)} change what the model accepts, which the "
            "capture file already recorded from its data; pass them to capture(features=...) "
            "when capturing the model",
        )
    low, high = limits_of(feature.name, feature.kind, given, source)
    changed = replace(
        feature,
        unit=given.get("unit", feature.unit),
        description=given.get("description", feature.description),
        plausible_min=low if "min" in given else feature.plausible_min,
        plausible_max=high if "max" in given else feature.plausible_max,
        identifier=bool(given.get("identifier", feature.identifier)),
        declared=[k for k in DECLARABLE if k in given or k in feature.declared],
    )
    below = low is not None and feature.min is not None and feature.min < low
    above = high is not None and feature.max is not None and feature.max > high
    if below or above:
        raise DictionaryError(
            source,
            f"{feature.name!r}: the training range recorded in the capture file reaches outside "
            f"the plausible limits {limits_text(changed)}; correct the limits, or correct the "
            "data and capture the model again",
        )
    return changed
