"""Histogram gradient boosting scored by walking all its trees at once, bit-identical to
scikit-learn, or not at all.

scikit-learn's ``HistGradientBoosting*.predict`` spends most of a one-row call outside the
arithmetic: it calls each of the model's predictors in turn (a Python call and an OpenMP
region per tree, a hundred by default). :class:`BoostingPath` does the same arithmetic as
``_raw_predict`` in a few numpy operations: X through the model's own
``_preprocess_X(X, reset=False)`` (a float64 matrix of the model's width, which it returns
unchanged, is taken as it is); every tree's nodes flattened once at load into one set of
arrays (leaves pointing at themselves, so as many steps as the deepest tree walk every tree
to its leaf); all trees walked together, one gather per array per level, with the node walk
of ``_predictor.pyx`` (a null goes the node's ``missing_go_to_left`` way, else
``x <= num_threshold`` goes left). The leaves' values are added as ``_raw_predict`` adds them:
float64 zeros plus ``_baseline_prediction``, then each iteration's value in iteration order,
one at a time (``np.add.accumulate``, sequential; ``np.sum`` adds pairwise and differs in the
last bit). Then the model's own ``_loss.link.inverse`` (regressors), ``_loss.predict_proba``
and the ``> 0`` / argmax rule of ``predict`` (classifiers). A Pipeline's earlier steps
transform first, as ``Pipeline.predict`` calls them.

A null is walked by looking up the feature twice: the nodes whose nulls go left read a copy
of X whose nulls are ``-inf`` (``-inf <= t`` is true for every threshold), the others read X
itself (``nan <= t`` is false, so right, even on a "split on nulls" whose threshold is
``+inf``); every value that is not null compares as in scikit-learn.

The walk costs some 50 µs for one row against scikit-learn's 500 µs (a 100-tree model), but
more per row than scikit-learn's compiled loop: batches above
:data:`LARGEST_WALK` rows go to the model itself, whose Cython is faster there. The path is
used only once start-up has found its answers equal to the model's own, every bit, on both
sides of that size (:mod:`server.runtime.exact`). Models with native categorical features
(bitset splits) are declined.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from server.runtime.forest import pipeline_parts

__all__ = ["BOOSTING_PATH", "LARGEST_WALK", "BoostingPath", "ClassifierPath", "boosting_candidate"]

# What /metadata says of the path when it is used.
BOOSTING_PATH = "gradient-boosted trees walked together, bit-identical (checked at start-up)"
# The most rows walked here; larger batches go to scikit-learn. The walk's cost grows with
# trees x depth per row, scikit-learn's mostly per tree per call. Measured with one OpenMP
# thread (two): 100 trees of depth 12, 128 rows walked in 0.46 ms against 0.92 ms (0.88) in
# scikit-learn, 512 rows 1.9 ms against 2.3 (1.9); 200 trees of depth 24, 128 rows 2.0 ms
# against 2.4 (2.3), 256 rows 4.0 against 3.8 (3.2). So 128, below both crossovers.
LARGEST_WALK = 128
_BOOSTERS = (HistGradientBoostingRegressor, HistGradientBoostingClassifier)


class _Forest:
    """All of a model's trees as flat node arrays, and how to walk them."""

    def __init__(self, predictors: list[list[Any]], features: int) -> None:
        trees = [tree for iteration in predictors for tree in iteration]
        self.per_iteration = len(predictors[0])
        self.trees = len(trees)
        self.features = features
        starts = np.cumsum([0] + [len(tree.nodes) for tree in trees])
        self.roots = starts[:-1].astype(np.intp)
        nodes = np.concatenate([tree.nodes for tree in trees])
        leaf = nodes["is_leaf"].astype(bool)
        offset = np.repeat(self.roots, [len(tree.nodes) for tree in trees])
        here = np.arange(len(nodes), dtype=np.intp)
        # A node whose nulls go left reads the copy of X with nulls as -inf (columns
        # features.. 2 * features); a leaf reads column 0 and goes nowhere.
        column = nodes["feature_idx"].astype(np.intp)
        column += features * nodes["missing_go_to_left"].astype(np.intp)
        self.column = np.where(leaf, 0, column)
        self.threshold = np.where(leaf, 0.0, nodes["num_threshold"])
        # children[2 * node + (x <= threshold)]: the right child, then the left one.
        self.children = np.empty(2 * len(nodes), dtype=np.intp)
        self.children[0::2] = np.where(leaf, here, nodes["right"].astype(np.intp) + offset)
        self.children[1::2] = np.where(leaf, here, nodes["left"].astype(np.intp) + offset)
        self.value = np.ascontiguousarray(nodes["value"], dtype=np.float64)
        self.depth = int(nodes["depth"].max())

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """Each row's leaf value in each tree, trees in iteration order: (rows, trees)."""
        rows, width = X.shape[0], 2 * self.features
        both = np.empty((rows, width), dtype=np.float64)
        both[:, : self.features] = X
        low = both[:, self.features :]
        low[...] = X
        low[np.isnan(X)] = -np.inf
        flat = both.ravel()
        node = np.repeat(self.roots[None, :], rows, axis=0)
        start = (np.arange(rows, dtype=np.intp) * width)[:, None]
        for _ in range(self.depth):
            x = flat.take(self.column.take(node) + start)
            node = self.children.take(2 * node + (x <= self.threshold.take(node)))
        return self.value.take(node)


class BoostingPath:
    """A fitted HistGradientBoostingRegressor (or a Pipeline ending in one), its trees walked
    together for small batches."""

    name, description = "boosting", BOOSTING_PATH
    # exact.py proves a path that routes batches by size on slices of this many rows too.
    largest_batch = LARGEST_WALK

    def __init__(self, model: Any) -> None:
        self.model = model
        self._before, final = pipeline_parts(model)
        self.booster = final
        self._forest = _Forest(final._predictors, final.n_features_in_)
        # _raw_predict's start: float64 zeros plus the baseline.
        self._first = np.zeros(final.n_trees_per_iteration_) + final._baseline_prediction.ravel()

    def _raw(self, X: Any) -> np.ndarray:
        """``_raw_predict``: the baseline plus each iteration's leaves, added in order."""
        for step in self._before:
            X = step.transform(X)
        X = self._matrix(X)
        rows, forest = X.shape[0], self._forest
        per = forest.per_iteration
        terms = np.empty((rows, forest.trees // per + 1, per), dtype=np.float64)
        terms[:, 0, :] = self._first
        terms[:, 1:, :] = forest.leaves(X).reshape(rows, -1, per)
        # accumulate adds one term at a time, in order, as raw_predictions[:, k] += does.
        raw = np.add.accumulate(terms, axis=1)[:, -1, :]
        return np.asfortranarray(raw)

    def _matrix(self, X: Any) -> np.ndarray:
        """X as ``_preprocess_X`` gives it; a float64 matrix of the right width as it is, for
        that is what ``_preprocess_X`` returns for one (less its warnings, silenced in the
        server), at a tenth of the cost."""
        if (
            type(X) is np.ndarray
            and X.dtype == np.float64
            and X.ndim == 2
            and X.shape[0] > 0
            and X.shape[1] == self._forest.features
        ):
            return X
        return np.asarray(self.booster._preprocess_X(X, reset=False))

    def predict(self, X: Any) -> np.ndarray:
        """The regressor's predict: the inverse link of the raw sum."""
        if _rows(X) > LARGEST_WALK:
            return np.asarray(self.model.predict(X))
        return np.asarray(self.booster._loss.link.inverse(self._raw(X).ravel()))


class ClassifierPath(BoostingPath):
    """A HistGradientBoostingClassifier's path: probabilities, and the predicted class."""

    def __init__(self, model: Any) -> None:
        super().__init__(model)
        self.classes_: np.ndarray = self.booster.classes_

    def predict(self, X: Any) -> np.ndarray:
        """The classifier's predict: raw > 0 (one column) or the argmax, as a class."""
        if _rows(X) > LARGEST_WALK:
            return np.asarray(self.model.predict(X))
        raw = self._raw(X)
        if raw.shape[1] == 1:
            return np.asarray(self.classes_[(raw.ravel() > 0).astype(int)])
        return np.asarray(self.classes_[np.argmax(raw, axis=1)])

    def predict_proba(self, X: Any) -> np.ndarray:
        """The classifier's predict_proba: its loss's probabilities of the raw sum."""
        if _rows(X) > LARGEST_WALK:
            return np.asarray(self.model.predict_proba(X))
        return np.asarray(self.booster._loss.predict_proba(self._raw(X)))


def _rows(X: Any) -> int:
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


def boosting_candidate(model: Any) -> tuple[BoostingPath | None, str]:
    """The path for ``model``, still to be proven; else None and why not ("" when the model
    is simply not histogram gradient boosting)."""
    _, final = pipeline_parts(model)
    if type(final) not in _BOOSTERS:
        return None, ""
    if not getattr(final, "_predictors", None):
        return None, f"the {type(final).__name__} has no fitted trees"
    categorical = final.is_categorical_
    if (
        final._preprocessor is not None
        or (categorical is not None and categorical.any())
        or any(tree.nodes["is_categorical"].any() for trees in final._predictors for tree in trees)
    ):
        return None, f"the {type(final).__name__} has native categorical features"
    if isinstance(final, HistGradientBoostingClassifier):
        return ClassifierPath(model), ""
    return BoostingPath(model), ""
