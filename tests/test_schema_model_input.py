"""Model input in format 4.0: fractions of integer columns kept, numeric codes kept numeric.

A column whose training dtype is an integer keeps that dtype only when every value is a whole
number it holds; otherwise it is built as float64, so that 55.5 is never scored as 55 and
1e30 never wraps around. Numeric category codes reach the encoder as the numbers it learned.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from packager import capture, model_input, package
from packager.artefact import FeatureSpec, InputSpec


def birthwt(n: int = 80) -> tuple[pd.DataFrame, pd.Series]:
    """Mothers' age and weight (lwt), whole numbers as in MASS birthwt; the baby's weight."""
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"age": rng.integers(15, 45, n), "lwt": rng.integers(40, 120, n)})
    return X, pd.Series(2000 + 8 * X["lwt"] + 5 * X["age"] + rng.normal(0, 50, n), name="bwt")


def pbc(n: int = 90) -> tuple[pd.DataFrame, pd.Series]:
    """Mayo PBC's edema (codes 0, 0.5, 1), stage (codes 1 to 4) and a whole weight."""
    rng = np.random.default_rng(5)
    X = pd.DataFrame(
        {
            "edema": rng.choice([0.0, 0.5, 1.0], n),
            "stage": rng.integers(1, 5, n),
            "weight": rng.integers(45, 95, n),
        }
    )
    y = (X["edema"] + X["stage"] / 4 + rng.normal(0, 0.4, n) > 1.2).astype(int)
    return X, pd.Series(y, name="status")


def pbc_model(X: pd.DataFrame, y: pd.Series) -> Any:
    codes = OneHotEncoder(handle_unknown="ignore")
    encode = ColumnTransformer([("codes", codes, ["edema", "stage"])], remainder="passthrough")
    return make_pipeline(encode, LogisticRegression(max_iter=1000)).fit(X, y)


@pytest.fixture(scope="module")
def birthwt_artefact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    X, y = birthwt()
    model = LinearRegression().fit(X, y)
    return package(capture(model, X, y), tmp_path_factory.mktemp("bw") / "birthwt"), model


def test_a_fraction_of_an_integer_column_is_built_as_float_not_truncated() -> None:
    X, y = birthwt()
    model = LinearRegression().fit(X, y)
    spec = capture(model, X, y).manifest.input
    frame = model_input({"age": [30, 30], "lwt": [55.5, 56]}, spec)
    assert frame["lwt"].dtype == np.float64 and frame["lwt"].tolist() == [55.5, 56.0]
    assert frame["age"].dtype == np.int64  # whole values keep the training dtype
    expected = model.predict(pd.DataFrame({"age": [30.0, 30.0], "lwt": [55.5, 56.0]}))
    assert model.predict(frame).tolist() == pytest.approx(expected.tolist())


@pytest.mark.parametrize("value", [1e30, -1e30, 2**63, 2**64 - 1, -(2**63) - 1])
def test_a_number_beyond_the_integer_type_is_built_as_float_never_wrapped(value: Any) -> None:
    spec = InputSpec("dataframe", False, (FeatureSpec("n", "number", False, "int64"),))
    built = model_input({"n": [value, 1]}, spec)["n"]
    assert built.dtype == np.float64 and built.tolist() == [float(value), 1.0]


@pytest.mark.parametrize("value", [1e30, -1e30, 2.0**63, 0.5])
def test_a_float_column_from_the_all_number_path_is_checked_the_same_way(value: float) -> None:
    spec = InputSpec("dataframe", False, (FeatureSpec("n", "number", False, "int64"),))
    built = model_input({"n": np.array([value, 1.0])}, spec)["n"]
    assert built.dtype == np.float64 and built.tolist() == [value, 1.0]


@pytest.mark.parametrize(
    ("dtype", "values", "built"),
    [
        ("uint8", [3, -1], np.float64),  # below the type
        ("int8", [3, 300], np.float64),  # above it
        ("int16", [3, None], np.float64),  # a gap
        ("int32", [3, 4.0], np.int32),  # 4.0 is whole: the type holds it
        ("int64", np.array([3.0, 4.0]), np.int64),  # a float column from the all-number path
    ],
)
def test_an_integer_dtype_is_kept_only_when_it_holds_every_value(
    dtype: str, values: Any, built: type
) -> None:
    spec = InputSpec("dataframe", False, (FeatureSpec("n", "number", True, dtype),))
    column = model_input({"n": values}, spec)["n"]
    assert column.dtype == built
    assert column.tolist()[0] == 3


@pytest.mark.parametrize("format", ["dataframe", "array"])
def test_a_number_beyond_float32_is_built_as_float64_never_infinite(format: str) -> None:
    spec = InputSpec(format, False, (FeatureSpec("n", "number", True, "float32"),))
    built = np.asarray(model_input({"n": [1e39, None]}, spec)).ravel()
    assert built.dtype == np.float64 and built[0] == 1e39 and np.isnan(built[1])
    within = np.asarray(model_input({"n": [0.5, None]}, spec)).ravel()
    assert within.dtype == np.float32  # the training dtype when it holds every value


def test_pandas_nullable_integers_hold_gaps_but_not_fractions() -> None:
    spec = InputSpec("dataframe", False, (FeatureSpec("n", "number", True, "Int64"),))
    assert str(model_input({"n": [1, None]}, spec)["n"].dtype) == "Int64"
    fraction = model_input({"n": [1, 2.5]}, spec)["n"]
    assert fraction.dtype == np.float64 and fraction.tolist() == [1.0, 2.5]


def test_an_array_model_gets_the_fraction_too() -> None:
    spec = InputSpec(
        "array",
        True,
        (FeatureSpec("x0", "number", False, "int64"), FeatureSpec("x1", "number", False, "int64")),
    )
    array = model_input({"x0": [1], "x1": [55.5]}, spec)
    assert array.dtype == np.float64 and array.tolist() == [[1.0, 55.5]]


def test_numeric_codes_reach_the_encoder_as_the_numbers_it_learned() -> None:
    X, y = pbc()
    model = pbc_model(X, y)
    spec = capture(model, X, y).manifest.input
    kinds = {f.name: (f.kind, f.dtype) for f in spec.features}
    assert kinds == {
        "edema": ("category", "float64"),
        "stage": ("category", "int64"),
        "weight": ("number", "int64"),
    }
    rows = {"edema": [0.5, 1, 0], "stage": [2, 4.0, 1], "weight": [60, 70, 80]}
    frame = model_input(rows, spec)
    assert frame["edema"].dtype == np.float64 and frame["stage"].dtype == np.int64
    direct = pd.DataFrame(rows).astype(X.dtypes.to_dict())  # as the training frame held them
    assert model.predict_proba(frame).ravel() == pytest.approx(model.predict_proba(direct).ravel())
    # A code between codes is not one of them: as a float it is unseen, never rounded to one.
    unseen = model_input({"edema": [0.25], "stage": [2.5], "weight": [60]}, spec)
    assert unseen["edema"].tolist() == [0.25] and unseen["stage"].tolist() == [2.5]


def test_the_server_scores_a_fraction_of_a_whole_number_column_as_that_fraction(
    birthwt_artefact: tuple[Path, Any], client: Callable[..., FlaskClient]
) -> None:
    path, model = birthwt_artefact
    api = client(path)
    response = api.post("/predict", json={"instances": [{"age": 30, "lwt": 55.5}]})
    assert response.status_code == 200, response.get_json()
    expected = model.predict(pd.DataFrame({"age": [30.0], "lwt": [55.5]}))[0]
    truncated = model.predict(pd.DataFrame({"age": [30], "lwt": [55]}))[0]
    assert response.get_json()["predictions"][0] == pytest.approx(expected)
    assert response.get_json()["predictions"][0] != pytest.approx(truncated)
    # 1e30 is far outside training (a warning) but a number: scored, not wrapped around.
    huge = api.post("/predict", json={"age": 30, "lwt": 1e30})
    assert huge.status_code == 200, huge.get_json()
    big = model.predict(pd.DataFrame({"age": [30.0], "lwt": [1e30]}))[0]
    assert huge.get_json()["predictions"][0] == pytest.approx(big)


def test_an_encoded_code_not_seen_in_training_is_warned_of_or_refused_when_strict(
    tmp_path: Path, client: Callable[..., FlaskClient]
) -> None:
    X, y = pbc()
    model = pbc_model(X, y)
    path = package(capture(model, X, y), tmp_path / "pbc")
    row = {"edema": 0.5, "stage": 2, "weight": 70}
    answer = client(path).post("/predict", json={**row, "edema": 1}).get_json()
    same = client(path).post("/predict", json={**row, "edema": 1.0}).get_json()
    assert answer["probabilities"] == same["probabilities"] and answer["warnings"] == []
    unseen = client(path).post("/predict", json={**row, "edema": 0.25})
    assert unseen.status_code == 200
    assert unseen.get_json()["warnings"] == [
        {"row": 0, "feature": "edema", "problem": "a category not seen in training"}
    ]
    strict = client(path, strict_categories=True).post("/predict", json={**row, "edema": 0.25})
    assert strict.status_code == 422
    assert strict.get_json()["error"]["code"] == "unseen_category"
