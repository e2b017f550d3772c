"""Linear models scored with their own arithmetic, bit for bit as scikit-learn scores them.

A logistic regression behind a ``StandardScaler`` costs scikit-learn about 180 µs for one row,
nearly all of it checking the input again at every step (feature names, dtypes, finiteness,
the estimator's tags); the arithmetic itself is a subtraction, a division, a dot product and
a logistic function, some 10 µs. :class:`LinearPath` does exactly the operations scikit-learn
does, in its order, dtypes and memory layout (the scaler's copy, ``X -= mean_``,
``X /= scale_``, ``X @ coef_.T + intercept_``, then ``expit`` or ``softmax``; ``predict`` from
the decision function as ``LinearClassifierMixin.predict``). Input holding a null (NaN) goes
to the model itself, whatever it does with one.

A pipeline of ``StandardScaler`` steps (or none) ending in a ``LogisticRegression`` or a plain
linear regressor only; used once start-up has found its answers equal to the model's own,
every bit (:mod:`server.runtime.exact`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, softmax

__all__ = ["LINEAR_PATH", "LinearPath", "linear_candidate"]

# What /metadata says of the path when it is used.
LINEAR_PATH = "the linear model's own arithmetic, bit-identical (checked at start-up)"
# The final estimators whose predictions are X @ coef_ (.T) + intercept_.
_REGRESSORS = frozenset({"LinearRegression", "Ridge", "Lasso", "ElasticNet"})


class LinearPath:
    """Scaling steps and one linear model, computed as scikit-learn computes them."""

    name, description = "linear", LINEAR_PATH

    def __init__(self, model: Any, scalers: list[Any], final: Any, classifier: bool) -> None:
        self._model = model
        self._scalers = [
            (s.mean_ if s.with_mean else None, s.scale_ if s.with_std else None) for s in scalers
        ]
        coef = np.asarray(final.coef_)
        self._coef = coef.T if coef.ndim == 2 else coef
        self._intercept = final.intercept_
        self._classifier = classifier
        if classifier:
            self.classes_: np.ndarray = final.classes_

    def _decision(self, X: Any) -> np.ndarray | None:
        """The decision function (a regressor's predictions); None for input with a null."""
        matrix = np.asarray(X, dtype=np.float64)
        if np.isnan(matrix).any():
            return None
        for mean, scale in self._scalers:
            matrix = np.array(matrix, dtype=np.float64, copy=True, order="K")
            if mean is not None:
                matrix -= mean
            if scale is not None:
                matrix /= scale
        decision = matrix @ self._coef + self._intercept
        if decision.ndim > 1 and decision.shape[1] == 1:
            decision = decision.reshape(-1)
        return np.asarray(decision)

    def predict_proba(self, X: Any) -> np.ndarray:
        """LogisticRegression's predict_proba: expit (two classes) or softmax."""
        decision = self._decision(X)
        if decision is None:
            return np.asarray(self._model.predict_proba(X))
        if decision.ndim == 1:
            expit(decision, out=decision)
            return np.vstack([1 - decision, decision]).T
        return np.asarray(softmax(decision, axis=1))

    def predict(self, X: Any) -> np.ndarray:
        """The model's predict: the decision's sign or argmax (classifiers), else itself."""
        decision = self._decision(X)
        if decision is None:
            return np.asarray(self._model.predict(X))
        if not self._classifier:
            return decision
        indices = (decision > 0).astype(int) if decision.ndim == 1 else decision.argmax(axis=1)
        return self.classes_.take(indices, axis=0)


def linear_candidate(model: Any, task: str) -> LinearPath | None:
    """The path for ``model``, still to be proven, if its shape is one this module computes."""
    steps = [step for _, step in model.steps] if hasattr(model, "steps") else [model]
    *scalers, final = steps
    if any(type(step).__name__ != "StandardScaler" for step in scalers):
        return None
    classifier = task != "regression"
    name = type(final).__name__
    if (classifier and name != "LogisticRegression") or (
        not classifier and name not in _REGRESSORS
    ):
        return None
    if not hasattr(final, "coef_"):
        return None
    return LinearPath(model, scalers, final, classifier)
