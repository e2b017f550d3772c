"""column_hints and allows_nan: what a fitted model's own pipeline encodes, imputes, accepts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from packager import capture
from packager.artefact import ColumnHint
from packager.capture.estimator import allows_nan, column_hints

X = pd.DataFrame(
    {
        "edema": [0.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.0, 0.0],
        "stage": [1, 2, 3, 4, 1, 2, 3, 4],
        "bili": [1.2, 0.7, 3.3, 2.0, 0.9, 1.1, 4.0, 0.5],
    }
)
Y = [0, 0, 1, 1, 0, 1, 1, 0]


def test_a_pipeline_that_encodes_every_column_marks_each_with_its_codes() -> None:
    model = make_pipeline(SimpleImputer(), OneHotEncoder(), LogisticRegression()).fit(X, Y)
    hints = column_hints(model)
    assert hints["edema"] == ColumnHint([0.0, 0.5, 1.0], imputed=True)
    assert hints["stage"] == ColumnHint([1, 2, 3, 4], imputed=True)
    # The imputer hands the encoder floats; without it, the codes keep their integer type.
    alone = column_hints(make_pipeline(OneHotEncoder(), LogisticRegression()).fit(X, Y))
    assert alone["stage"] == ColumnHint([1, 2, 3, 4], imputed=False)
    assert all(type(c) is int for c in alone["stage"].categories or [])


@pytest.mark.parametrize("imputer", [SimpleImputer(), KNNImputer(), IterativeImputer()])
def test_a_pipeline_that_starts_by_imputing_every_column_marks_each_imputed(
    imputer: object,
) -> None:
    model = make_pipeline(imputer, StandardScaler(), LogisticRegression()).fit(X, Y)
    assert column_hints(model) == {name: ColumnHint(None, True) for name in X.columns}


def test_a_pipeline_that_neither_imputes_nor_encodes_gives_no_hints() -> None:
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y)
    assert column_hints(model) == {}
    assert column_hints(LogisticRegression().fit(X, Y)) == {}


def test_an_imputer_after_a_step_that_hands_gaps_on_still_imputes_every_column() -> None:
    model = make_pipeline(StandardScaler(), SimpleImputer(), LogisticRegression()).fit(X, Y)
    assert column_hints(model) == {name: ColumnHint(None, True) for name in X.columns}
    assert np.asarray(model.predict(X.assign(bili=np.nan))).shape == (8,)  # the model agrees


def test_a_column_transformer_gives_hints_per_column() -> None:
    encode = ColumnTransformer(
        [
            ("codes", OrdinalEncoder(), ["stage"]),
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), ["bili"]),
            ("dropped", "drop", ["edema"]),
        ]
    )
    hints = column_hints(make_pipeline(encode, LogisticRegression()).fit(X, Y))
    assert hints == {"stage": ColumnHint([1, 2, 3, 4], False), "bili": ColumnHint(None, True)}


def test_a_column_read_twice_is_imputed_only_if_every_reading_imputes_it() -> None:
    encode = ColumnTransformer(
        [
            ("imputed", SimpleImputer(), ["bili", "stage"]),
            ("codes", OneHotEncoder(), ["stage"]),
        ]
    )
    hints = column_hints(make_pipeline(encode, LogisticRegression()).fit(X, Y))
    assert hints["bili"] == ColumnHint(None, True)
    assert hints["stage"] == ColumnHint([1, 2, 3, 4], False)


def test_a_model_fitted_on_an_array_is_hinted_by_the_names_given() -> None:
    array = X.to_numpy()
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(array, Y)
    names = ["x0", "x1", "x2"]
    assert column_hints(model, names) == {name: ColumnHint(None, True) for name in names}
    assert column_hints(model) == {}
    assert column_hints(model, ["x0"]) == {}  # not the model's column count: no guess
    assert np.asarray(model.predict(array)).shape == (8,)


def test_an_imputer_in_a_pipeline_nested_in_a_column_transformer_is_found() -> None:
    nested = make_pipeline(make_pipeline(SimpleImputer(), StandardScaler()))
    encode = ColumnTransformer(
        [("numbers", nested, ["bili"]), ("codes", OneHotEncoder(), ["stage"])]
    )
    hints = column_hints(make_pipeline(encode, LogisticRegression()).fit(X, Y))
    assert hints["bili"] == ColumnHint(None, True)


def test_a_pipeline_accepts_missing_values_when_every_step_does() -> None:
    model = make_pipeline(StandardScaler(), HistGradientBoostingClassifier()).fit(X, Y)
    assert allows_nan(model)
    gaps = X.assign(bili=np.nan)
    assert np.asarray(model.predict(gaps)).shape == (8,)  # the model's own word for it
    assert not allows_nan(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y))


def test_a_gap_a_column_transformer_passes_on_is_taken_by_the_steps_after_it() -> None:
    codes = ColumnTransformer([("codes", OneHotEncoder(), ["stage"])], remainder="passthrough")
    native = make_pipeline(codes, HistGradientBoostingClassifier()).fit(X, Y)
    hints = column_hints(native)
    assert hints["bili"] == ColumnHint(None, imputed=False, accepts_nan=True)
    assert hints["stage"] == ColumnHint([1, 2, 3, 4], imputed=False, accepts_nan=False)
    filled = make_pipeline(clone(codes), SimpleImputer(), LogisticRegression()).fit(X, Y)
    assert column_hints(filled)["bili"] == ColumnHint(None, imputed=True)
    gaps = X.assign(bili=np.nan, edema=np.nan)
    for model in (native, filled):  # the models' own word for it
        assert np.asarray(model.predict(gaps)).shape == (8,)
    refused = make_pipeline(clone(codes), LogisticRegression()).fit(X, Y)
    assert column_hints(refused)["bili"] == ColumnHint(None)
    spec = capture(native, X, Y).manifest.input
    assert [f.name for f in spec.features if f.nullable] == ["edema", "bili"]
