"""Format 4.0's schema: kinds from the data, the model's pipeline and the data dictionary.

The frames are shaped like the clinical tables the input contract was tried on: Mayo PBC's
edema (0, 0.5, 1) and stage (1 to 4), birthwt's weight (whole numbers in training).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from packager.artefact import ColumnHint, feature_without_data
from packager.artefact.schema import MAX_CATEGORIES, feature_spec, infer_input_spec
from packager.capture import FeatureEntry, as_dictionary
from packager.errors import DictionaryError

SECRET = 987654.25  # a training value no error may quote


def spec_of(column: pd.Series, **kwargs: object) -> dict[str, object]:
    feature = feature_spec("f", column, allow_nan=False, **kwargs)  # type: ignore[arg-type]
    return {key: getattr(feature, key) for key in ("kind", "dtype", "nullable", "categories")}


def test_whole_training_numbers_of_an_integer_dtype_are_a_number_with_the_dtype_kept() -> None:
    weight = pd.Series([50, 61, 72, 58, 66])  # birthwt: the weights happen to be whole
    assert spec_of(weight) == {
        "kind": "number",
        "dtype": "int64",
        "nullable": False,
        "categories": None,
    }


def test_only_the_dictionary_makes_an_integer() -> None:
    entry = FeatureEntry(integer=True)
    assert spec_of(pd.Series([1, 2, 3]), entry=entry)["kind"] == "integer"
    assert spec_of(pd.Series([1.0, 2.0, np.nan]), entry=entry)["kind"] == "integer"


def test_numeric_codes_the_pipeline_encodes_are_a_category_of_numbers() -> None:
    edema = pd.Series([0.0, 0.5, 1.0, 0.0, 0.0])
    encoded = ColumnHint(categories=[0.0, 0.5, 1.0])
    assert spec_of(edema, hint=encoded) == {
        "kind": "category",
        "dtype": "float64",
        "nullable": False,
        "categories": [0.0, 0.5, 1.0],
    }
    stage = spec_of(pd.Series([1, 2, 3, 4, 2]), hint=ColumnHint(categories=[1, 2, 3, 4]))
    assert stage["kind"] == "category" and stage["dtype"] == "int64"
    assert stage["categories"] == [1, 2, 3, 4]
    assert all(type(c) is int for c in stage["categories"])  # type: ignore[attr-defined]


def test_an_encoded_number_with_many_distinct_values_stays_a_number() -> None:
    many = pd.Series(np.arange(MAX_CATEGORIES + 1, dtype=float) / 10)
    assert spec_of(many, hint=ColumnHint(categories=many.tolist()))["kind"] == "number"


def test_the_dictionary_decides_whether_numbers_are_codes() -> None:
    stage = pd.Series([1, 2, 3, 4, 2])
    assert spec_of(stage, entry=FeatureEntry(categorical=True))["kind"] == "category"
    encoded = ColumnHint(categories=[1, 2, 3, 4])
    assert spec_of(stage, hint=encoded, entry=FeatureEntry(categorical=False))["kind"] == "number"
    # Limits (or integer) are a measurement's, yet the model takes the column as codes: a
    # value between them would be scored as none, unwarned. The author must say which it is.
    for measured in (FeatureEntry(min=1, max=4), FeatureEntry(integer=True)):
        with pytest.raises(DictionaryError, match="'f': the model's pipeline encodes it as"):
            spec_of(stage, hint=encoded, entry=measured)
    limited = FeatureEntry(min=1, max=4, categorical=False)
    assert spec_of(stage, hint=encoded, entry=limited)["kind"] == "number"


def test_text_the_dictionary_calls_categorical_stays_a_category() -> None:
    column = pd.Series(["a", "b", "a"])
    assert spec_of(column, entry=FeatureEntry(categorical=True))["kind"] == "category"


def test_a_feature_the_pipeline_imputes_accepts_null_though_training_had_no_gaps() -> None:
    feature = feature_spec(
        "bili", pd.Series([1.2, 0.8, 3.1]), allow_nan=False, hint=ColumnHint(imputed=True)
    )
    assert feature.nullable and feature.imputed and feature.missing_rate == 0.0


def test_the_dictionary_overrides_nullable_either_way() -> None:
    gaps = pd.Series([1.0, np.nan, 2.0])
    assert not spec_of(gaps, entry=FeatureEntry(nullable=False))["nullable"]
    assert spec_of(pd.Series([1.0, 2.0]), entry=FeatureEntry(nullable=True))["nullable"]


def test_the_dictionary_describes_a_feature_and_lists_what_it_declared() -> None:
    entry = FeatureEntry(
        unit="years", description="Age at diagnosis", max=120, min=0, nullable=True
    )
    feature = feature_spec("age", pd.Series([40, 55, 71]), allow_nan=False, entry=entry)
    assert (feature.unit, feature.description) == ("years", "Age at diagnosis")
    assert (feature.plausible_min, feature.plausible_max) == (0, 120)
    assert (feature.min, feature.max) == (40, 71)  # the training range, kept apart
    assert feature.declared == ["unit", "description", "min", "max", "nullable"]


def test_an_identifier_is_recorded_unless_the_dictionary_says_it_is_not() -> None:
    ids = pd.Series(range(30))
    assert feature_spec("ID", ids, allow_nan=False, identifier=True).identifier
    entry = FeatureEntry(identifier=False)
    assert not feature_spec("ID", ids, allow_nan=False, identifier=True, entry=entry).identifier
    assert feature_spec(
        "code", ids, allow_nan=False, entry=FeatureEntry(identifier=True)
    ).identifier


@pytest.mark.parametrize(
    ("column", "entry", "problem"),
    [
        (
            pd.Series([55.5, 61.0, SECRET]),
            {"integer": True},
            "'f': integer: true, but 2 training rows hold a fraction",
        ),
        (pd.Series(["a", "b"]), {"integer": True}, "'f': integer: true, but its training"),
        (pd.Series(["a", "b"]), {"categorical": False}, "'f': categorical: false, but its"),
        (pd.Series(["a", "b"]), {"min": 0}, "'f': min and max are plausible limits of a number"),
        (pd.Series([True, False]), {"max": 1}, "this feature is a boolean"),
        (
            pd.Series([-5.0, 40.0, SECRET, np.nan]),
            {"min": 0, "max": 120, "unit": "years"},
            "2 training rows of 'f' lie outside the plausible limits 0 to 120 years; "
            "correct the data or the limits",
        ),
        (pd.Series([130.0, 40.0]), {"max": 120.5}, "1 training row of 'f' lies outside"),
    ],
)
def test_a_dictionary_the_training_data_contradicts_is_refused_naming_no_value(
    column: pd.Series, entry: dict[str, object], problem: str
) -> None:
    dictionary = as_dictionary({"f": entry}, source="features.yaml")
    assert dictionary is not None
    with pytest.raises(DictionaryError) as raised:
        infer_input_spec(
            pd.DataFrame({"f": column}),
            format="dataframe",
            names_generated=False,
            allow_nan=False,
            dictionary=dictionary,
        )
    message = raised.value.message
    assert message.startswith("features.yaml: ") and problem in message
    assert str(SECRET) not in message and "-5" not in message and "130" not in message


def test_a_bare_estimators_features_come_from_its_encoders_and_the_dictionary() -> None:
    codes = feature_without_data("edema", ColumnHint([0.0, 0.5, 1.0]), allow_nan=False)
    assert (codes.kind, codes.dtype, codes.categories) == ("category", "float64", [0.0, 0.5, 1.0])
    stage = feature_without_data("stage", ColumnHint([1, 2, 3, 4]), allow_nan=False)
    assert (stage.kind, stage.dtype) == ("category", "int64")
    flag = feature_without_data("smoker", ColumnHint([False, True]), allow_nan=False)
    assert (flag.kind, flag.dtype) == ("boolean", "bool")
    entry = FeatureEntry(integer=True, min=0, max=120, unit="years", nullable=True)
    age = feature_without_data("age", None, allow_nan=False, entry=entry)
    assert (age.kind, age.nullable, age.plausible_max, age.unit) == ("integer", True, 120, "years")
    imputed = feature_without_data("bili", ColumnHint(imputed=True), allow_nan=False)
    assert (imputed.kind, imputed.nullable, imputed.imputed) == ("number", True, True)
    said = FeatureEntry(categorical=False)
    assert feature_without_data("stage", ColumnHint([1, 2]), allow_nan=False, entry=said).kind == (
        "number"
    )


def test_a_bare_estimators_category_without_known_codes_is_a_dictionary_error() -> None:
    entry = FeatureEntry(categorical=True)
    with pytest.raises(DictionaryError, match="'stage': categorical: true, but no encoder"):
        feature_without_data("stage", None, allow_nan=False, entry=entry, source="features.csv")
    codes = feature_without_data("stage", ColumnHint([1, 2]), allow_nan=False, entry=entry)
    assert (codes.kind, codes.categories) == ("category", [1, 2])


def test_the_schema_lists_declared_keys_in_the_dictionarys_order() -> None:
    from packager.artefact.schema import DECLARABLE
    from packager.capture.dictionary import KEYS

    assert DECLARABLE == KEYS


def test_a_bare_estimators_encoded_column_given_limits_must_be_said_categorical_or_not() -> None:
    encoded = ColumnHint(categories=[1, 2, 3, 4])
    with pytest.raises(DictionaryError, match="'stage': the model's pipeline encodes it as"):
        feature_without_data("stage", allow_nan=False, hint=encoded, entry=FeatureEntry(max=4))
    kept = feature_without_data(
        "stage", allow_nan=False, hint=encoded, entry=FeatureEntry(max=4, categorical=False)
    )
    assert (kept.kind, kept.plausible_max) == ("number", 4)
    codes = feature_without_data("stage", allow_nan=False, hint=encoded)
    assert (codes.kind, codes.categories) == ("category", [1, 2, 3, 4])
