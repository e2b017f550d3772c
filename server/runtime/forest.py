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
the last bit. So the path is used only once start-up has found its answers equal to the
model's own, every bit (:mod:`server.runtime.exact`). Single-output RandomForest and
ExtraTrees classifiers and regressors only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
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

__all__ = ["FOREST_PATH", "ClassifierPath", "ForestPath", "forest_candidate", "pipeline_parts"]

# What /metadata says of the path when it is used.
FOREST_PATH = "forest trees, bit-identical (checked at start-up)"
_FORESTS = (
    RandomForestClassifier,
    ExtraTreesClassifier,
    RandomForestRegressor,
    ExtraTreesRegressor,
)


class ForestPath:
    """A fitted forest (or a Pipeline ending in one) scored without per-tree overhead."""

    name, description = "forest", FOREST_PATH

    def __init__(self, model: Any) -> None:
        self._before, final = pipeline_parts(model)
        self.forest = final
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


def pipeline_parts(model: Any) -> tuple[list[Any], Any]:
    """A model's transforming steps, as ``Pipeline`` calls them before its last (it skips None
    and "passthrough"), and the estimator that scores: none and the model itself for a bare
    estimator."""
    if not isinstance(model, Pipeline):
        return [], model
    before = [s for _, s in model.steps[:-1] if s is not None and s != "passthrough"]
    return before, model.steps[-1][1]


def forest_candidate(model: Any) -> tuple[ForestPath | None, str]:
    """The path for ``model``, still to be proven; else None and why not ("" when the model
    is simply not a forest)."""
    _, final = pipeline_parts(model)
    if type(final) not in _FORESTS:
        return None, ""
    if getattr(final, "n_outputs_", 1) != 1:
        return None, f"the {type(final).__name__} has {final.n_outputs_} outputs"
    return (ClassifierPath(model) if is_classifier(model) else ForestPath(model)), ""
