"""Drift bins: each feature's training distribution as bin edges and counts, recorded at capture.

A server counts live values into the same bins and compares the two with the population
stability index (:func:`population_stability`), with no patient value ever stored or sent.

Numbers are binned by deciles of the training values: the quantile edges (observed values)
are rounded to four significant figures (the people's form, so that every label is distinct
and an edge keeps at most four figures of a training value), repeated edges merge, and an edge
at the maximum (or rounded past the largest float) is dropped; when a decile is the maximum,
the largest value below it is an edge instead, so that the rows tied at the maximum keep a bin
of their own; it replaces the edge below it when fewer than :data:`MIN_ROWS_PER_BIN` rows lie
between the two, and is left out when there is no edge below and as few rows. A feature gets
at most one bin per :data:`MIN_ROWS_PER_BIN` training values, so a small table gets fewer,
wider bins, and none below two bins. Bins are closed on the right:
``(-inf, e1], (e1, e2], ..., (ek, inf)``.
Categories (and booleans: ``False``, ``True``) get one bin each, then ``other`` (a value not
seen in training). Every feature ends with ``missing`` (null or NaN). Identifiers and free
text (``string``) are never binned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from packager.artefact.values import for_people

if TYPE_CHECKING:
    from packager.artefact.manifest import FeatureSpec, InputSpec

__all__ = [
    "BIN_KINDS",
    "DECILES",
    "MIN_ROWS_PER_BIN",
    "MISSING",
    "OTHER",
    "PSI_SMOOTHING",
    "FeatureBins",
    "drift_problem",
    "population_stability",
    "training_bins",
]

DECILES = 10
# At least this many training values per bin on average: a small table gets fewer bins, so
# that no bin's edges and count come near describing a few patients.
MIN_ROWS_PER_BIN = 20
OTHER, MISSING = "other", "missing"
BIN_KINDS = ("number", "category")
# Added to every bin's count before proportions are taken, so that an empty bin keeps the
# index finite (the usual Laplace-style smoothing of PSI).
PSI_SMOOTHING = 0.5
_SIGNIFICANT = 4  # the figures of for_people's numbers
# Up to this many values, categories are looked up in a dict (a request's few rows: about a
# microsecond); more, in one vectorised call (tens of microseconds whatever the batch).
SMALL_BATCH = 256


@dataclass(frozen=True)
class FeatureBins:
    """One feature's training distribution: its bins, one label and one count each."""

    kind: Literal["number", "category"]
    edges: list[float]  # numbers: inner edges, increasing; [] for categories
    categories: list[Any]  # categories as the schema records them; [] for numbers
    counts: list[int]  # training rows per bin, in the order of labels
    labels: list[str]  # numbers "<=e1", "e1-e2", ">ek"; categories as text, "other"; "missing"

    @cached_property
    def _known(self) -> pd.Index:
        """The categories as an index, made once: a big batch is looked up in one call."""
        return pd.Index(self.categories, dtype=object)

    @cached_property
    def _codes(self) -> dict[Any, int]:
        """Each category's bin, made once: a few values are looked up faster one by one."""
        return {category: i for i, category in enumerate(self.categories)}

    def count(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        """How many of ``values`` fall in each bin (int64, in the order of ``labels``)."""
        array = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
        missing = np.asarray(pd.isna(array), dtype=bool).reshape(-1)
        array = array.reshape(-1)
        if self.kind == "number":
            numbers = _as_numbers(array, missing)
            index = np.searchsorted(np.asarray(self.edges, dtype=np.float64), numbers, "left")
        else:
            index = self._category_bins(array)
        index[missing] = len(self.labels) - 1
        return np.bincount(index, minlength=len(self.labels)).astype(np.int64)

    def _category_bins(self, array: np.ndarray) -> np.ndarray:
        """Each value's category bin, ``other`` for one not recorded (missing ones too)."""
        other = len(self.categories)
        if len(array) > SMALL_BATCH:  # one hash lookup for the lot (pandas's, in C)
            index = self._known.get_indexer(pd.Index(array, dtype=object))
            index[index < 0] = other
            return index
        codes = self._codes
        return np.fromiter((codes.get(v, other) for v in array.tolist()), np.intp, len(array))


def _as_numbers(array: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """``array`` as floats; a missing value (or one that is not a number) as NaN."""
    try:
        numbers = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        numbers = pd.to_numeric(pd.Series(array, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64
        )
    missing |= np.isnan(numbers)
    return np.where(missing, 0.0, numbers)


def training_bins(frame: pd.DataFrame, spec: InputSpec) -> dict[str, FeatureBins]:
    """The drift bins of every feature of ``spec`` that has a column in ``frame`` and may be
    binned (not an identifier, not free text, and numbers with enough rows for two bins)."""
    columns = {str(c): c for c in frame.columns}
    found = {}
    for feature in spec.features:
        if feature.identifier or feature.name not in columns:
            continue
        bins = _bins_of(feature, frame[columns[feature.name]].to_numpy())
        if bins is not None:
            found[feature.name] = bins
    return found


def _bins_of(feature: FeatureSpec, values: np.ndarray) -> FeatureBins | None:
    """``feature``'s bins with its training ``values`` counted; None when it gets none."""
    if feature.kind in ("number", "integer"):
        edges = _edges(values)
        if edges is None:
            return None
        bins = FeatureBins("number", edges, [], [], _number_labels(edges))
    elif feature.kind == "boolean" or (feature.kind == "category" and feature.categories):
        categories = [False, True] if feature.kind == "boolean" else list(feature.categories or [])
        bins = FeatureBins("category", [], categories, [], _category_labels(categories))
    else:
        return None
    return replace(bins, counts=bins.count(values).tolist())


def _number_labels(edges: list[float]) -> list[str]:
    """``<=e1``, ``e1-e2``, ..., ``>ek``, then ``missing``: edges written for people."""
    inner = [f"{for_people(a)}-{for_people(b)}" for a, b in pairwise(edges)]
    return [f"<={for_people(edges[0])}", *inner, f">{for_people(edges[-1])}", MISSING]


def _edges(values: np.ndarray) -> list[float] | None:
    """The rounded decile edges of ``values``' numbers, at most one bin per MIN_ROWS_PER_BIN
    of them; None when fewer than two bins are left."""
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64
    )
    numbers = numbers[np.isfinite(numbers)]
    n_bins = min(DECILES, len(numbers) // MIN_ROWS_PER_BIN)
    if n_bins < 2:
        return None
    # Observed values as edges (the empirical quantiles), so that whole numbers bin as such.
    quantiles = np.quantile(numbers, np.arange(1, n_bins) / n_bins, method="inverted_cdf")
    rounded = {_rounded(q) for q in quantiles}
    top = float(numbers.max())
    edges = sorted(e for e in rounded if math.isfinite(e) and e < top)
    below = numbers[numbers < top]
    if max(rounded) >= top and len(below):
        # A decile at the maximum: a share of the rows ties there. The largest value below
        # splits them from the rest (a 0/1 flag that is mostly 1 gets <=0, >0 as one mostly 0
        # does), in place of the last edge if the bin between would hold too few rows, and
        # not at all if there is none: it would be the value of the few rows below it.
        split = _rounded(float(below.max()))
        if math.isfinite(split) and split < top and (not edges or split > edges[-1]):
            last = edges[-1] if edges else -math.inf
            if np.count_nonzero((below > last) & (below <= split)) >= MIN_ROWS_PER_BIN:
                edges.append(split)
            elif edges:
                edges[-1] = split
    return edges or None


def _rounded(value: float) -> float:
    """``value`` to four significant figures; -0.0 as 0 (no ``<=-0`` label). One past the
    largest float is infinite, which JSON cannot hold and no value exceeds: never an edge."""
    return float(f"{value:.{_SIGNIFICANT}g}") + 0.0


def _category_labels(categories: list[Any]) -> list[str]:
    """Each category as text (a clash written as repr, then numbered), ``other``, ``missing``."""
    labels: list[str] = []
    taken = {OTHER, MISSING}
    for i, category in enumerate(categories):
        label = for_people(category)
        if label in taken:
            label = repr(category)
        if label in taken:
            label = f"{label} #{i + 1}"
        taken.add(label)
        labels.append(label)
    return [*labels, OTHER, MISSING]


def population_stability(expected: Sequence[int], actual: Sequence[int]) -> float:
    """The population stability index of ``actual`` counts against ``expected`` (same bins).

    PSI = sum over bins of (a - e) * ln(a / e), where e and a are the bins' proportions after
    :data:`PSI_SMOOTHING` (0.5) is added to every count of both, so that an empty bin stays
    finite (it adds about ``bins / (2 * rows)`` for a small sample). 0 means the same
    distribution; below 0.1 is usually read as stable, 0.1 to 0.25
    as a moderate shift, above 0.25 as a major one. NaN when ``actual`` holds no rows.
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.ndim != 1:
        raise ValueError("expected and actual must be counts of the same bins")
    if not a.sum() or not e.sum():
        return math.nan
    e = (e + PSI_SMOOTHING) / (e.sum() + PSI_SMOOTHING * len(e))
    a = (a + PSI_SMOOTHING) / (a.sum() + PSI_SMOOTHING * len(a))
    return float(np.sum((a - e) * np.log(a / e)))


def drift_problem(
    drift: Mapping[str, FeatureBins], names: Sequence[str]
) -> tuple[list[str], str] | None:
    """Where in a manifest's ``drift`` (its input features being ``names``) the first bins
    breaking the rules above are, and what is wrong; None when all keep them."""
    for name, bins in drift.items():
        if name not in names:
            return [name], "is not one of the input features"
        problem = _bins_problem(bins)
        if problem is not None:
            return [name, problem[0]], problem[1]
    return None


def _bins_problem(bins: FeatureBins) -> tuple[str, str] | None:
    """The first field of ``bins`` that breaks the rules, and what is wrong with it."""
    expected = len(bins.edges) + 2 if bins.kind == "number" else len(bins.categories) + 2
    if bins.kind == "number" and bins.categories:
        return "categories", "must be empty for numbers"
    if bins.kind == "category" and bins.edges:
        return "edges", "must be empty for categories"
    if any(not b > a for a, b in pairwise(bins.edges)):
        return "edges", "must increase"
    if len(bins.labels) != expected:
        return "labels", f"must hold {expected} labels, one per bin"
    if len(set(bins.labels)) != len(bins.labels) or bins.labels[-1] != MISSING:
        return "labels", f"must be distinct and end with {MISSING!r}"
    if len(bins.counts) != len(bins.labels):
        return "counts", "must be as long as labels"
    return None
