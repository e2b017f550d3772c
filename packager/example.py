"""The bundled example: a scaled logistic regression on scikit-learn's breast-cancer data.

``deployml example`` runs the main job end to end on data every scikit-learn install already
holds (no download): train, capture with test metrics and provenance, package. The data is
the Wisconsin diagnostic breast-cancer set (569 rows, 30 numeric features); the model is for
demonstration and must not inform any diagnosis.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from packager.artefact import CapturedModel, ModelDetails, package
from packager.capture import capture
from packager.errors import OutputExistsError

__all__ = [
    "EXAMPLE_NAME",
    "TARGET_NAME",
    "build_example",
    "load_example_data",
    "train_example",
]

EXAMPLE_NAME = "breast-cancer-example"
TARGET_NAME = "diagnosis"
# A fixed split and seed, so every run packages the same model.
TEST_FRACTION = 0.25
RANDOM_STATE = 0


def load_example_data() -> tuple[pd.DataFrame, pd.Series]:
    """The 30 features as a DataFrame, and the diagnosis as labels benign/malignant."""
    bunch = load_breast_cancer(as_frame=True)
    # Named labels make each prediction readable without a lookup table.
    y = bunch.target.map(dict(enumerate(bunch.target_names))).rename(TARGET_NAME)
    return bunch.data, y.astype(str)


def train_example() -> CapturedModel:
    """Fit the example pipeline on a stratified split and capture it with its test metrics."""
    X, y = load_example_data()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_FRACTION, stratify=y, random_state=RANDOM_STATE
    )
    model = Pipeline(
        [("scale", StandardScaler()), ("classify", LogisticRegression(max_iter=1000))]
    ).fit(X_train, y_train)
    details = ModelDetails(
        name=EXAMPLE_NAME,
        description=(
            "Classifies a breast mass as benign or malignant from 30 measurements of cell "
            "nuclei in a fine-needle aspirate image (scikit-learn's bundled Wisconsin data)."
        ),
        author="deployml",
        intended_use="Demonstrating deployml's packaging and serving; not for clinical use.",
        limitations=(
            f"Trained on {len(X_train)} rows from one 1990s study; unvalidated on any other "
            "population or imaging set-up. Must not inform any diagnosis."
        ),
    )
    return capture(
        model,
        X_train,
        y_train,
        X_test=X_test,
        y_test=y_test,
        details=details,
        target_name=TARGET_NAME,
        # Named, not left to label order: a missed malignancy is the costly error, so the
        # default decision catches at least 95% of malignant test cases.
        positive_class="malignant",
        thresholds=("default:sensitivity>=0.95",),
        requirements=("roc_auc>=0.95", "sensitivity@default>=0.95"),
    )


def build_example(output_dir: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Train, capture and package the example model into ``output_dir``; returns its path."""
    # Fail before training, not after; package() still decides what --force may replace.
    if not force and os.path.lexists(output_dir):
        raise OutputExistsError(str(output_dir))
    return package(train_example(), output_dir, force=force)
