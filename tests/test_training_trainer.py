"""``packager.train``: every model family, the column decisions, search, folds and bad input."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from PIL import Image
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from packager import ModelDetails, load_artefact, package, summarise, train, verify
from packager.artefact import file_sha256
from packager.errors import DeploymlWarning, TrainingError
from packager.training import TableOptions
from packager.training.models import MODELS
from packager.training.trainer import train_csv

CLASSIFIERS = [m for m in MODELS if m != "linear-regression"]
# The passengers' class and siblings are few numbers, which train warns may be codes.
CODES_OF_PASSENGERS = pytest.mark.filterwarnings("ignore:column '(Pclass|SibSp)' holds")
REGRESSORS = [m for m in MODELS if m != "logistic-regression"]


def patients(n: int = 160, seed: int = 0, labels: tuple[str, ...] = ("no", "yes")) -> pd.DataFrame:
    """Numbers with gaps, a category and a label that depends on them."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 90, n).astype(float)
    ward = rng.choice(["a", "b", "c"], n)
    score = (age - 55) / 15 + (ward == "c") * 1.5 + rng.normal(0, 0.7, n)
    cuts = np.quantile(score, np.linspace(0, 1, len(labels) + 1)[1:-1])
    frame = pd.DataFrame(
        {
            "age": age,
            "bmi": rng.normal(27, 4, n).round(1),
            "ward": ward,
            "outcome": np.array(labels)[np.searchsorted(cuts, score)],
        }
    )
    frame.loc[frame.index % 9 == 4, "bmi"] = np.nan
    return frame


def costs(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """A numeric target (length of stay) from numbers and a category."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 90, n)
    ward = rng.choice(["a", "b", "c"], n)
    stay = 2 + age / 10 + (ward == "b") * 3 + rng.normal(0, 1, n)
    return pd.DataFrame({"age": age, "ward": ward, "stay": stay.round(2)})


def is_png(data: bytes) -> bool:
    image = Image.open(io.BytesIO(data))
    image.verify()
    return image.format == "PNG" and min(Image.open(io.BytesIO(data)).size) >= 100


@pytest.mark.parametrize("model", CLASSIFIERS)
def test_every_classifier_family_trains_packages_and_verifies(model: str, tmp_path: Path) -> None:
    captured = train(
        patients(), "outcome", model=model, plots=False, details=ModelDetails(name=model)
    )
    manifest = captured.manifest
    assert manifest.target is not None and manifest.target.task == "binary"
    assert manifest.target.classes == ["no", "yes"]
    assert manifest.metrics is not None and manifest.metrics["test"]["n_rows"] == 40
    assert manifest.metrics["test"]["roc_auc"] > 0.6
    assert manifest.training is not None and manifest.training["model"] == model
    assert manifest.estimator.class_name == "sklearn.pipeline.Pipeline"
    assert [f.name for f in manifest.input.features] == ["age", "bmi", "ward"]
    report = verify(package(captured, tmp_path / model))
    assert report.ok, report.checks


@pytest.mark.parametrize("model", REGRESSORS)
def test_every_regressor_family_trains_packages_and_verifies(model: str, tmp_path: Path) -> None:
    captured = train(costs(), "stay", model=model, plots=False)
    manifest = captured.manifest
    assert manifest.target is not None and manifest.target.task == "regression"
    assert manifest.training is not None
    assert manifest.training["task_reason"] == "the target is numeric"
    assert manifest.metrics is not None and set(manifest.metrics["test"]) >= {"mae", "rmse", "r2"}
    assert manifest.model.name == model
    assert verify(package(captured, tmp_path / model)).ok


def test_multiclass_text_labels_train_with_one_vs_rest_scores() -> None:
    captured = train(patients(labels=("low", "mid", "high")), "outcome", cv=3, plots=False)
    manifest = captured.manifest
    assert manifest.target is not None and manifest.target.task == "multiclass"
    assert manifest.metrics is not None
    assert manifest.metrics["cross_validation"]["scoring"] == "roc_auc_ovr"
    assert len(manifest.metrics["cross_validation"]["scores"]) == 3


def test_passenger_csv_with_gaps_ids_and_free_text_trains_and_serves(
    passengers_csv: Path, tmp_path: Path, client: Callable[..., FlaskClient]
) -> None:
    with pytest.warns(DeploymlWarning) as caught:
        captured = train_csv(passengers_csv, "Survived", model="logistic-regression", cv=3)
    said = " | ".join(str(w.message) for w in caught)
    assert "column 'Name' is left out: it has 240 distinct text values" in said
    assert "column 'Cabin' is left out" in said
    assert "column 'PassengerId' is left out: it may be an identifier" in said
    assert "column 'Pclass' holds 3 distinct numbers, which may be codes" in said
    training = captured.manifest.training
    assert training is not None
    assert training["data"] == {
        "source": "passengers.csv",
        "sha256": file_sha256(passengers_csv),
        "rows": 240,
        "columns": 10,
        "rows_without_target": 0,
        "read_with": {
            "sep": ",",
            "encoding": "utf-8",
            "decimal": ".",
            "na_values": [],
            "dates": [],
        },
    }
    assert training["features"] == {
        "numeric": ["Pclass", "Age", "SibSp", "Fare"],
        "categorical": ["Sex", "Embarked"],
    }
    assert set(training["dropped_columns"]) == {"PassengerId", "Name", "Cabin"}
    assert training["split"] == {"train_rows": 180, "test_rows": 60, "stratified": True}
    assert len(training["warnings"]) == 5  # three columns left out, two of codes
    expected_plots = {
        "plots/ROC_curve.png",
        "plots/precision_recall_curve.png",
        "plots/calibration_curve.png",
        "plots/confusion_matrix.png",
        "plots/learning_curve.png",
    }
    assert set(captured.attachments) == expected_plots
    assert all(is_png(data) for data in captured.attachments.values())

    out = package(captured, tmp_path / "titanic")
    card = (out / "MODEL_CARD.md").read_text()
    assert "![ROC curve](plots/ROC_curve.png)" in card
    assert expected_plots <= set(load_artefact(out).manifest.files)
    api = client(out)
    row = {
        "Pclass": 3,
        "Sex": "female",
        "Age": None,
        "SibSp": 0,
        "Fare": 7.25,
        "Embarked": "X",
    }
    response = api.post("/predict", json=row)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["predictions"][0] in (0, 1)
    assert any("Embarked" in str(w) for w in body["warnings"])
    assert api.get("/metadata").get_json()["training"]["model"] == "logistic-regression"


def test_search_picks_parameters_from_the_documented_grid_and_reports_progress() -> None:
    events: list[tuple[str, int, int]] = []
    captured = train(
        patients(),
        "outcome",
        model="decision-tree",
        search=True,
        cv=3,
        plots=False,
        progress=lambda step, done, total: events.append((step, done, total)),
    )
    assert captured.manifest.training is not None
    search = captured.manifest.training["search"]
    assert search["grid"] == {"max_depth": [3, 5, 8, None], "min_samples_leaf": [1, 5, 20]}
    assert len(search["candidates"]) == 12 and search["folds"] == 3
    for key, value in search["best_params"].items():
        assert value in search["grid"][key]
    assert captured.estimator.named_steps["model"].max_depth == search["best_params"]["max_depth"]
    by_step: dict[str, list[int]] = {}
    for step, done, total in events:
        by_step.setdefault(step, []).append(done)
        assert total == {"search": 36, "cross-validation": 3}[step]
    assert by_step["search"] == list(range(37))
    assert by_step["cross-validation"] == [0, 1, 2, 3]


@CODES_OF_PASSENGERS
def test_learning_curve_is_recorded_and_its_progress_counts_fits(passengers: pd.DataFrame) -> None:
    events: list[tuple[str, int, int]] = []
    captured = train(
        passengers,
        "Survived",
        model="logistic-regression",
        cv=3,
        progress=lambda step, done, total: events.append((step, done, total)),
    )
    assert captured.manifest.metrics is not None
    curve = captured.manifest.metrics["learning_curve"]
    assert curve["folds"] == 3 and curve["scoring"] == "roc_auc"
    assert len(curve["train_sizes"]) == 5 and curve["train_sizes"] == sorted(curve["train_sizes"])
    assert len(curve["test_scores"]) == 5 and all(len(row) == 3 for row in curve["test_scores"])
    steps = [e for e in events if e[0] == "learning curve"]
    assert steps[0] == ("learning curve", 0, 15) and steps[-1] == ("learning curve", 15, 15)


def test_learning_curve_is_skipped_with_a_warning_when_rows_are_few() -> None:
    with pytest.warns(DeploymlWarning, match="no learning curve: 45 training rows are too few"):
        captured = train(patients(60), "outcome", model="logistic-regression")
    assert captured.manifest.metrics is not None
    assert "learning_curve" not in captured.manifest.metrics
    assert "plots/learning_curve.png" not in captured.attachments
    assert "plots/ROC_curve.png" in captured.attachments


def test_a_model_scikit_learn_cannot_fit_on_so_few_rows_is_a_training_error() -> None:
    # The calibrated SVM splits each training part in five: 3-fold search parts are too small.
    with pytest.raises(TrainingError, match=r"svm could not be fitted on this data: All the"):
        train(patients(12), "outcome", model="svm", search=True, cv=3, plots=False)


def test_an_svm_on_a_large_table_is_warned_about_before_any_work() -> None:
    large = pd.DataFrame({"x": np.zeros(14_000), "outcome": ["a", "b"] * 7_000})
    with (
        pytest.warns(DeploymlWarning, match="svm: about 10500 training rows"),
        pytest.raises(TrainingError, match="'absent' is not in the data"),
    ):
        train(large, "absent", model="svm", plots=False)


def test_class_weight_balanced_reaches_the_estimator() -> None:
    captured = train(patients(), "outcome", model="svm", class_weight="balanced", plots=False)
    svc = captured.estimator.named_steps["model"].estimator
    assert svc.class_weight == "balanced"
    assert captured.manifest.training is not None
    assert captured.manifest.training["options"]["class_weight"] == "balanced"


@pytest.mark.parametrize(
    ("scale", "scaler"), [("standard", StandardScaler), ("minmax", MinMaxScaler), ("none", None)]
)
def test_scale_option_chooses_the_scaler_inside_the_pipeline(scale: str, scaler: Any) -> None:
    captured = train(patients(), "outcome", model="logistic-regression", scale=scale, plots=False)
    numbers = captured.estimator.named_steps["preprocess"].named_transformers_["numbers"]
    steps = dict(numbers.steps)
    assert (type(steps["scale"]) if "scale" in steps else None) is scaler


def test_unknown_category_and_missing_number_at_serving_are_scored() -> None:
    captured = train(patients(), "outcome", model="gradient-boosting", plots=False)
    row = pd.DataFrame({"age": [40.0], "bmi": [np.nan], "ward": ["never-seen"]})
    assert captured.estimator.predict(row)[0] in ("no", "yes")
    assert captured.manifest.input.features[1].nullable  # bmi had gaps in training


@pytest.mark.filterwarnings("ignore:column 'SibSp' holds 4 distinct numbers")
def test_drop_and_categorical_options_shape_the_features(passengers: pd.DataFrame) -> None:
    captured = train(
        passengers,
        "Survived",
        model="logistic-regression",
        plots=False,
        drop=["Fare"],
        categorical=["Pclass"],
    )
    assert [f.name for f in captured.manifest.input.features] == [
        "Pclass",
        "Sex",
        "Age",
        "SibSp",
        "Embarked",
    ]
    encoded = captured.estimator.named_steps["preprocess"].named_transformers_["categories"]
    assert list(encoded.feature_names_in_) == ["Pclass", "Sex", "Embarked"]
    assert captured.manifest.training is not None
    assert captured.manifest.training["dropped_columns"] == {"Fare": "left out with --drop"}


# These targets have nothing to do with the features, and capture says so.
@pytest.mark.filterwarnings("ignore:the model is no better than a trivial baseline")
@pytest.mark.parametrize(
    ("target", "task", "reason"),
    [
        (["yes", "no"] * 40, "binary", "the target holds labels, not numbers"),
        ([0, 1, 2, 3] * 20, "multiclass", "the target holds 4 distinct whole numbers"),
        ([True, False] * 40, "binary", "the target holds labels, not numbers"),
        (list(np.linspace(0, 50, 80)), "regression", "the target is numeric"),
        (list(range(80)), "regression", "the target is numeric"),
    ],
)
def test_task_is_detected_from_the_target_and_the_reason_recorded(
    target: list[Any], task: str, reason: str
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=80), "z": rng.normal(size=80), "y": target})
    captured = train(frame, "y", model="decision-tree", plots=False)
    assert captured.manifest.target is not None and captured.manifest.target.task == task
    assert captured.manifest.training is not None
    assert captured.manifest.training["task_reason"].startswith(reason)


def test_rows_without_a_target_are_left_out_and_whole_number_classes_stay_integers() -> None:
    frame = patients()
    frame["outcome"] = (frame["outcome"] == "yes").astype(float)
    frame.loc[:4, "outcome"] = np.nan
    with pytest.warns(DeploymlWarning, match=r"5 row\(s\) have no value for the target"):
        captured = train(frame, "outcome", model="logistic-regression", plots=False)
    assert captured.manifest.target is not None and captured.manifest.target.classes == [0, 1]
    assert captured.manifest.training is not None
    assert captured.manifest.training["data"]["rows_without_target"] == 5
    assert captured.manifest.training["split"]["train_rows"] == 116


@pytest.mark.parametrize(
    ("column", "reason"),
    [
        ([np.nan] * 160, "every value is missing"),
        (["same"] * 160, "it has the same value in every row"),
        ([f"note {i}" for i in range(160)], "it has 160 distinct text values"),
    ],
)
def test_unusable_columns_are_left_out_with_a_warning(column: list[Any], reason: str) -> None:
    frame = patients().assign(extra=column)
    with pytest.warns(DeploymlWarning, match=f"column 'extra' is left out: {reason}"):
        captured = train(frame, "outcome", model="logistic-regression", plots=False)
    assert "extra" not in captured.manifest.input.names
    assert captured.manifest.training is not None
    assert reason in captured.manifest.training["dropped_columns"]["extra"]


def test_boolean_columns_with_and_without_gaps_train_and_serve(
    tmp_path: Path, client: Callable[..., FlaskClient]
) -> None:
    rng = np.random.default_rng(2)
    frame = patients().assign(
        smoker=rng.random(160) < 0.3,
        diabetic=np.where(rng.random(160) < 0.1, None, rng.random(160) < 0.5),
    )
    frame.to_csv(tmp_path / "flags.csv", index=False)
    captured = train_csv(tmp_path / "flags.csv", "outcome", plots=False)
    kinds = {f.name: (f.kind, f.dtype) for f in captured.manifest.input.features}
    assert kinds["smoker"] == ("boolean", "bool") and kinds["diabetic"] == ("boolean", "object")
    api = client(package(captured, tmp_path / "out"))
    row = {"age": 61.0, "bmi": None, "ward": "a", "smoker": True, "diabetic": None}
    response = api.post("/predict", json=row)
    assert response.status_code == 200, response.get_json()


def test_model_card_and_inspect_say_how_the_model_was_trained(tmp_path: Path) -> None:
    frame = patients().assign(note=[f"note {i}" for i in range(160)])
    with pytest.warns(DeploymlWarning):
        captured = train(frame, "outcome", model="decision-tree", search=True, plots=False)
    out = package(captured, tmp_path / "out")
    card = (out / "MODEL_CARD.md").read_text()
    section = card[card.index("## How it was trained") : card.index("## What is not recorded")]
    assert "With `deployml train` from a DataFrame, 160 rows and 5 columns" in section
    assert "| Split | 120 training, 40 test rows; stratified, seed 0 |" in section
    assert "| Hyperparameter search | best of 12 by roc_auc over 5 folds: max_depth=" in section
    assert "- `note`: it has 160 distinct text values" in section
    assert "Warnings while training" not in section  # the one warning is the column left out
    summary = summarise(load_artefact(out))
    assert "Trained:    deployml train decision-tree (160 rows); 1 column(s) left out" in summary


def test_a_mostly_numeric_text_column_suggests_na_values(tmp_path: Path) -> None:
    frame = patients().astype({"bmi": object})
    frame.loc[frame.index % 20 == 0, "bmi"] = "?"
    path = tmp_path / "marked.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(DeploymlWarning, match="column 'bmi' is mostly numbers.*--na-values"):
        train_csv(path, "outcome", model="logistic-regression", plots=False, max_categories=200)
    captured = train_csv(
        path,
        "outcome",
        table=TableOptions(na_values=["?"]),
        model="logistic-regression",
        plots=False,
    )
    assert captured.manifest.training is not None
    assert "bmi" in captured.manifest.training["features"]["numeric"]


def test_plots_need_matplotlib_and_the_error_says_how_to_do_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(TrainingError, match="--no-plots"):
        train(patients(), "outcome")
    assert train(patients(), "outcome", model="decision-tree", plots=False).attachments == {}


def one_class(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(outcome="yes")


def one_row_class(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[0, "outcome"] = "rare"
    return frame


def infinite(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[3, "age"] = np.inf
    return frame


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        (None, {"target": "nope"}, "the target column 'nope' is not in the data; its columns are"),
        (one_class, {}, "the target 'outcome' has one class"),
        (one_row_class, {}, "the rarest class of the target 'outcome' has one row"),
        (None, {"model": "xgboost"}, "unknown model 'xgboost'; choose one of"),
        (None, {"task": "regression"}, "--task regression needs a numeric target"),
        (None, {"drop": ["age", "bmi", "ward"]}, "no feature columns are left"),
        (None, {"drop": ["weight"]}, "--drop names 'weight', not in the data"),
        (None, {"drop": ["outcome"]}, "--drop names the target column"),
        (None, {"categorical": ["bmi"]}, "--categorical bmi: the column has"),
        (infinite, {}, "column 'age' holds infinite values"),
        (None, {"model": "linear-regression"}, "linear-regression is a regressor only"),
        (None, {"model": "neural-network", "class_weight": "balanced"}, "does not support"),
        (None, {"cv": 80}, "with 80 folds needs at least 80 training rows of every class"),
        (None, {"test_size": 1.5}, "test_size must be a fraction between 0 and 1"),
        (None, {"test_size": 0.005}, "cannot split 160 rows with test size 0.005"),
        (None, {"seed": -1}, "seed must be a whole number"),
        (None, {"cv": 1}, "cv must be a whole number of folds of at least 2"),
        (None, {"scale": "log"}, "unknown scaling 'log'"),
    ],
)
def test_bad_data_and_options_raise_a_training_error_naming_the_problem(
    change: Any, options: dict[str, Any], message: str
) -> None:
    frame = patients()
    if change is not None:
        frame = change(frame)
    target = options.pop("target", "outcome")
    with pytest.raises(TrainingError) as error:
        train(frame, target, plots=False, **options)
    assert message in error.value.message


def test_a_regression_target_needs_as_many_training_rows_as_folds() -> None:
    with pytest.raises(TrainingError, match="with 200 folds needs at least 200 training rows; the"):
        train(costs(), "stay", model="linear-regression", cv=200, plots=False)


def test_a_regression_target_refuses_class_weights_and_classifier_only_models() -> None:
    with pytest.raises(TrainingError, match="use linear-regression"):
        train(costs(), "stay", model="logistic-regression", plots=False)
    with pytest.raises(TrainingError, match="--class-weight applies to classification only"):
        train(costs(), "stay", class_weight="balanced", plots=False)


def test_integer_column_names_are_names_not_positions() -> None:
    frame = patients().set_axis([10, 11, 12, 13], axis=1)  # age, bmi, ward, outcome
    captured = train(frame, 13, model="logistic-regression", drop=[11], plots=False)
    assert captured.manifest.input.names == ["10", "12"]
    assert captured.manifest.target is not None and captured.manifest.target.name == "13"


def test_train_refuses_data_that_is_not_a_dataframe() -> None:
    with pytest.raises(TrainingError, match="must be a pandas DataFrame, not a ndarray"):
        train(np.zeros((10, 3)), "0", plots=False)  # type: ignore[arg-type]
