"""The trivial baseline: a model that learnt nothing is said to be no better than it, loudly.

The models are real (breast cancer, diabetes); "learnt nothing" is a model fitted on shuffled
labels, whose outputs carry no information about the test rows' outcomes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from packager import capture, summarise
from packager.artefact import model_card
from packager.errors import DeploymlWarning
from packager.evaluation import Scored, baseline_metrics, uncalibrated, worse_than_baseline

Split = tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]


@pytest.fixture(scope="module")
def cancer() -> Split:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return tuple(train_test_split(X, y, random_state=0, stratify=y))  # type: ignore[return-value]


def shuffled(y: pd.Series, seed: int) -> np.ndarray:
    return y.sample(frac=1, random_state=seed).to_numpy()


def test_a_model_fitted_on_shuffled_labels_is_said_to_be_worse_than_the_baseline(
    cancer: Split,
) -> None:
    X_train, X_test, y_train, y_test = cancer
    labels = shuffled(y_train, seed=2)
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(X_train, labels)
    with pytest.warns(DeploymlWarning, match="no better than a trivial baseline.*brier"):
        captured = capture(model, X_train, labels, X_test=X_test, y_test=y_test)
    test = (captured.manifest.metrics or {})["test"]
    assert test["worse_than_baseline"][0].startswith("brier ")
    assert "is no better than the baseline's" in test["worse_than_baseline"][0]
    assert test["brier"] >= test["baseline"]["brier"]


def test_a_good_model_is_better_than_the_baseline_whose_numbers_are_those_of_no_skill(
    cancer: Split,
) -> None:
    X_train, X_test, y_train, y_test = cancer
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train)
    test = (capture(model, X_train, y_train, X_test=X_test, y_test=y_test).manifest.metrics or {})[
        "test"
    ]
    assert test["worse_than_baseline"] == []
    reference = test["baseline"]
    assert reference["strategy"] == "training class frequencies; majority class"
    majority = y_train.value_counts().idxmax()
    assert reference["accuracy"] == pytest.approx(np.mean(y_test == majority))
    assert reference["roc_auc"] == 0.5 and reference["balanced_accuracy"] == 0.5
    share = np.mean(y_train == 1)
    expected_brier = np.mean((share - (y_test == 1)) ** 2)
    assert reference["brier"] == pytest.approx(expected_brier)
    assert set(reference) == {"strategy", *test["intervals"]}


def test_a_regressor_fitted_on_shuffled_targets_is_worse_than_the_training_mean() -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    noise = shuffled(y_train, seed=1)
    with pytest.warns(DeploymlWarning, match="mae .* no better than the baseline's"):
        captured = capture(
            Ridge().fit(X_train, noise), X_train, noise, X_test=X_test, y_test=y_test
        )
    test = (captured.manifest.metrics or {})["test"]
    assert test["baseline"]["strategy"] == "training mean"
    mean_error = np.mean(np.abs(y_test - y_train.mean()))
    assert test["baseline"]["mae"] == pytest.approx(mean_error)
    good = Ridge().fit(X_train, y_train)
    test = (capture(good, X_train, y_train, X_test=X_test, y_test=y_test).manifest.metrics or {})[
        "test"
    ]
    assert test["worse_than_baseline"] == []


def test_without_probabilities_balanced_accuracy_no_better_than_chance_is_worse() -> None:
    y = np.array(["no"] * 8 + ["yes"] * 2)
    predicted = np.array(["yes"] * 4 + ["no"] * 4 + ["yes", "no"])
    scored = Scored("binary", y, predicted, None, ("no", "yes"), "yes")
    reference = baseline_metrics(scored, training=np.array(["no"] * 7 + ["yes"] * 3))
    assert reference["accuracy"] == 0.8 and reference["balanced_accuracy"] == 0.5
    values: dict[str, Any] = {"accuracy": 0.5, "balanced_accuracy": 0.5, "brier": None}
    said = worse_than_baseline(values, reference, "binary", has_proba=False)
    assert said == ["balanced_accuracy 0.5 is no better than the baseline's 0.5"]


def test_a_useful_model_without_probabilities_on_rare_positives_is_not_called_worse() -> None:
    # 5% prevalence: catching 8 of 10 positives at 85% specificity is far less accurate than
    # always saying "no" (0.85 against 0.95), and still a useful model.
    y = np.array(["no"] * 190 + ["yes"] * 10)
    predicted = np.array(["yes"] * 28 + ["no"] * 162 + ["yes"] * 8 + ["no"] * 2)
    scored = Scored("binary", y, predicted, None, ("no", "yes"), "yes")
    reference = baseline_metrics(scored, training=y)
    values = {"accuracy": 0.85, "balanced_accuracy": (8 / 10 + 162 / 190) / 2}
    assert values["accuracy"] < reference["accuracy"]
    assert worse_than_baseline(values, reference, "binary", has_proba=False) == []


def test_a_classifier_without_probabilities_is_compared_on_balanced_accuracy(cancer: Split) -> None:
    X_train, X_test, y_train, y_test = cancer
    model = make_pipeline(StandardScaler(), LinearSVC()).fit(X_train, y_train)
    test = (capture(model, X_train, y_train, X_test=X_test, y_test=y_test).manifest.metrics or {})[
        "test"
    ]
    assert test["brier"] is None and test["calibration"] is None
    assert test["balanced_accuracy"] > test["baseline"]["balanced_accuracy"]
    assert test["worse_than_baseline"] == []


def test_a_class_weighted_model_on_rare_positives_is_said_uncalibrated_not_worse() -> None:
    # 5% prevalence; class weights push every probability up, so the Brier score is worse than
    # the prevalence's while the model ranks patients far better than chance.
    rng = np.random.default_rng(2)
    sick = rng.random(6000) < 0.05
    X = pd.DataFrame({"a": rng.normal(size=6000) + 2.0 * sick, "b": rng.normal(size=6000)})
    y = sick.astype(int)
    model = LogisticRegression(class_weight="balanced").fit(X[:3000], y[:3000])
    with pytest.warns(DeploymlWarning, match="ranks patients better than chance.*not calibrated"):
        captured = capture(model, X[:3000], y[:3000], X_test=X[3000:], y_test=y[3000:])
    test = (captured.manifest.metrics or {})["test"]
    assert test["brier"] > test["baseline"]["brier"] and test["intervals"]["roc_auc"][0] > 0.5
    assert test["worse_than_baseline"] == []
    # Recorded, so the card and inspect say it first too, not only the packaging run.
    assert "not calibrated" in test["uncalibrated"]
    assert "not calibrated" in model_card(captured.manifest).split("## ", 2)[1]
    assert any(
        "WARNING:" in line and "not calibrated" in line
        for line in summarise(captured.manifest).splitlines()
    )


def test_a_worse_proper_score_is_said_when_the_ranking_may_be_chance() -> None:
    values = {"brier": 0.3, "roc_auc": 0.56}
    reference = {"brier": 0.25, "roc_auc": 0.5}
    maybe_chance = {"roc_auc": [0.48, 0.64]}
    said = worse_than_baseline(values, reference, "binary", True, maybe_chance)
    assert said == ["brier 0.3 is no better than the baseline's 0.25"]
    assert uncalibrated(values, reference, "binary", True, maybe_chance) is None
    better = {"roc_auc": [0.51, 0.61]}
    assert worse_than_baseline(values, reference, "binary", True, better) == []
    note = uncalibrated(values, reference, "binary", True, better)
    assert note is not None and "brier 0.3 against 0.25" in note
