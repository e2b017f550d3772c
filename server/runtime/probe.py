"""What the model accepts, found once at start-up by scoring the stored self-test rows.

- Unseen categories: the first self-test row is re-scored with each category feature set to a
  value absent from training. An encoder that ignores unknown categories scores it; one
  that does not raises, and requests with unseen categories in that feature then get a 4xx
  naming it instead of a 500 from deep inside the model.
- Arrays: a model fitted on an all-number DataFrame usually scores a plain array in the
  same column order identically, and several times faster for single rows (no pandas).
  Only when the self-test rows score identically both ways does the server feed it arrays.
"""

from __future__ import annotations

import warnings
from typing import Any

from packager.artefact import (
    Artefact,
    Examples,
    FeatureSpec,
    Label,
    compare_outputs,
    model_input,
    model_outputs,
)

__all__ = ["takes_arrays", "unscorable_features"]

_UNSEEN_TEXT = "\x00deployml-probe-unseen-category"


def unscorable_features(artefact: Artefact) -> frozenset[str]:
    """Names of category features whose unseen values make the model raise."""
    examples = artefact.self_test.inputs
    spec = artefact.manifest.input
    if not examples:
        return frozenset()
    found = set()
    for feature in spec.features:
        unseen = _unseen_value(feature)
        if feature.kind != "category" or unseen is None:
            continue
        columns = {name: [examples[0].get(name)] for name in spec.names}
        columns[feature.name] = [unseen]
        if not _scores(artefact.model, columns, artefact):
            found.add(feature.name)
    return frozenset(found)


def _scores(model: Any, columns: dict[str, list[Any]], artefact: Artefact) -> bool:
    try:
        X = model_input(columns, artefact.manifest.input)
        with warnings.catch_warnings():
            # Encoders that ignore unknown categories may warn about them; that is a yes.
            warnings.simplefilter("ignore")
            model.predict(X)
    except Exception:  # any failure means "cannot score unseen categories"
        return False
    return True


def _unseen_value(feature: FeatureSpec) -> Label | None:
    categories = feature.categories
    if not categories:
        return None
    if all(isinstance(c, str) for c in categories):
        return _UNSEEN_TEXT
    numbers = [c for c in categories if isinstance(c, int | float) and not isinstance(c, bool)]
    if len(numbers) == len(categories):
        return max(numbers) + 1
    return None


def takes_arrays(artefact: Artefact) -> bool:
    """Whether an all-float64 DataFrame model scores the self-test rows identically as an array."""
    spec = artefact.manifest.input
    examples = artefact.self_test.inputs
    features = spec.features
    if spec.format != "dataframe" or not examples or not features:
        return False
    if not all(f.kind == "number" and f.dtype == "float64" for f in features):
        return False
    columns = {name: [row.get(name) for row in examples] for name in spec.names}
    task = artefact.manifest.target.task if artefact.manifest.target else "regression"
    try:
        frame = model_input(columns, spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the array has no feature names: that is the point
            expected = model_outputs(artefact.model, frame, task)
            got = model_outputs(artefact.model, frame.to_numpy(dtype="float64"), task)
    except Exception:  # a model that refuses arrays keeps getting DataFrames
        return False
    recorded = Examples(examples, expected.predictions, expected.probabilities)
    return not compare_outputs(recorded, got)
