"""The feature schema: kinds inferred from training columns, and model_input built from it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from packager import capture, model_input
from packager.artefact.manifest import FeatureSpec, InputSpec
from packager.artefact.schema import MAX_CATEGORIES, feature_spec, infer_input_spec

PatientData = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        # An integer dtype is a number (fractions valid); "integer" comes from a dictionary.
        (pd.Series([1, 2, 3]), "number"),
        (pd.Series([1.5, 2.0, np.nan]), "number"),
        (pd.Series([True, False, True]), "boolean"),
        (pd.Series(["a", "b", "a"]), "category"),
        (pd.Series([f"note {i}" for i in range(MAX_CATEGORIES + 1)]), "string"),
        (pd.Series(["x", "y"], dtype="category"), "category"),
        (pd.Series([1, 2, None], dtype="Int64"), "number"),
        (pd.Series([1, 2.5, 3], dtype=object), "number"),
        (pd.Series([True, False], dtype=object), "boolean"),
    ],
)
def test_feature_spec_infers_the_kind(column: pd.Series, kind: str) -> None:
    assert feature_spec("f", column, allow_nan=False).kind == kind


def test_feature_spec_records_missing_values_as_nullable() -> None:
    spec = feature_spec("f", pd.Series([1.0, np.nan, 3.0, 4.0]), allow_nan=False)
    assert spec.nullable and spec.missing_rate == 0.25
    assert (spec.min, spec.max) == (1.0, 4.0)


def test_feature_spec_keeps_a_categorical_dtype_order() -> None:
    column = pd.Series(["low", "high"], dtype=pd.CategoricalDtype(["low", "mid", "high"]))
    assert feature_spec("f", column, allow_nan=False).categories == ["low", "mid", "high"]


def test_model_input_builds_the_training_frame(
    pipeline_model: Any, patient_data: PatientData
) -> None:
    X, y, _, _ = patient_data
    spec = capture(pipeline_model, X, y).manifest.input
    columns = {  # deliberately not in training order
        "smoker": [True, False],
        "ward": ["b", None],
        "sex": ["F", "M"],
        "bmi": [31.5, None],
        "age": [70, 40],
    }
    frame = model_input(columns, spec)
    assert list(frame.columns) == ["age", "bmi", "sex", "ward", "smoker"]
    assert frame["age"].dtype == np.int64 and frame["smoker"].dtype == bool
    assert frame["bmi"].isna().tolist() == [False, True]
    assert frame["ward"].isna().tolist() == [False, True]
    assert str(frame["sex"].dtype) == str(X["sex"].dtype)
    assert pipeline_model.predict(frame).shape == (2,)


def test_model_input_turns_a_missing_integer_into_a_float_column() -> None:
    spec = InputSpec("dataframe", False, (FeatureSpec("n", "integer", True, "int64"),))
    frame = model_input({"n": [1, None]}, spec)
    assert frame["n"].dtype == np.float64 and frame["n"].isna().tolist() == [False, True]


def test_model_input_keeps_a_missing_boolean_missing() -> None:
    spec = InputSpec("dataframe", False, (FeatureSpec("b", "boolean", True, "bool"),))
    assert model_input({"b": [True, None]}, spec)["b"].isna().tolist() == [False, True]


def test_model_input_builds_an_array_in_feature_order() -> None:
    X = pd.DataFrame({"x0": [1.0, 2.0], "x1": [3.0, 4.0]})
    spec = infer_input_spec(X, format="array", names_generated=True, allow_nan=False)
    array = model_input({"x1": [30.0], "x0": [10.0]}, spec)
    assert isinstance(array, np.ndarray) and array.dtype == np.float64
    assert array.tolist() == [[10.0, 30.0]]


def test_model_input_rebuilds_categorical_columns_with_their_categories() -> None:
    dtype = pd.CategoricalDtype(["low", "mid", "high"])
    X = pd.DataFrame({"level": pd.Series(["low", "high"], dtype=dtype)})
    spec = infer_input_spec(X, format="dataframe", names_generated=False, allow_nan=False)
    frame = model_input({"level": ["mid"]}, spec)
    assert frame["level"].dtype == dtype and frame["level"].cat.codes.tolist() == [1]


def test_model_input_rebuilds_booleans_with_gaps_as_pandas_reads_them() -> None:
    # pandas reads a CSV column of True, False and blanks as objects; an encoder fitted on
    # that column must get True/False objects and NaN back, not 1.0/0.0.
    spec = infer_input_spec(
        pd.DataFrame({"diabetic": pd.Series([True, None, False], dtype=object)}),
        format="dataframe",
        names_generated=False,
        allow_nan=False,
    )
    column = model_input({"diabetic": [True, None, False]}, spec)["diabetic"]
    assert column.dtype == object
    assert column[0] is True and column[2] is False and np.isnan(column[1])
