"""load_model_file(features=...): a data dictionary given at packaging.

A capture file's schema was decided with its data: a dictionary may describe its features and
set plausible limits (held against the recorded training range and rows), but what they accept
is refused with a pointer to capture(). A bare estimator takes every key; with data, the
dictionary goes to capture() as it would from a training script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from packager import FORMAT_VERSION, capture, load_model_file
from packager.errors import DictionaryError

PatientData = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]
AGE = {"unit": "years", "description": "Age on admission", "min": 0, "max": 120}


@pytest.fixture
def capture_file(pipeline_model: Any, patient_data: PatientData, tmp_path: Path) -> Path:
    X, y, _, _ = patient_data
    return capture(pipeline_model, X, y, features={"bmi": {"unit": "kg/m2"}}).save(
        tmp_path / "captured.pkl"
    )


def test_a_capture_file_takes_descriptions_and_plausible_limits(capture_file: Path) -> None:
    features = {"age": AGE, "bmi": {"description": "Body mass index"}, "readmitted": {}}
    spec = load_model_file(capture_file, features=features).manifest.input
    age, bmi = spec.features[:2]
    assert (age.unit, age.plausible_min, age.plausible_max) == ("years", 0, 120)
    assert age.declared == ["unit", "description", "min", "max"]
    # What capture recorded is kept; what the new dictionary says is added.
    assert (bmi.unit, bmi.description, bmi.declared) == (
        "kg/m2",
        "Body mass index",
        ["unit", "description"],
    )


@pytest.mark.parametrize("key", ["categorical", "integer", "nullable"])
def test_a_capture_file_refuses_keys_that_change_what_it_accepts(
    capture_file: Path, key: str
) -> None:
    with pytest.raises(DictionaryError) as raised:
        load_model_file(capture_file, features={"age": {key: False}})
    assert raised.value.message == (
        f"features: 'age': {key} change what the model accepts, which the capture file already "
        "recorded from its data; pass them to capture(features=...) when capturing the model"
    )


def test_limits_narrower_than_the_recorded_training_range_are_refused(capture_file: Path) -> None:
    with pytest.raises(DictionaryError) as raised:
        load_model_file(capture_file, features={"age": {"min": 18, "max": 65}})
    assert raised.value.message == (
        "features: 'age': the training range recorded in the capture file reaches outside the "
        "plausible limits 18 to 65; correct the limits, or correct the data and capture the "
        "model again"
    )


def test_a_capture_file_refuses_limits_on_a_category_and_unknown_names(
    capture_file: Path,
) -> None:
    with pytest.raises(DictionaryError, match="'ward': min and max are plausible limits"):
        load_model_file(capture_file, features={"ward": {"min": 0}})
    with pytest.raises(DictionaryError, match=r"describes 'bmii' \(did you mean 'bmi'\?\)"):
        load_model_file(capture_file, features={"bmii": {"unit": "kg/m2"}})


def test_stored_real_examples_outside_new_limits_are_refused_with_a_count(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    X, y, X_test, y_test = patient_data
    X_test = X_test.copy()
    X_test.loc[0, "bmi"] = 80.0  # beyond training, and beyond the limits given later
    path = capture(
        pipeline_model, X, y, X_test=X_test, y_test=y_test, examples="real", n_examples=3
    ).save(tmp_path / "real.pkl")
    high = float(X["bmi"].max()) + 1
    with pytest.raises(DictionaryError) as raised:
        load_model_file(path, features={"bmi": {"max": high}})
    assert raised.value.message.startswith(
        "features: 1 example row of 'bmi' lies outside the plausible limits"
    )


def bare_model() -> tuple[Any, pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(6)
    n = 80
    X = pd.DataFrame(
        {
            "edema": rng.choice([0.0, 0.5, 1.0], n),
            "age": rng.integers(30, 80, n),
            "bili": rng.gamma(2.0, 1.0, n),
        }
    )
    y = pd.Series((X["edema"] + X["bili"] / 4 > 0.9).astype(int))
    encode = ColumnTransformer(
        [
            ("codes", OneHotEncoder(handle_unknown="ignore"), ["edema"]),
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), ["bili"]),
        ],
        remainder="passthrough",
    )
    return make_pipeline(encode, LogisticRegression()).fit(X, y), X, y


def test_a_bare_estimator_takes_every_key_and_its_encoders_codes(tmp_path: Path) -> None:
    model, _, _ = bare_model()
    joblib.dump(model, tmp_path / "bare.pkl")
    features = {"age": {**AGE, "min": 18, "integer": True}, "bili": {"unit": "mg/dl"}}
    captured = load_model_file(tmp_path / "bare.pkl", features=features)
    edema, age, bili = captured.manifest.input.features
    assert (edema.kind, edema.dtype, edema.categories) == ("category", "float64", [0.0, 0.5, 1.0])
    assert (age.kind, age.unit, age.plausible_min, age.nullable) == ("integer", "years", 18, False)
    assert (bili.kind, bili.nullable, bili.imputed, bili.unit) == ("number", True, True, "mg/dl")
    # Without data a number defaults to 0, which the limits move to 18.
    assert {row["age"] for row in captured.self_test.inputs} == {18}


def test_a_bare_estimator_refuses_nullable_for_a_feature_it_cannot_score_missing(
    tmp_path: Path,
) -> None:
    model, _, _ = bare_model()
    joblib.dump(model, tmp_path / "bare.pkl")
    with pytest.raises(DictionaryError, match="'age': nullable: true, but the Pipeline cannot"):
        load_model_file(tmp_path / "bare.pkl", features={"age": {"nullable": True}})


def test_a_bare_estimator_with_data_hands_the_dictionary_to_capture(tmp_path: Path) -> None:
    model, X, y = bare_model()
    joblib.dump(model, tmp_path / "bare.pkl")
    train = X.assign(died=y)
    with pytest.raises(DictionaryError, match="training rows of 'age' lie outside"):
        load_model_file(
            tmp_path / "bare.pkl", train=train, target="died", features={"age": {"max": 40}}
        )
    spec = load_model_file(
        tmp_path / "bare.pkl", train=train, target="died", features={"died": {"unit": "yes/no"}}
    ).manifest.input
    assert spec.features[0].kind == "category"


def test_an_older_capture_file_described_at_packaging_is_written_as_the_current_format(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    X, y, _, _ = patient_data
    saved = capture(pipeline_model, X, y).to_dict()
    saved["deployml_capture"] = saved["manifest"]["format_version"] = "3.0"
    joblib.dump(saved, tmp_path / "old.pkl")
    assert load_model_file(tmp_path / "old.pkl").manifest.format_version == "3.0"
    described = load_model_file(tmp_path / "old.pkl", features={"age": AGE}).manifest
    assert described.format_version == FORMAT_VERSION == "4.2"


def test_a_bare_estimators_dictionary_may_describe_the_target_named_for_it(tmp_path: Path) -> None:
    model, _, _ = bare_model()
    joblib.dump(model, tmp_path / "bare.pkl")
    features = {"died": {"description": "Death within 5 years"}}
    with pytest.raises(DictionaryError, match="describes 'died', not among the model's"):
        load_model_file(tmp_path / "bare.pkl", features=features)
    captured = load_model_file(tmp_path / "bare.pkl", target="died", features=features)
    assert captured.manifest.input.names == ["edema", "age", "bili"]
