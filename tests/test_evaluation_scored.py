"""Naming the positive class: what a user types is matched to one of the model's classes."""

from __future__ import annotations

from typing import Any

import pytest

from packager.artefact import Label
from packager.errors import CaptureError
from packager.evaluation import positive_class_of


@pytest.mark.parametrize(
    ("given", "classes", "found"),
    [
        (None, [0, 1], 1),
        (None, ["benign", "malignant"], "malignant"),
        ("1", [0, 1], 1),
        ("0", [0, 1], 0),
        (0, [0, 1], 0),
        ("1", [0.0, 1.0], 1.0),
        ("yes", ["no", "yes"], "yes"),
        ("YES", ["no", "yes"], "yes"),
        ("1", ["0", "1"], "1"),
        (True, [False, True], True),
        ("true", [False, True], True),
        ("False", [False, True], False),
    ],
)
def test_the_given_positive_class_names_one_of_the_models_classes(
    given: Any, classes: list[Label], found: Label
) -> None:
    chosen = positive_class_of(given, classes, "binary")
    assert chosen == found and type(chosen) is type(found)


@pytest.mark.parametrize(
    ("given", "classes", "message"),
    [
        ("maybe", ["no", "yes"], r"'maybe' is not one of the model's classes: 'no', 'yes'"),
        (True, [0, 1], r"True is not one of the model's classes: 0, 1"),
        ("2", [0, 1], r"'2' is not one of the model's classes: 0, 1"),
        ("YES", ["Yes", "yes"], r"'YES' is ambiguous: it names each of the classes 'Yes', 'yes'"),
    ],
)
def test_an_unknown_or_ambiguous_positive_class_is_refused_naming_the_classes(
    given: Any, classes: list[Label], message: str
) -> None:
    with pytest.raises(CaptureError, match=message):
        positive_class_of(given, classes, "binary")


def test_a_positive_class_is_refused_for_multiclass_classifiers_and_regressors() -> None:
    with pytest.raises(CaptureError, match="applies to binary classifiers; this model is a 3-"):
        positive_class_of("1", [0, 1, 2], "multiclass")
    with pytest.raises(CaptureError, match="applies to binary classifiers; this model is a reg"):
        positive_class_of("1", [], "regression")
    assert positive_class_of(None, [0, 1, 2], "multiclass") is None
