"""capture(features=...): the data dictionary held against the data and the model.

The tables are shaped like those the input contract was tried on: MASS biopsy (an ``ID``
column with 645 distinct values in 699 rows), Mayo PBC (bilirubin, edema codes) and ages
with a plausible range.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from packager import capture, load_model_file, package
from packager.capture import read_dictionary, synthetic_rows
from packager.errors import DeploymlWarning, DictionaryError

SECRET_AGE = 131.5  # a training value no error may quote


def patients(n: int = 120, seed: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    """age (years, whole), bilirubin (no gaps), albumin."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.integers(30, 80, n),
            "bili": rng.gamma(2.0, 1.0, n).round(2),
            "albumin": rng.normal(3.5, 0.4, n).round(2),
        }
    )
    y = pd.Series((X["bili"] + rng.normal(0, 1, n) > 2).astype(int), name="died")
    return X, y


def imputing_model(X: pd.DataFrame, y: pd.Series) -> Any:
    return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression()).fit(X, y)


def plain_model(X: pd.DataFrame, y: pd.Series) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


AGE = {"unit": "years", "description": "Age at diagnosis", "min": 18, "max": 120}


def test_the_dictionary_is_recorded_with_each_feature() -> None:
    X, y = patients()
    features = {"age": AGE, "bili": {"unit": "mg/dl", "nullable": True}}
    spec = capture(imputing_model(X, y), X, y, features=features).manifest.input
    age, bili, albumin = spec.features
    assert (age.unit, age.description, age.plausible_min, age.plausible_max) == (
        "years",
        "Age at diagnosis",
        18,
        120,
    )
    assert age.declared == ["unit", "description", "min", "max"]
    assert (bili.unit, bili.declared, bili.nullable, bili.imputed) == (
        "mg/dl",
        ["unit", "nullable"],
        True,
        True,
    )
    assert albumin.declared == [] and albumin.unit is None


def test_a_dictionary_file_is_read_and_applied(tmp_path: Path) -> None:
    path = tmp_path / "features.yaml"
    path.write_text("age:\n  unit: years\n  min: 18\n  max: 120\n  integer: true\n")
    X, y = patients()
    spec = capture(imputing_model(X, y), X, y, features=read_dictionary(path)).manifest.input
    assert spec.features[0].kind == "integer" and spec.features[0].unit == "years"


def test_names_the_model_does_not_know_are_refused_with_a_suggestion() -> None:
    X, y = patients()
    with pytest.raises(DictionaryError) as raised:
        capture(plain_model(X, y), X, y, features={"agee": AGE})
    assert raised.value.message == (
        "features: describes 'agee' (did you mean 'age'?), not among the model's features, "
        "its target or its subgroup columns"
    )


def test_the_target_and_subgroup_columns_may_be_described(tmp_path: Path) -> None:
    X, y = patients()
    X_test = X.assign(sex=np.where(np.arange(len(X)) % 2, "F", "M"))
    features = {"died": {"description": "Death within 5 years"}, "sex": {"description": "Sex"}}
    model = plain_model(X, y)
    captured = capture(model, X, y, X_test=X_test, y_test=y, subgroups=["sex"], features=features)
    assert captured.manifest.input.names == ["age", "bili", "albumin"]
    # The same dictionary, given again when its capture file is packaged.
    again = load_model_file(captured.save(tmp_path / "captured.pkl"), features=features)
    assert again.manifest.input.names == ["age", "bili", "albumin"]


def test_training_rows_outside_the_plausible_limits_are_refused_with_a_count() -> None:
    X, y = patients()
    X["age"] = X["age"].astype(float)
    X.loc[[3, 7], "age"] = [SECRET_AGE, 12]
    with pytest.raises(DictionaryError) as raised:
        capture(plain_model(X, y), X, y, features={"age": AGE})
    message = raised.value.message
    assert message == (
        "features: 2 training rows of 'age' lie outside the plausible limits 18 to 120 years; "
        "correct the data or the limits"
    )
    assert str(SECRET_AGE) not in message


def test_test_rows_outside_the_plausible_limits_are_refused_with_a_count() -> None:
    X, y = patients()
    X_test = X.copy()
    X_test.loc[5, "age"] = 150
    with pytest.raises(DictionaryError, match="1 test row of 'age' lies outside the plausible"):
        capture(plain_model(X, y), X, y, X_test=X_test, y_test=y, features={"age": AGE})


def test_nullable_for_a_feature_the_model_cannot_score_missing_is_refused() -> None:
    X, y = patients()
    with pytest.raises(DictionaryError) as raised:
        capture(plain_model(X, y), X, y, features={"bili": {"nullable": True}})
    assert raised.value.message == (
        "features: 'bili': nullable: true, but the Pipeline cannot score a row with it missing "
        "(ValueError); impute it in the model's pipeline, or leave nullable out"
    )


def test_nullable_is_accepted_where_the_estimator_scores_missing_values() -> None:
    X, y = patients()
    model = HistGradientBoostingClassifier(max_iter=5).fit(X, y)
    spec = capture(model, X, y, features={"bili": {"nullable": True}}).manifest.input
    assert spec.features[1].nullable


def test_a_feature_without_gaps_behind_an_imputer_accepts_null_when_served(
    tmp_path: Path, client: Callable[..., FlaskClient]
) -> None:
    X, y = patients()
    model = imputing_model(X, y)
    assert not X["bili"].isna().any()
    path = package(capture(model, X, y), tmp_path / "artefact")
    response = client(path).post("/predict", json={"age": 60, "bili": None, "albumin": 3.4})
    assert response.status_code == 200, response.get_json()
    row = pd.DataFrame({"age": [60.0], "bili": [np.nan], "albumin": [3.4]})
    assert response.get_json()["predictions"] == model.predict(row).tolist()


def biopsy(n: int = 699) -> tuple[pd.DataFrame, pd.Series]:
    """MASS biopsy's shape: an ``ID`` of 645 distinct values, and cell scores 1 to 10."""
    rng = np.random.default_rng(2)
    ids = np.concatenate([np.arange(1000, 1645), rng.integers(1000, 1645, n - 645)])
    X = pd.DataFrame({"ID": ids, "thickness": rng.integers(1, 11, n)})
    return X, pd.Series((X["thickness"] + rng.normal(0, 2, n) > 5).astype(int), name="class")


def test_an_identifier_column_is_kept_warned_of_and_recorded() -> None:
    X, y = biopsy()
    model = LogisticRegression().fit(X, y)
    with pytest.warns(DeploymlWarning) as warned:
        captured = capture(model, X, y)
    assert [str(w.message) for w in warned] == [
        "feature 'ID' looks like a record identifier (its name looks like an identifier's); "
        "the model uses it, so it is kept and recorded as an identifier. A model that reads "
        "identifiers learns rows, not patients: leave it out when training, or say "
        "identifier: false for it in the data dictionary if it is not one"
    ]
    identifier, thickness = captured.manifest.input.features
    assert identifier.identifier and not thickness.identifier


def test_nearly_all_distinct_whole_numbers_are_warned_of_by_their_values() -> None:
    X, y = biopsy()
    X = X.rename(columns={"ID": "sample"})
    with pytest.warns(DeploymlWarning, match=r"'sample' .* \(645 distinct values in 699 rows\)"):
        captured = capture(LogisticRegression().fit(X, y), X, y)
    assert captured.manifest.input.features[0].identifier


def test_the_dictionary_silences_the_identifier_warning() -> None:
    X, y = biopsy()
    model = LogisticRegression().fit(X, y)
    captured = capture(model, X, y, features={"ID": {"identifier": False}})  # warnings are errors
    assert not captured.manifest.input.features[0].identifier
    assert captured.manifest.input.features[0].declared == ["identifier"]


def test_the_self_test_rows_stay_within_the_plausible_limits() -> None:
    X, y = patients()
    captured = capture(imputing_model(X, y), X, y, features={"age": AGE})
    for row in [*captured.self_test.inputs, *synthetic_rows(captured.manifest.input).values()]:
        assert row["age"] is None or 18 <= row["age"] <= 120


def test_whole_numbers_only_for_a_measured_feature_is_refused() -> None:
    X, y = patients()
    with pytest.raises(DictionaryError, match=r"'albumin': integer: true, but .* training rows"):
        capture(plain_model(X, y), X, y, cv=5, features={"albumin": {"integer": True}})
