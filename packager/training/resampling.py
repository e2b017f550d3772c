"""Everything that refits a model on folds of the training rows: search, cross-validation
and the learning curve, each reporting its progress as fits are scored.

Folds are shuffled with the run's seed and stratified for classifiers. The score is ROC AUC
for classifiers (one-vs-rest for more than two classes) and R² for regressors.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, learning_curve

from packager.artefact import Task, json_value
from packager.capture import cross_validation as cross_validate_on
from packager.capture import folds_of, scoring_for
from packager.errors import DeploymlWarning, TrainingError
from packager.training.columns import ColumnPlan
from packager.training.models import MODEL_STEP

__all__ = [
    "DEFAULT_FOLDS",
    "LEARNING_CURVE_SIZES",
    "MIN_LEARNING_CURVE_ROWS",
    "Progress",
    "Resampler",
    "folds_for",
    "learning_curve_sizes",
    "task_of_plan",
]

# progress(step, done, total): called with done=0 when a step starts, then after each fit.
Progress = Callable[[str, int, int], None]
DEFAULT_FOLDS = 5
LEARNING_CURVE_SIZES = (0.1, 0.325, 0.55, 0.775, 1.0)
# Fewer training rows than this give a learning curve of noise; it is skipped, with a warning.
MIN_LEARNING_CURVE_ROWS = 50


def task_of_plan(plan: ColumnPlan, y: pd.Series) -> Task:
    """The manifest's task for ``plan``: binary or multiclass by the classes of ``y``."""
    if plan.task == "regression":
        return "regression"
    return "binary" if y.nunique() == 2 else "multiclass"


def folds_for(
    plan: ColumnPlan, y: pd.Series, asked: int | None, what: str, seed: int
) -> KFold | StratifiedKFold:
    """A shuffled (stratified) K-fold splitter; explicit fold counts are never shrunk."""
    k = asked or DEFAULT_FOLDS
    most = int(y.value_counts().min()) if plan.task == "classification" else len(y)
    if most < k:
        if asked is not None or most < 2:
            if plan.task == "classification":
                need = f"training rows of every class; the rarest class has {most}"
            else:
                need = f"training rows; the training split has {most}"
            raise TrainingError(f"{what} with {k} folds needs at least {k} {need}")
        k = most
    return folds_of(task_of_plan(plan, y), k, seed)


class Ticker:
    """A scorer that reports progress as fits are scored (joblib runs them in-process)."""

    def __init__(self, scoring: str, step: str, total: int, report: Progress, per_fit: int = 1):
        self.scoring, self.step, self.total = scoring, step, total
        self.scorer, self.report, self.per_fit, self.calls = get_scorer(scoring), report, per_fit, 0
        report(step, 0, total)

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        value = float(self.scorer(estimator, X, y))
        self.calls += 1
        fits = self.calls // self.per_fit
        if self.calls % self.per_fit == 0 and fits < self.total:
            self.report(self.step, fits, self.total)
        return value

    def done(self) -> None:
        """Report the step complete (failed fits are never scored, so count may fall short)."""
        self.report(self.step, self.total, self.total)


@dataclass(frozen=True)
class Resampler:
    """Refits on folds of the training rows: what search, cross-validation and the learning
    curve share (the plan, the rows, the asked folds, the seed and the progress callback)."""

    plan: ColumnPlan
    X: Any
    y: pd.Series
    cv: int | None
    seed: int
    report: Progress

    @property
    def scoring(self) -> str:
        """The score of every refit: ROC AUC (one-vs-rest when multiclass), or R²."""
        return scoring_for(task_of_plan(self.plan, self.y))

    def folds(self, what: str, asked: int | None = None) -> KFold | StratifiedKFold:
        """The splitter for ``what``: ``asked`` folds, else --cv's, else DEFAULT_FOLDS."""
        return folds_for(self.plan, self.y, asked or self.cv, what, self.seed)

    def search(self, pipeline: Any, grid: dict[str, list[Any]]) -> tuple[Any, dict[str, Any]]:
        """The best pipeline of ``grid`` by cross-validation, refitted on all rows, and the
        record of the search."""
        folds = self.folds("--search")
        n_fits = math.prod(len(v) for v in grid.values()) * folds.n_splits
        ticker = Ticker(self.scoring, "search", n_fits, self.report)
        search = GridSearchCV(pipeline, grid, scoring=ticker, cv=folds, refit=True)
        search.fit(self.X, self.y)
        ticker.done()
        strip = len(MODEL_STEP) + 2
        results = search.cv_results_
        candidates = [
            {"params": {k[strip:]: v for k, v in params.items()}, "mean": mean, "std": std}
            for params, mean, std in zip(
                results["params"],
                results["mean_test_score"],
                results["std_test_score"],
                strict=True,
            )
        ]
        record = {
            "scoring": ticker.scoring,
            "folds": folds.n_splits,
            "grid": {k[strip:]: v for k, v in grid.items()},
            "best_params": {k[strip:]: v for k, v in search.best_params_.items()},
            "best_score": search.best_score_,
            "candidates": candidates,
        }
        return search.best_estimator_, json_value(record)

    def cross_validation(self, pipeline: Any, k: int) -> dict[str, Any]:
        """Scores of an unfitted copy of ``pipeline`` on ``k`` folds of the training rows."""
        folds = self.folds("cross-validation", k)
        ticker = Ticker(self.scoring, "cross-validation", folds.n_splits, self.report)
        result = cross_validate_on(
            pipeline, self.X, self.y, folds, self.scoring, "training split", scorer=ticker
        )
        ticker.done()
        return result

    def learning_curve(self, pipeline: Any) -> dict[str, Any] | None:
        """Scores by training size, or None (with a warning) when the rows are too few."""
        try:
            folds = self.folds("the learning curve")
        except TrainingError as error:
            warnings.warn(DeploymlWarning(f"no learning curve: {error.message}"), stacklevel=2)
            return None
        y = self.y
        sizes = learning_curve_sizes(self.plan, y, len(y) * (folds.n_splits - 1) // folds.n_splits)
        if sizes is None:
            warnings.warn(
                DeploymlWarning(
                    f"no learning curve: {len(y)} training rows are too few to refit on parts "
                    f"of them (at least {MIN_LEARNING_CURVE_ROWS} are needed)"
                ),
                stacklevel=2,
            )
            return None
        ticker = Ticker(
            self.scoring, "learning curve", len(sizes) * folds.n_splits, self.report, per_fit=2
        )
        sizes, train_scores, test_scores = learning_curve(
            clone(pipeline),
            self.X,
            y,
            train_sizes=sizes,
            cv=folds,
            scoring=ticker,
            shuffle=True,
            random_state=self.seed,
        )
        ticker.done()
        return json_value(
            {
                "scoring": ticker.scoring,
                "folds": folds.n_splits,
                "train_sizes": sizes,
                "train_scores": train_scores,
                "test_scores": test_scores,
            }
        )


def learning_curve_sizes(plan: ColumnPlan, y: pd.Series, fold_rows: int) -> np.ndarray | None:
    """Distinct training sizes from a tenth of a fold up to all of it; None if too few rows.

    The smallest size holds about ten rows per class, so that a random part of the fold is
    unlikely to miss a class (a classifier cannot be fitted without one).
    """
    if len(y) < MIN_LEARNING_CURVE_ROWS:
        return None
    n_classes = int(y.nunique()) if plan.task == "classification" else 1
    smallest = min(fold_rows, max(int(LEARNING_CURVE_SIZES[0] * fold_rows), 10 * n_classes))
    sizes = np.unique(np.linspace(smallest, fold_rows, len(LEARNING_CURVE_SIZES)).astype(int))
    return sizes
