"""The three reference models of the benchmark, and the request bodies sent to them.

Each model is fitted on a pandas DataFrame so that both servers receive named features in
the same ``{"instances": [...]}`` payload and neither pays for a feature-name warning.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

BATCH_ROWS = 10_000
SEED = 0


@dataclass
class Reference:
    """A fitted reference model with its training and held-out data."""

    key: str
    title: str
    estimator: Any
    x_train: pd.DataFrame
    y_train: pd.Series
    x_test: pd.DataFrame
    y_test: pd.Series

    @property
    def is_classifier(self) -> bool:
        """Whether the model also answers predict_proba (the minimal app then calls it)."""
        return hasattr(self.estimator, "predict_proba")

    def one_row(self) -> pd.DataFrame:
        """The single row sent in single-row requests: the first held-out row."""
        return self.x_test.iloc[[0]]

    def batch(self) -> pd.DataFrame:
        """``BATCH_ROWS`` training rows drawn with replacement (inside the training ranges)."""
        return self.x_train.sample(BATCH_ROWS, replace=True, random_state=SEED)


def _split(x: pd.DataFrame, y: pd.Series) -> tuple[Any, Any, Any, Any]:
    return train_test_split(x, y, test_size=0.25, random_state=SEED)


def logistic_regression() -> Reference:
    """Scaled logistic regression on the bundled breast-cancer data (30 numbers, binary)."""
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = _split(x, y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x_train, y_train)
    return Reference("lr", "LogisticRegression", model, x_train, y_train, x_test, y_test)


def random_forest() -> Reference:
    """A 100-tree random forest on 20 synthetic features (binary)."""
    values, labels = make_classification(n_samples=1000, n_features=20, random_state=SEED)
    x = pd.DataFrame(values, columns=[f"x{i}" for i in range(values.shape[1])])
    y = pd.Series(labels, name="label")
    x_train, x_test, y_train, y_test = _split(x, y)
    model = RandomForestClassifier(n_estimators=100, random_state=SEED).fit(x_train, y_train)
    return Reference("rf", "RandomForest", model, x_train, y_train, x_test, y_test)


def gradient_boosting() -> Reference:
    """A histogram gradient-boosting regressor on the bundled diabetes data."""
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = _split(x, y)
    model = HistGradientBoostingRegressor(random_state=SEED).fit(x_train, y_train)
    return Reference("hgb", "HistGradientBoosting", model, x_train, y_train, x_test, y_test)


BUILDERS: dict[str, Callable[[], Reference]] = {
    "lr": logistic_regression,
    "rf": random_forest,
    "hgb": gradient_boosting,
}


@dataclass(frozen=True)
class Bodies:
    """Paths of the JSON request bodies written for one model."""

    one_row: Path
    batch: Path
    batch_columnar: Path


def write_bodies(ref: Reference, directory: Path) -> Bodies:
    """Write the single-row, 10,000-row and columnar 10,000-row request bodies."""
    directory.mkdir(parents=True, exist_ok=True)
    one, batch = ref.one_row(), ref.batch()
    bodies = Bodies(
        one_row=write_body("instances", one, directory / "one_row.json"),
        batch=write_body("instances", batch, directory / "batch.json"),
        batch_columnar=write_body("columnar", batch, directory / "batch_columnar.json"),
    )
    return bodies


def write_body(shape: str, frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame``'s rows as a JSON body of ``shape`` (a key of ``BODY_SHAPES``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(BODY_SHAPES[shape](frame)))
    return path


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # to_dict gives Python floats, so json.dumps needs no numpy encoder.
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _columnar(frame: pd.DataFrame) -> dict[str, Any]:
    return {"columns": [str(c) for c in frame.columns], "data": frame.to_numpy().tolist()}


def _tensor(frame: pd.DataFrame) -> dict[str, Any]:
    # One FP64 tensor [rows, features], row-major and flat, as Open Inference Protocol
    # clients (MLServer's own codecs among them) send a numpy matrix.
    values = frame.to_numpy(dtype=float)
    return {
        "inputs": [
            {
                "name": "input-0",
                "shape": list(values.shape),
                "datatype": "FP64",
                "data": values.ravel().tolist(),
            }
        ]
    }


def _named_tensors(frame: pd.DataFrame) -> dict[str, Any]:
    # One FP64 tensor per column, named after it, as deployml's Open Inference Protocol takes.
    return {
        "inputs": [
            {
                "name": str(name),
                "shape": [len(frame)],
                "datatype": "FP64",
                "data": frame[name].astype(float).tolist(),
            }
            for name in frame.columns
        ]
    }


# Every body shape a server in bench/ takes: deployml's ``instances`` and columnar bodies,
# one V2 tensor, V2 tensors by column, BentoML's named array argument, vetiver's list of
# records and MLflow's ``dataframe_split``.
BODY_SHAPES: dict[str, Callable[[pd.DataFrame], Any]] = {
    "instances": lambda frame: {"instances": _records(frame)},
    "columnar": _columnar,
    "tensor": _tensor,
    "named_tensors": _named_tensors,
    "input_data": lambda frame: {"input_data": frame.to_numpy(dtype=float).tolist()},
    "records": _records,
    "dataframe_split": lambda frame: {"dataframe_split": _columnar(frame)},
}


def write_pickle(ref: Reference, path: Path) -> Path:
    """Pickle the estimator for the minimal app, as a hand-written deployment would."""
    with path.open("wb") as handle:
        pickle.dump(ref.estimator, handle)
    return path
