"""Forests scored tree by tree, bit-identical to scikit-learn, or not at all.

scikit-learn's forest predict spends most of a one-row call on per-tree overhead: a joblib
dispatch, and each tree validating X again. ``ForestPath`` does the same arithmetic without
it: X validated once as the forest's ``_validate_X_predict`` does (``validate_data`` to
float32, NaN allowed where the trees support missing values), then each fitted tree's
``tree_.predict`` cut to its classes as ``DecisionTreeClassifier.predict_proba`` cuts it (a
regressor's first output, as ``DecisionTreeRegressor.predict``), added into float64 zeros in
tree order as ``_accumulate_prediction`` adds, and divided by the number of trees. A
Pipeline's earlier steps transform first, as ``Pipeline.predict_proba`` calls them.

The sum is in tree order: scikit-learn's order with ``n_jobs=1``. A forest fitted with
``n_jobs`` above one adds its trees in whatever order its threads finish, which can differ in
the last bit. So ``forest_path`` uses the path only when, at start-up, its answers equal the
model's own (``np.array_equal``: every bit) on the stored rows and on synthetic rows, each
through the request checks; otherwise the server keeps scikit-learn and logs why.
Single-output RandomForest and ExtraTrees classifiers and regressors only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sklearn
from scipy.sparse import issparse
from sklearn.base import is_classifier
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import validate_data

from packager.artefact import Artefact, FeatureSpec
from server.logs import SERVER_LOGGER

__all__ = ["FOREST_PATH", "ClassifierPath", "ForestPath", "forest_path", "synthetic_records"]

log = logging.getLogger(SERVER_LOGGER)
# What /metadata says of the path when it is used.
FOREST_PATH = "forest trees, bit-identical (checked at start-up)"
_FORESTS = (
    RandomForestClassifier,
    ExtraTreesClassifier,
    RandomForestRegressor,
    ExtraTreesRegressor,
)
# Random rows drawn from the schema for the start-up check (with each stored row).
SYNTHETIC_ROWS = 256
_NULL_SHARE = 0.1

# Records in, what the model is given for them (the request checks, then its input) out.
Prepare = Callable[[list[dict[str, Any]]], Any]


class ForestPath:
    """A fitted forest (or a Pipeline ending in one) scored without per-tree overhead."""

    def __init__(self, model: Any) -> None:
        final = model.steps[-1][1] if isinstance(model, Pipeline) else model
        self.forest = final
        # Pipeline._iter(with_final=False) skips None and "passthrough" steps.
        self._before = (
            [s for _, s in model.steps[:-1] if s is not None and s != "passthrough"]
            if isinstance(model, Pipeline)
            else []
        )
        self._trees = [(e.tree_, e) for e in final.estimators_]
        self._nan = bool(final.estimators_[0].__sklearn_tags__().input_tags.allow_nan)

    def _validated(self, X: Any) -> Any:
        for step in self._before:
            X = step.transform(X)
        X = validate_data(
            self.forest,
            X,
            dtype=np.float32,
            accept_sparse="csr",
            reset=False,
            ensure_all_finite="allow-nan" if self._nan and not issparse(X) else True,
        )
        if issparse(X) and (X.indices.dtype != np.intc or X.indptr.dtype != np.intc):
            raise ValueError("No support for np.int64 index based sparse matrices")
        return X

    def _mean(self, X: Any, width: int | None) -> np.ndarray:
        """The trees' outputs summed in tree order, then divided by their number."""
        X = self._validated(X)
        rows = X.shape[0]
        total = np.zeros((rows, width) if width else rows, dtype=np.float64)
        for tree, estimator in self._trees:
            out = tree.predict(X)
            total += out[:, : estimator.n_classes_] if width else out[:, 0]
        total /= len(self._trees)
        return total

    def predict(self, X: Any) -> np.ndarray:
        """A regressor's predict: the mean of its trees' values."""
        return self._mean(X, None)


class ClassifierPath(ForestPath):
    """A forest classifier's path: probabilities, and the class of the highest."""

    def __init__(self, model: Any) -> None:
        super().__init__(model)
        self.classes_: np.ndarray = self.forest.classes_

    def predict(self, X: Any) -> np.ndarray:
        """The forest's predict: the class of highest mean probability."""
        return self.classes_.take(np.argmax(self.predict_proba(X), axis=1), axis=0)

    def predict_proba(self, X: Any) -> np.ndarray:
        """The forest's predict_proba: its trees' class fractions, averaged."""
        return self._mean(X, len(self.classes_))


def forest_path(artefact: Artefact, prepare: Prepare) -> ForestPath | None:
    """The forest path for ``artefact``'s model if it is exact on every row tried, else None
    (and the reason logged at info level)."""
    model = artefact.model
    reason = _unsupported(model)
    if reason is None:
        tried = 0
        try:
            path = ClassifierPath(model) if is_classifier(model) else ForestPath(model)
            rows = [r.inputs for r in artefact.stored_rows().values() if r.inputs]
            rows.append(synthetic_records(artefact.manifest.input.features, SYNTHETIC_ROWS))
            tried, reason = _differs(model, path, rows, prepare)
        except Exception as error:  # a forest the path cannot read keeps scikit-learn
            reason = f"checking it raised {type(error).__name__}"
        if reason is None:
            log.info("inference: %s (%d rows compared)", FOREST_PATH, tried)
            return path
    if reason:
        log.info("inference: scikit-learn's own predict, not the forest path: %s", reason)
    return None


def _unsupported(model: Any) -> str | None:
    """Why the path cannot apply to ``model``; "" when it is simply not a forest."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if type(final) not in _FORESTS:
        return ""
    if getattr(final, "n_outputs_", 1) != 1:
        return f"the {type(final).__name__} has {final.n_outputs_} outputs"
    return None


def _differs(
    model: Any, path: ForestPath, sets: list[list[Any]], prepare: Prepare
) -> tuple[int, str | None]:
    """The rows compared, and the first way the path's answers differ from the model's own
    (None if none do)."""
    methods = ("predict_proba", "predict") if isinstance(path, ClassifierPath) else ("predict",)
    tried = 0
    for records in sets:
        try:
            X = prepare(records)
        except Exception:  # rows the request checks refuse are not scored either way
            continue
        tried += X.shape[0]
        # The same configuration as a request's (server.runtime.loaded: Runtime.predict).
        with sklearn.config_context(assume_finite=True):
            for method in methods:
                own, fast = _answer(getattr(model, method), X), _answer(getattr(path, method), X)
                if not _same(own, fast):
                    return tried, f"its {method} differs from the model's on the rows tried"
    return tried, None if tried else "no rows passed the request checks to compare on"


def _answer(method: Callable[[Any], Any], X: Any) -> Any:
    try:
        return np.asarray(method(X))
    except Exception as error:  # the same refusal both ways is an equal answer
        return type(error)


def _same(own: Any, fast: Any) -> bool:
    if isinstance(own, type) or isinstance(fast, type):
        return own is fast
    return own.dtype == fast.dtype and bool(np.array_equal(own, fast))


def synthetic_records(features: Sequence[FeatureSpec], n: int, seed: int = 0) -> list[dict]:
    """``n`` random rows the request checks accept: numbers in the training range (inside
    the plausible limits), known categories, either boolean, nulls where allowed."""
    rng = np.random.default_rng(seed)
    columns = {f.name: _column(f, n, rng) for f in features}
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


def _column(feature: FeatureSpec, n: int, rng: np.random.Generator) -> list[Any]:
    if feature.kind == "boolean":
        values: list[Any] = rng.random(n).__lt__(0.5).tolist()
    elif feature.kind == "category" and feature.categories:
        values = [feature.categories[i] for i in rng.integers(0, len(feature.categories), n)]
    elif feature.kind in ("number", "integer"):
        low, high = _range(feature)
        drawn = rng.uniform(low, high, n)
        drawn[: min(n, 2)] = (low, high)[: min(n, 2)]
        values = (
            drawn.round().astype(np.int64).tolist() if feature.kind == "integer" else drawn.tolist()
        )
    else:
        values = [feature.most_frequent if feature.most_frequent is not None else ""] * n
    if feature.nullable:
        values = [
            None if null else v for v, null in zip(values, rng.random(n) < _NULL_SHARE, strict=True)
        ]
    return values


def _range(feature: FeatureSpec) -> tuple[float, float]:
    low = feature.min if feature.min is not None else 0.0
    high = feature.max if feature.max is not None else max(low, 1.0)
    if feature.plausible_min is not None:
        low, high = max(low, feature.plausible_min), max(high, feature.plausible_min)
    if feature.plausible_max is not None:
        low, high = min(low, feature.plausible_max), min(high, feature.plausible_max)
    if feature.kind == "integer":
        low, high = float(np.ceil(low)), float(np.floor(high))
    return low, max(low, high)
