"""Which category features the model cannot score when given a category it never saw.

Found once at start-up by re-scoring the first stored example with each category feature
set to a value absent from training: an encoder that ignores unknown categories scores it,
one that does not raises. Requests with unseen categories in the features found here get
a 4xx naming the feature instead of a 500 from deep inside the model.
"""

from __future__ import annotations

import warnings
from typing import Any

from packager import Artefact, model_input
from packager.manifest import FeatureSpec, Label

__all__ = ["unscorable_features"]

_UNSEEN_TEXT = "\x00deployml-probe-unseen-category"


def unscorable_features(artefact: Artefact) -> frozenset[str]:
    """Names of category features whose unseen values make the model raise."""
    examples = artefact.examples.inputs
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
