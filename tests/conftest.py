"""Shared fixtures: tiny fitted models and the artefacts built from them.

Every artefact fixture is session-scoped, built once under ``tmp_path_factory`` with
``packager.capture`` and ``packager.package``, and returns the artefact directory's ``Path``.
Treat them as read-only (copy with ``shutil.copytree`` before changing a file).

- ``binary_artefact``: StandardScaler + LogisticRegression on load_breast_cancer as a DataFrame
  (30 float features, target "target" with classes 0/1), with test metrics.
- ``pipeline_artefact``: a ColumnTransformer pipeline on a small patient-like DataFrame
  (``patient_data``): age (integer), bmi (number, with missing values), sex (category F/M),
  ward (category a/b/c, with missing values), smoker (boolean); imputed, scaled numbers and
  OneHotEncoder(handle_unknown="ignore") categories; target "readmitted" with labels "no"/"yes".
- ``multiclass_artefact``: LogisticRegression on iris as a DataFrame (classes 0, 1, 2).
- ``regressor_artefact``: Ridge on load_diabetes as a DataFrame (target "target").
- ``array_artefact``: LogisticRegression fitted on a plain numpy array (4 features, names
  generated as x0..x3, input format "array").
- ``contract_artefact``: the pipeline model on ``patient_data`` with format 4.0's input
  contract written into its features (``CONTRACT``: units, descriptions, plausible limits,
  imputed, an identifier, declared keys; one description hostile HTML), packaged whole, to
  show it in /metadata, the card and ``inspect`` apart from the code that infers it.

``make_passengers`` builds a Titanic-like passenger table (the data the original deploy-ml
trained on) with an identifier, free-text names, a mostly empty cabin column, missing ages and
categories; ``passengers_csv`` writes 240 of its rows to a CSV for ``deployml train``, and
``passengers`` gives 200 rows without the columns ``train`` would leave out (it still warns
that Pclass and SibSp, a few distinct numbers each, may be codes).

``make_pbc`` builds Mayo PBC-like patients (a record number, edema 0/0.5/1 and stage 1-4
stored as numbers, a diagnosis date) and ``make_biopsy`` MASS biopsy-like samples (an ``ID``
with 645 distinct values in 699 rows), for the column decisions of ``deployml train``.

``make_cohort`` builds patients whose outcome a marker predicts for men only (a coin toss for
women), with an ``age`` column holding gaps and values above 120: a model of the marker is
worse for women, which the subgroup tests find.

``patient_data`` returns ``(X_train, y_train, X_test, y_test)`` for the pipeline model, and
``pipeline_model`` the fitted pipeline, for tests that capture it themselves.

Running things:

- ``runner``: ``runner(*args, env=None)`` runs the ``deployml`` command line in-process
  (``CliRunner().invoke``, every argument through ``str``) and returns click's ``Result``.
  Without ``env`` it blanks ``DEPLOYML_ARTEFACT`` so that a shell's setting cannot reach
  ``serve`` (the only command that reads the environment); a given ``env`` is used as it is.
- ``client``: ``client(artefact, **settings)`` returns a Flask test client of
  ``create_app(Settings(artefact=artefact, **settings))``.
- ``logs``: caplog with its handler on the server's loggers (which do not propagate), at DEBUG.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from deployml.cli import cli
from packager import ModelDetails, capture, package
from server import Settings, create_app
from server.logs import ACCESS_LOGGER, SERVER_LOGGER

PatientData = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


def _build(factory: pytest.TempPathFactory, name: str, model: Any, *args: Any, **kw: Any) -> Path:
    details = ModelDetails(name=name, **kw.pop("details", {}))
    captured = capture(model, *args, details=details, **kw)
    return package(captured, factory.mktemp(name) / name)


def make_patients(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """A small patient-like frame with numbers, categories, booleans and missing values."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.integers(18, 95, n),
            "bmi": rng.normal(27.0, 4.5, n).round(1),
            "sex": rng.choice(["F", "M"], n).tolist(),
            "ward": rng.choice(["a", "b", "c"], n).tolist(),
            "smoker": rng.random(n) < 0.3,
        }
    )
    X.loc[X.index % 7 == 3, "bmi"] = np.nan
    X.loc[X.index % 11 == 5, "ward"] = None
    risk = (X["age"] - 55) / 15 + X["smoker"] * 1.0 + rng.normal(0, 1, n)
    y = pd.Series(np.where(risk > 0, "yes", "no"), name="readmitted")
    return X, y


def make_cohort(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Patients whose outcome follows ``marker`` for men only: for women it is a coin toss.

    ``age`` has gaps and a few values above 120; ``sex`` and ``age`` are not model inputs.
    """
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    marker = rng.normal(size=n)
    follows = marker + 0.3 * rng.normal(size=n) > 0
    outcome = np.where(sex == "M", follows, rng.random(n) < 0.5).astype(int)
    age = rng.uniform(18, 100, n).round()
    age[rng.random(n) < 0.05] = np.nan
    age[rng.random(n) < 0.05] = 130
    frame = pd.DataFrame({"marker": marker, "other": rng.normal(size=n), "sex": sex, "age": age})
    return frame, pd.Series(outcome, name="outcome")


def make_passengers(n: int, seed: int) -> pd.DataFrame:
    """Titanic-like rows: survival depends on sex, class and age; gaps in age and embarked."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], n)
    pclass = rng.choice([1, 2, 3], n, p=[0.25, 0.2, 0.55])
    age = rng.normal(30, 14, n).clip(0.5, 80).round(1)
    age[rng.random(n) < 0.2] = np.nan
    embarked = rng.choice(["S", "C", "Q"], n, p=[0.7, 0.2, 0.1]).astype(object)
    embarked[rng.random(n) < 0.03] = None
    cabin = [f"C{rng.integers(1, 300)}" if rng.random() < 0.3 else None for _ in range(n)]
    logit = 2.0 * (sex == "female") - 0.9 * (pclass - 2) - 0.03 * (np.nan_to_num(age, nan=30) - 30)
    return pd.DataFrame(
        {
            "PassengerId": np.arange(1, n + 1),
            "Survived": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
            "Pclass": pclass,
            "Name": [f"Passenger {i}, Mx. Example" for i in range(n)],
            "Sex": sex,
            "Age": age,
            "SibSp": rng.integers(0, 4, n),
            "Fare": (rng.gamma(2.0, 15.0, n) * (4 - pclass)).round(2),
            "Cabin": cabin,
            "Embarked": embarked,
        }
    )


def make_pbc(n: int, seed: int) -> pd.DataFrame:
    """Mayo PBC-like patients: a record number, codes stored as numbers (edema 0/0.5/1, stage
    1-4), a 0/1 flag, lab values, a diagnosis date (ISO text) and the outcome ``status``."""
    rng = np.random.default_rng(seed)
    edema = rng.choice([0.0, 0.5, 1.0], n, p=[0.7, 0.2, 0.1])
    stage = rng.choice([1, 2, 3, 4], n, p=[0.1, 0.3, 0.35, 0.25])
    bili = rng.lognormal(0.5, 0.9, n).round(1)
    albumin = rng.normal(3.5, 0.4, n).clip(2.0, 4.8).round(2)
    risk = 0.5 * np.log(bili) - 1.5 * (albumin - 3.5) + 0.4 * (stage - 2.5) + edema
    days = rng.integers(0, 3650, n)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age": rng.uniform(26, 78, n).round(2),
            "sex": rng.choice(["f", "m"], n, p=[0.85, 0.15]),
            "edema": edema,
            "stage": stage,
            "ascites": (rng.random(n) < 0.1).astype(int),
            "bili": bili,
            "albumin": albumin,
            "diagnosed": (pd.Timestamp("1990-01-01") + pd.to_timedelta(days, unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "status": np.where(risk + rng.normal(0, 0.8, n) > 0.6, "died", "alive"),
        }
    )


def make_biopsy(seed: int = 0) -> pd.DataFrame:
    """MASS biopsy-like: 699 rows whose ``ID`` holds 645 distinct numbers (some samples
    repeat), nine 1-10 scores V1..V9, and the ``class`` benign or malignant."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.arange(60_000, 1_400_000), 645, replace=False)
    column = np.concatenate([ids, rng.choice(ids, 54, replace=False)])
    malignant = rng.random(699) < 0.35
    scores = {
        f"V{i}": np.clip(np.where(malignant, 7, 2) + rng.integers(-2, 4, 699), 1, 10)
        for i in range(1, 10)
    }
    return pd.DataFrame(
        {
            "ID": rng.permutation(column),
            **scores,
            "class": np.where(malignant, "malignant", "benign"),
        }
    )


def make_birthwt(n: int = 189, seed: int = 2) -> pd.DataFrame:
    """MASS birthwt: the mother's weight ``lwt`` in whole pounds, ``race`` coded 1-3."""
    rng = np.random.default_rng(seed)
    lwt = rng.integers(80, 250, n)
    smoke = rng.integers(0, 2, n)
    race = rng.choice([1, 2, 3], n, p=[0.5, 0.15, 0.35])
    logit = -0.015 * (lwt - 130) + 0.7 * smoke + 0.3 * (race - 1) - 0.8
    low = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {"age": rng.integers(14, 45, n), "lwt": lwt, "race": race, "smoke": smoke, "low": low}
    )


def train_table(folder: Path, table: pd.DataFrame, target: str, *options: str) -> Path:
    """``deployml train`` (logistic regression, no plots) on ``table`` written as a CSV in
    ``folder``; the artefact's directory."""
    table.to_csv(folder / "table.csv", index=False)
    args = ["train", folder / "table.csv", "--target", target, *options]
    args += ["--no-plots", "--model", "logistic-regression", "-o", folder / "artefact"]
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"DEPLOYML_ARTEFACT": None})
    assert result.exit_code == 0, result.output
    return folder / "artefact"


def make_penguins(n: int = 344, seed: int = 3) -> pd.DataFrame:
    """palmerpenguins: three species, measurements with a few gaps, ``sex`` with gaps."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], n, p=[0.44, 0.2, 0.36])
    centre = {
        "Adelie": (38.8, 18.3, 190, 3700),
        "Chinstrap": (48.8, 18.4, 196, 3733),
        "Gentoo": (47.5, 15.0, 217, 5076),
    }
    rows = np.array([centre[s] for s in species], dtype=float)
    noise = rng.normal(0, 1, (n, 4)) * np.array([2.5, 1.0, 6.5, 450])
    measured = np.round(rows + noise, 1)
    frame = pd.DataFrame(
        measured, columns=["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    )
    frame.loc[rng.random(n) < 0.02, "bill_length_mm"] = np.nan
    sex = rng.choice(["female", "male"], n).astype(object)
    sex[rng.random(n) < 0.03] = None
    island = np.where(species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen"], n))
    return frame.assign(island=island, sex=sex, species=species)


@pytest.fixture
def passengers() -> pd.DataFrame:
    """200 passenger rows without the identifier and free-text columns (train warns only that
    Pclass and SibSp may be codes)."""
    return make_passengers(200, seed=3).drop(columns=["PassengerId", "Name", "Cabin"])


@pytest.fixture(scope="session")
def passengers_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """240 passenger rows as a CSV file, written once."""
    path = tmp_path_factory.mktemp("passengers") / "passengers.csv"
    make_passengers(240, seed=11).to_csv(path, index=False)
    return path


def make_pipeline_model() -> Pipeline:
    """Imputed, scaled numbers and one-hot categories feeding a logistic regression."""
    numbers = make_pipeline(SimpleImputer(), StandardScaler())
    categories = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
    )
    columns = ColumnTransformer(
        [
            ("numbers", numbers, ["age", "bmi"]),
            ("categories", categories, ["sex", "ward", "smoker"]),
        ]
    )
    return make_pipeline(columns, LogisticRegression(max_iter=1000))


@pytest.fixture(scope="session")
def patient_data() -> PatientData:
    """(X_train, y_train, X_test, y_test) for the pipeline model."""
    X, y = make_patients(300, seed=7)
    return X.iloc[:220], y.iloc[:220], X.iloc[220:].reset_index(drop=True), y.iloc[220:]


@pytest.fixture(scope="session")
def pipeline_model(patient_data: PatientData) -> Pipeline:
    """The ColumnTransformer pipeline fitted on patient_data's training rows."""
    X, y, _, _ = patient_data
    return make_pipeline_model().fit(X, y)


@pytest.fixture(scope="session")
def binary_artefact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scaled LogisticRegression on breast-cancer data (DataFrame input)."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, y_train, X_test, y_test = X.iloc[:400], y.iloc[:400], X.iloc[400:], y.iloc[400:]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    return _build(
        tmp_path_factory,
        "breast-cancer",
        model,
        X_train,
        y_train,
        X_test=X_test,
        y_test=y_test,
        details={
            "description": "Malignant or benign from a tumour's cell measurements.",
            "author": "Test Author",
            "organisation": "Test Hospital",
            "contact": "ml@example.org",
            "intended_use": "Tests of deployml.",
            "limitations": "A toy model.",
        },
    )


@pytest.fixture(scope="session")
def pipeline_artefact(
    tmp_path_factory: pytest.TempPathFactory, patient_data: PatientData, pipeline_model: Pipeline
) -> Path:
    """ColumnTransformer pipeline with missing values, categories and a boolean."""
    X_train, y_train, X_test, y_test = patient_data
    return _build(
        tmp_path_factory,
        "readmission",
        pipeline_model,
        X_train,
        y_train,
        X_test=X_test,
        y_test=y_test,
        details={"description": "Readmission within 30 days."},
    )


@pytest.fixture(scope="session")
def multiclass_artefact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LogisticRegression on iris (three classes)."""
    X, y = load_iris(return_X_y=True, as_frame=True)
    X_train, X_test = X.iloc[::2], X.iloc[1::2]
    y_train, y_test = y.iloc[::2], y.iloc[1::2]
    model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    return _build(tmp_path_factory, "iris", model, X_train, y_train, X_test=X_test, y_test=y_test)


@pytest.fixture(scope="session")
def regressor_artefact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ridge regression on the diabetes data."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = X.iloc[:300], X.iloc[300:], y.iloc[:300], y.iloc[300:]
    model = Ridge().fit(X_train, y_train)
    return _build(
        tmp_path_factory, "diabetes", model, X_train, y_train, X_test=X_test, y_test=y_test
    )


@pytest.fixture(scope="session")
def array_artefact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LogisticRegression fitted on a numpy array; feature names generated."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(X[:150], y[:150])
    return _build(
        tmp_path_factory, "array-model", model, X[:150], y[:150], X_test=X[150:], y_test=y[150:]
    )


# The input contract of contract_artefact's features, as a data dictionary and the model's
# pipeline would give it (every field set, whatever capture infers). The pipeline imputes
# every feature; "age" is required all the same, by its author.
NO_CONTRACT: dict[str, Any] = {
    "unit": None,
    "description": None,
    "plausible_min": None,
    "plausible_max": None,
    "imputed": False,
    "identifier": False,
    "declared": [],
}
HOSTILE_DESCRIPTION = 'Ward code <script>alert("x")</script> | of\nthe admission'
CONTRACT: dict[str, dict[str, Any]] = {
    "age": {
        "unit": "years",
        "description": "Age at admission",
        "plausible_min": 0,
        "plausible_max": 120,
        "imputed": True,
        "nullable": False,
        "declared": ["unit", "description", "min", "max", "nullable"],
    },
    "bmi": {
        "unit": "kg/m²",
        "plausible_min": 10.5,
        "plausible_max": 80,
        "imputed": True,
        "nullable": True,
        "declared": ["unit", "min", "max"],
    },
    "sex": {"imputed": True, "nullable": True},
    "ward": {
        "description": HOSTILE_DESCRIPTION,
        "identifier": True,
        "imputed": True,
        "nullable": True,
        "declared": ["description"],
    },
    "smoker": {"imputed": True, "nullable": True},
}


@pytest.fixture(scope="session")
def contract_artefact(
    tmp_path_factory: pytest.TempPathFactory, patient_data: PatientData, pipeline_model: Pipeline
) -> Path:
    """The pipeline model with CONTRACT written into its features' input contract."""
    X_train, y_train, X_test, y_test = patient_data
    details = ModelDetails(name="readmission-contract")
    captured = capture(
        pipeline_model, X_train, y_train, X_test=X_test, y_test=y_test, details=details
    )
    manifest = captured.manifest
    features = tuple(
        replace(f, **{**NO_CONTRACT, **CONTRACT[f.name]}) for f in manifest.input.features
    )
    manifest = replace(manifest, input=replace(manifest.input, features=features))
    out = tmp_path_factory.mktemp("contract") / "readmission-contract"
    return package(replace(captured, manifest=manifest), out)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything the server's loggers write (they do not propagate to the root logger)."""
    loggers = [logging.getLogger(ACCESS_LOGGER), logging.getLogger(SERVER_LOGGER)]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for logger in loggers:
        logger.removeHandler(caplog.handler)


@pytest.fixture
def runner() -> Callable[..., Result]:
    """Runs the ``deployml`` command line in-process: ``runner(*args, env=None)``."""

    def run(*args: Any, env: Mapping[str, str | None] | None = None) -> Result:
        # invoke() sets env's variables over the process's for the call; "" reads as unset.
        given = {"DEPLOYML_ARTEFACT": ""} if env is None else env
        return CliRunner().invoke(cli, [str(a) for a in args], env=given)

    return run


@pytest.fixture
def client() -> Callable[..., FlaskClient]:
    """Makes a Flask test client serving an artefact: ``client(artefact, **settings)``."""

    def make(artefact: Path, **settings: Any) -> FlaskClient:
        return create_app(Settings(artefact=artefact, **settings)).test_client()

    return make
