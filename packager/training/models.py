"""The models ``train`` offers, by name, and the one scikit-learn Pipeline each is fitted in.

The pipeline holds every step from a raw row to a prediction, so it travels with the model:
numbers are imputed (median, with an indicator of missingness where training had gaps) and
scaled; categories are one-hot encoded, missing as a category of its own and unknown values at
serving time encoded as all zeros. Only scikit-learn classes are used, so the saved model
loads wherever scikit-learn does, without deployml.

Each model has a small hyperparameter grid for ``--search``; docs/training.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from packager.errors import TrainingError
from packager.training.columns import ColumnPlan, TaskName

__all__ = ["MODELS", "MODEL_STEP", "SCALERS", "Family", "build_pipeline", "family", "search_grid"]

MODEL_STEP = "model"
SCALERS = ("standard", "minmax", "none")

Grid = dict[str, list[Any]]


@dataclass(frozen=True)
class Family:
    """A model name with its classifier and regressor (None where it has no such form)."""

    name: str
    classifier: Callable[[int, str | None], Any] | None
    regressor: Callable[[int], Any] | None
    classifier_grid: Grid
    regressor_grid: Grid
    class_weight: bool = True


def _svc(seed: int, weight: str | None) -> Any:
    # SVC(probability=True) is deprecated from scikit-learn 1.9; this is its replacement.
    return CalibratedClassifierCV(SVC(class_weight=weight, random_state=seed), ensemble=False)


_FAMILIES = (
    Family(
        "logistic-regression",
        lambda seed, weight: LogisticRegression(
            max_iter=5000, class_weight=weight, random_state=seed
        ),
        None,
        {"C": [0.01, 0.1, 1.0, 10.0]},
        {},
    ),
    Family(
        "linear-regression",
        None,
        lambda seed: Ridge(),
        {},
        {"alpha": [0.1, 1.0, 10.0, 100.0]},
    ),
    Family(
        "svm",
        _svc,
        lambda seed: SVR(),
        {"estimator__C": [0.1, 1.0, 10.0], "estimator__gamma": ["scale", 0.01]},
        {"C": [0.1, 1.0, 10.0], "gamma": ["scale", 0.01]},
    ),
    Family(
        "neural-network",
        lambda seed, weight: MLPClassifier(
            hidden_layer_sizes=(64,), max_iter=2000, random_state=seed
        ),
        lambda seed: MLPRegressor(hidden_layer_sizes=(64,), max_iter=2000, random_state=seed),
        {"hidden_layer_sizes": [(32,), (64,), (64, 32)], "alpha": [1e-4, 1e-2]},
        {"hidden_layer_sizes": [(32,), (64,), (64, 32)], "alpha": [1e-4, 1e-2]},
        class_weight=False,
    ),
    Family(
        "decision-tree",
        lambda seed, weight: DecisionTreeClassifier(random_state=seed, class_weight=weight),
        lambda seed: DecisionTreeRegressor(random_state=seed),
        {"max_depth": [3, 5, 8, None], "min_samples_leaf": [1, 5, 20]},
        {"max_depth": [3, 5, 8, None], "min_samples_leaf": [1, 5, 20]},
    ),
    Family(
        "random-forest",
        lambda seed, weight: RandomForestClassifier(random_state=seed, class_weight=weight),
        lambda seed: RandomForestRegressor(random_state=seed),
        {"max_depth": [None, 8], "min_samples_leaf": [1, 5], "max_features": ["sqrt", 0.5]},
        {"max_depth": [None, 8], "min_samples_leaf": [1, 5], "max_features": [1.0, 0.5]},
    ),
    Family(
        "gradient-boosting",
        lambda seed, weight: HistGradientBoostingClassifier(random_state=seed, class_weight=weight),
        lambda seed: HistGradientBoostingRegressor(random_state=seed),
        {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [15, 31], "l2_regularization": [0, 1]},
        {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [15, 31], "l2_regularization": [0, 1]},
    ),
)
MODELS = tuple(f.name for f in _FAMILIES)
_BY_NAME = {f.name: f for f in _FAMILIES}
_COUNTERPART = {
    "logistic-regression": "linear-regression",
    "linear-regression": "logistic-regression",
}


def family(name: str, task: TaskName, class_weight: str | None = None) -> Family:
    """The model family called ``name``, checked against the task and class weighting."""
    chosen = _BY_NAME.get(name)
    if chosen is None:
        raise TrainingError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    if (chosen.classifier if task == "classification" else chosen.regressor) is None:
        kind = "classifier" if task == "regression" else "regressor"
        raise TrainingError(
            f"{name} is a {kind} only, and this is a {task} task; use "
            f"{_COUNTERPART[name]}, or set --task"
        )
    if class_weight is not None:
        if task == "regression":
            raise TrainingError("--class-weight applies to classification only")
        if not chosen.class_weight:
            raise TrainingError(f"{name} does not support --class-weight")
    return chosen


def build_pipeline(
    plan: ColumnPlan, chosen: Family, *, scale: str, seed: int, class_weight: str | None
) -> Pipeline:
    """An unfitted Pipeline: preprocessing for ``plan``'s columns, then the model."""
    if scale not in SCALERS:
        raise TrainingError(f"unknown scaling {scale!r}; choose one of {', '.join(SCALERS)}")
    if plan.task == "classification":
        assert chosen.classifier is not None
        model = chosen.classifier(seed, class_weight)
    else:
        assert chosen.regressor is not None
        model = chosen.regressor(seed)
    return Pipeline([("preprocess", preprocessor(plan, scale)), (MODEL_STEP, model)])


def preprocessor(plan: ColumnPlan, scale: str) -> ColumnTransformer:
    """Imputation and scaling of numbers, one-hot encoding of categories; dense output."""
    transformers: list[tuple[str, Any, list[str]]] = []
    if plan.numeric:
        steps: list[tuple[str, Any]] = [
            ("impute", SimpleImputer(strategy="median", add_indicator=True))
        ]
        if scale == "standard":
            steps.append(("scale", StandardScaler()))
        elif scale == "minmax":
            steps.append(("scale", MinMaxScaler()))
        transformers.append(("numbers", Pipeline(steps), list(plan.numeric)))
    if plan.categorical:
        # Dense, so that every model (HistGradientBoosting included) takes the output.
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        transformers.append(("categories", encoder, list(plan.categorical)))
    return ColumnTransformer(transformers, remainder="drop")


def search_grid(chosen: Family, task: TaskName) -> Grid:
    """The ``--search`` grid, keyed as GridSearchCV needs for the pipeline."""
    grid = chosen.classifier_grid if task == "classification" else chosen.regressor_grid
    return {f"{MODEL_STEP}__{key}": values for key, values in grid.items()}
