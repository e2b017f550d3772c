"""The data dictionary applied where no training data is at hand: a capture file's recorded
schema, and the features of a bare estimator packaged without data.

A capture file's schema was decided with its data, so only the keys that describe a feature
(unit, description, identifier) and its plausible limits may be added when it is packaged;
keys that change what it accepts (categorical, integer, nullable) belong to ``capture()``.
The limits are held against what the file recorded: the training range, and every stored row
(self-test, examples, edge cases). The manifest is then written as the current format.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from packager.artefact import (
    FORMAT_VERSION,
    CapturedModel,
    EdgeCases,
    FeatureSpec,
    check_limits,
    documented,
    feature_without_data,
    records_to_columns,
)
from packager.capture.contract.checks import flag_identifiers
from packager.capture.dictionary import FeatureDictionary
from packager.capture.estimator import allows_nan, column_hints

__all__ = ["bare_features", "documented_capture"]


def documented_capture(
    captured: CapturedModel, dictionary: FeatureDictionary | None
) -> CapturedModel:
    """``captured`` with its features described by ``dictionary`` (if any); refuses what
    contradicts the recorded schema or rows."""
    if dictionary is None:
        return captured
    manifest = captured.manifest
    spec = manifest.input
    target = None if manifest.target is None else manifest.target.name
    # The subgroup columns it was measured on, as capture(features=...) allowed them too.
    grouped = [c.get("column") for c in (manifest.subgroups or {}).get("columns", [])]
    dictionary.check_names(
        [*spec.names, *([target] if target else []), *(str(c) for c in grouped if c)],
        "the model's features, its target or its subgroup columns",
    )
    source = dictionary.source
    features = tuple(documented(f, dictionary.entry(f.name), source) for f in spec.features)
    spec = replace(spec, features=features)
    stored: list[tuple[str, list[dict[str, Any]]]] = [
        ("self-test", captured.self_test.inputs),
        ("example", captured.examples.inputs),
        ("edge-case", [] if captured.edge_cases is None else cases(captured.edge_cases)),
    ]
    for what, rows in stored:
        if rows:
            check_limits(spec, records_to_columns(rows, spec.names), what, source)
    # The limits and descriptions are 4.0's: an older capture file's features read the same
    # under 4.0, and a 3.x reader must refuse limits it would not enforce.
    # Identifiers are never binned: one declared so now loses the drift bins capture made.
    identifiers = {f.name for f in features if f.identifier}
    drift = {name: bins for name, bins in manifest.drift.items() if name not in identifiers}
    manifest = replace(manifest, input=spec, drift=drift, format_version=FORMAT_VERSION)
    return replace(captured, manifest=manifest)


def cases(edge_cases: EdgeCases) -> list[dict[str, Any]]:
    """The inputs of the edge cases, one record each."""
    return [dict(case.inputs) for case in edge_cases.cases]


def bare_features(
    model: Any, names: list[str], dictionary: FeatureDictionary | None
) -> tuple[FeatureSpec, ...]:
    """The features of a model packaged without data: as far as the fitted model shows them
    (encoder categories, imputed columns), and as the dictionary describes them (every key
    applies: no data decided otherwise)."""
    hints = column_hints(model, names)
    identifiers = flag_identifiers(pd.DataFrame(columns=names), dictionary)
    return tuple(
        feature_without_data(
            name,
            hints.get(name),
            allow_nan=allows_nan(model),
            entry=None if dictionary is None else dictionary.entry(name),
            identifier=name in identifiers,
            source="features" if dictionary is None else dictionary.source,
        )
        for name in names
    )
