"""Linear models scored with their own arithmetic, bit for bit as scikit-learn scores them.

A logistic regression behind a ``StandardScaler`` costs scikit-learn about 250 µs for one row,
nearly all of it checking the input again at every step (feature names, dtypes, finiteness,
the estimator's tags); the arithmetic itself is a subtraction, a division, a dot product and
a logistic function, some 10 µs. :class:`LinearPath` does exactly the operations scikit-learn
does, in its order and with its dtypes (``X -= mean_``, ``X /= scale_``, ``X @ coef_.T +
intercept_``, then ``expit`` or ``softmax``), on the float matrix the validator already
built, which is then the very input scikit-learn would have computed on.

It applies to a pipeline of ``StandardScaler`` steps (or none) ending in a
``LogisticRegression`` or a plain linear regressor, and it is only used once
:func:`prove_linear_path` has found its outputs equal, bit for bit, to the model's own on the
artefact's stored rows and on seeded rows across the training ranges, one at a time and in a
batch; otherwise the model is called as always. A batch holding a null (NaN) is always scored
by the model, whatever it does with one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.special import expit, softmax

from packager.artefact import InputSpec
from server.logs import SERVER_LOGGER

__all__ = ["LinearPath", "linear_path", "prove_linear_path", "proven_linear_path"]

log = logging.getLogger(SERVER_LOGGER)
# The final estimators whose predictions are X @ coef_ (.T) + intercept_.
_REGRESSORS = frozenset({"LinearRegression", "Ridge", "Lasso", "ElasticNet"})
# Seeded rows drawn within the training ranges for the proof, besides the stored ones.
PROOF_ROWS = 1000


class LinearPath:
    """Scaling steps and one linear model, computed as scikit-learn computes them."""

    def __init__(self, scalers: Sequence[Any], final: Any, classifier: bool) -> None:
        self.classifier = classifier
        self._scalers = [
            (
                scaler.mean_ if scaler.with_mean else None,
                scaler.scale_ if scaler.with_std else None,
            )
            for scaler in scalers
        ]
        coef = np.asarray(final.coef_)
        self._coef = coef.T if coef.ndim == 2 else coef
        self._intercept = final.intercept_
        self._binary = classifier and len(final.classes_) <= 2

    def scores(self, matrix: np.ndarray) -> np.ndarray | None:
        """The probabilities (classifiers) or predictions (regressors) of a float matrix in
        training order; None when it holds a null, which the model must see itself."""
        if np.isnan(matrix).any():
            return None
        X = matrix
        for mean, scale in self._scalers:
            X = np.array(X, dtype=np.float64, copy=True)  # the scaler's copy, then in place
            if mean is not None:
                X -= mean
            if scale is not None:
                X /= scale
        decision = X @ self._coef + self._intercept
        if decision.ndim > 1 and decision.shape[1] == 1:
            decision = decision.reshape(-1)
        if not self.classifier:
            return decision
        if self._binary:
            expit(decision, out=decision)
            return np.vstack([1 - decision, decision]).T
        return softmax(decision, axis=1)


def linear_path(model: Any, task: str) -> LinearPath | None:
    """The path for ``model`` if its shape is one this module computes, else None."""
    steps = [step for _, step in model.steps] if hasattr(model, "steps") else [model]
    *scalers, final = steps
    if any(type(step).__name__ != "StandardScaler" for step in scalers):
        return None
    name = type(final).__name__
    classifier = task != "regression"
    if classifier and name != "LogisticRegression":
        return None
    if not classifier and name not in _REGRESSORS:
        return None
    if not hasattr(final, "coef_") or getattr(final, "n_features_in_", None) is None:
        return None
    return LinearPath(scalers, final, classifier)


def prove_linear_path(
    path: LinearPath,
    reference: Callable[[np.ndarray], np.ndarray],
    stored: Sequence[np.ndarray],
    lows: np.ndarray,
    highs: np.ndarray,
) -> str | None:
    """None when ``path`` gives what ``reference`` (the model called as the server would
    call it) gives, bit for bit, on the ``stored`` row matrices and on seeded rows between
    ``lows`` and ``highs`` (NaN: no recorded bound), each alone and all together; else why
    not (no values)."""
    rng = np.random.default_rng(0)
    low, high = np.nan_to_num(lows), np.nan_to_num(highs)
    drawn = rng.uniform(np.minimum(low, high), np.maximum(low, high), (PROOF_ROWS, len(low)))
    batches = [m for m in stored if m.size] + [drawn, drawn[:1], drawn[-1:]]
    for batch in batches:
        fast = path.scores(np.ascontiguousarray(batch, dtype=np.float64))
        if fast is None:
            continue
        expected = np.asarray(reference(batch), dtype=np.float64)
        if fast.shape != expected.shape or not np.array_equal(fast, expected):
            return f"differs from the model's own outputs on a batch of {len(batch)} row(s)"
    return None


def proven_linear_path(
    model: Any,
    task: str,
    argmax_predicts: bool,
    spec: InputSpec,
    stored: Sequence[np.ndarray | None],
    reference: Callable[[np.ndarray], np.ndarray],
) -> LinearPath | None:
    """The path for ``model`` when it applies and is proven (see :func:`prove_linear_path`;
    ``stored``: the stored rows' validated matrices, None for rows not all numbers), saying
    in the log which way the model is scored."""
    path = linear_path(model, task)
    if path is None or (path.classifier and not argmax_predicts):
        return None
    matrices = [matrix for matrix in stored if matrix is not None]
    if len(matrices) < len(stored):
        return None
    lows = np.array([np.nan if f.min is None else f.min for f in spec.features], dtype=float)
    highs = np.array([np.nan if f.max is None else f.max for f in spec.features], dtype=float)
    why_not = prove_linear_path(path, reference, matrices, lows, highs)
    if why_not is not None:
        log.info("the linear model is scored by scikit-learn: its own arithmetic %s", why_not)
        return None
    log.info("the linear model is scored with its own arithmetic, bit-identical to scikit-learn")
    return path
