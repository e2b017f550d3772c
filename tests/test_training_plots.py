"""The evaluation plots of ``deployml train``: which files are drawn, and that they are PNGs.

pytest turns every warning into an error, so a plot that makes matplotlib or scikit-learn
warn (an undefined ROC curve, an empty legend, a deprecated argument) fails here.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from PIL import Image
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from packager.errors import TrainingError
from packager.training.plots import (
    PLOT_FILES,
    calibration_figure,
    classification_plots,
    confusion_matrix_figure,
    contrast,
    learning_curve_plot,
    regression_plots,
    require_matplotlib,
)

CLASSIFICATION_CURVES = {
    "plots/ROC_curve.png",
    "plots/precision_recall_curve.png",
    "plots/calibration_curve.png",
}
CONFUSION = {"plots/confusion_matrix.png"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", autouse=True)
def fresh_import() -> Iterator[subprocess.Popen[str]]:
    """A new interpreter importing the plots module, started early to overlap the drawing."""
    code = "import sys, packager.training.plots; print('matplotlib' in sys.modules)"
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate()


def assert_valid_pngs(drawn: dict[str, bytes]) -> None:
    for path, data in drawn.items():
        assert data.startswith(PNG_SIGNATURE), path
        Image.open(io.BytesIO(data)).verify()
        width, height = Image.open(io.BytesIO(data)).size
        assert width >= 200 and height >= 150, (path, width, height)


def fitted_predictions(n_classes: int, labels: list[Any]) -> tuple[Any, ...]:
    X, y = make_classification(
        n_samples=120, n_features=5, n_informative=3, n_classes=n_classes, random_state=0
    )
    y_named = np.asarray(labels)[y]
    model = LogisticRegression().fit(X[:80], y_named[:80])
    X_test, y_test = X[80:], y_named[80:]
    return y_test, model.predict(X_test), model.predict_proba(X_test), model.classes_


def test_plot_files_name_every_path_under_plots() -> None:
    assert all(path.startswith("plots/") and path.endswith(".png") for path in PLOT_FILES.values())
    assert len(set(PLOT_FILES.values())) == len(PLOT_FILES)


def test_binary_classification_plots_are_valid_pngs() -> None:
    y_test, y_pred, proba, classes = fitted_predictions(2, ["no", "yes"])
    drawn = classification_plots(y_test, y_pred, proba, classes)
    assert set(drawn) == CLASSIFICATION_CURVES | CONFUSION
    assert_valid_pngs(drawn)


def test_binary_classification_without_probabilities_draws_only_the_confusion_matrix() -> None:
    y_test, y_pred, _, classes = fitted_predictions(2, [0, 1])
    drawn = classification_plots(y_test, y_pred, None, classes)
    assert set(drawn) == CONFUSION
    assert_valid_pngs(drawn)


def test_multiclass_string_labels_draw_one_vs_rest_plots() -> None:
    y_test, y_pred, proba, classes = fitted_predictions(3, ["setosa", "versicolor", "virginica"])
    drawn = classification_plots(pd.Series(y_test), list(y_pred), proba, list(classes))
    assert set(drawn) == CLASSIFICATION_CURVES | CONFUSION
    assert_valid_pngs(drawn)


def test_multiclass_with_a_class_absent_from_the_test_labels_still_draws() -> None:
    rng = np.random.default_rng(1)
    y_true = np.array(["a", "b", "a", "b", "a", "b"])
    proba = rng.dirichlet(np.ones(3), size=6)
    classes = ["a", "b", "c"]
    y_pred = np.asarray(classes)[proba.argmax(axis=1)]
    drawn = classification_plots(y_true, y_pred, proba, classes)
    assert set(drawn) == CLASSIFICATION_CURVES | CONFUSION
    assert_valid_pngs(drawn)


@pytest.mark.parametrize("only", [False, True])
def test_test_labels_of_a_single_class_still_draw_every_plot(only: bool) -> None:
    y_true = np.full(6, only)
    proba_true = np.array([0.0, 1.0, 0.3, 0.7, 1.0, 0.0])
    proba = np.column_stack([1 - proba_true, proba_true])
    y_pred = proba_true >= 0.5
    drawn = classification_plots(y_true, y_pred, proba, [False, True])
    assert set(drawn) == CLASSIFICATION_CURVES | CONFUSION
    assert_valid_pngs(drawn)


def test_multiclass_test_labels_of_a_single_class_still_draw_every_plot() -> None:
    rng = np.random.default_rng(2)
    proba = rng.dirichlet(np.ones(3), size=6)
    drawn = classification_plots(np.full(6, 2), proba.argmax(axis=1), proba, [0, 1, 2])
    assert set(drawn) == CLASSIFICATION_CURVES | CONFUSION
    assert_valid_pngs(drawn)


def test_confusion_matrix_of_twenty_classes_is_drawn() -> None:
    rng = np.random.default_rng(3)
    classes = [f"class ${i}" for i in range(20)]  # "$" must not be parsed as maths
    y_true = rng.choice(classes, 200)
    y_pred = rng.choice(classes, 200)
    assert_valid_pngs(classification_plots(y_true, y_pred, None, classes))


def test_regression_plots_are_valid_pngs() -> None:
    rng = np.random.default_rng(4)
    y_true = rng.normal(size=40)
    drawn = regression_plots(pd.Series(y_true), list(y_true + rng.normal(0, 0.3, 40)))
    assert set(drawn) == {"plots/predicted_vs_actual.png", "plots/residuals.png"}
    assert_valid_pngs(drawn)


def test_regression_with_all_equal_values_draws() -> None:
    assert_valid_pngs(regression_plots(np.full(6, 1.0), np.full(6, 1.0)))


def test_learning_curve_plot_is_a_valid_png() -> None:
    curve = {
        "scoring": "roc_auc",
        "folds": 3,
        "train_sizes": [10, 20, 30],
        "train_scores": [[0.9, 0.95, 0.92], [0.88, 0.9, 0.91], [0.87, 0.89, 0.9]],
        "test_scores": [[0.7, 0.72, 0.71], [0.78, 0.8, 0.79], [0.82, 0.81, 0.83]],
    }
    drawn = learning_curve_plot(curve)
    assert set(drawn) == {"plots/learning_curve.png"}
    assert_valid_pngs(drawn)


def test_learning_curve_with_missing_scores_draws() -> None:
    curve = {
        "scoring": "r2",
        "train_sizes": [4, 8],
        "train_scores": [[0.5, None], [None, None]],
        "test_scores": [[None, 0.1], [0.2, 0.3]],
    }
    assert_valid_pngs(learning_curve_plot(curve))


def test_require_matplotlib_names_the_way_out_when_it_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_matplotlib()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(TrainingError, match="--no-plots") as raised:
        require_matplotlib()
    assert "pip install 'deployml[train]'" in raised.value.message


def test_drawing_keeps_the_backend_and_leaves_no_pyplot_figures() -> None:
    import matplotlib

    before = matplotlib.get_backend()
    proba = np.linspace(0.0, 1.0, 6)
    classification_plots(proba > 0.4, proba > 0.5, np.column_stack([1 - proba, proba]), [0, 1])
    regression_plots(np.arange(6.0), np.arange(6.0) + 0.5)
    assert matplotlib.get_backend() == before
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_importing_plots_does_not_import_matplotlib(fresh_import: subprocess.Popen[str]) -> None:
    out, err = fresh_import.communicate(timeout=60)
    assert out.strip() == "False", err


def test_every_count_of_the_confusion_matrix_contrasts_with_its_cell() -> None:
    # The smallest count is large (200): the scale starts there, so its cell is near white,
    # and the old rule (white text above half the largest count) wrote white on white.
    counts = [[200, 230], [215, 260]]
    y_true = np.repeat(["a", "a", "b", "b"], np.ravel(counts))
    y_pred = np.repeat(["a", "b", "a", "b"], np.ravel(counts))
    fig = confusion_matrix_figure(y_true, y_pred, ["a", "b"])
    ax = fig.axes[0]
    image = ax.images[0]
    colours = {}
    for text in ax.texts:
        cell = image.cmap(image.norm(int(text.get_text())))
        written = to_rgb(text.get_color())
        assert contrast(cell, written) >= 4.5, (text.get_text(), text.get_color())
        colours[int(text.get_text())] = text.get_color()
    assert sorted(colours) == [200, 215, 230, 260]
    assert colours[200] == "black" and colours[260] == "white"


def test_contrast_is_the_wcag_ratio() -> None:
    assert contrast((1, 1, 1), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)) == pytest.approx(1.0)


def test_binary_curves_follow_the_positive_class() -> None:
    y_test, y_pred, proba, classes = fitted_predictions(2, ["healthy", "sick"])
    for positive in ("healthy", "sick"):
        drawn = classification_plots(y_test, y_pred, proba, classes, positive)
        assert_valid_pngs(drawn)
    flipped = classification_plots(y_test, y_pred, proba, classes, "healthy")
    default = classification_plots(y_test, y_pred, proba, classes)
    assert flipped[PLOT_FILES["calibration_curve"]] != default[PLOT_FILES["calibration_curve"]]
    assert default == classification_plots(y_test, y_pred, proba, classes, "sick")


def test_the_calibration_plot_labels_each_bin_with_its_row_count() -> None:
    rng = np.random.default_rng(0)
    score = rng.random(57)
    truth = (rng.random(57) < score).astype(np.int64)
    ax = calibration_figure([(truth, score, "sick")]).axes[0]
    counts = [
        int(t.get_text().removeprefix("n=")) for t in ax.texts if t.get_text().startswith("n=")
    ]
    assert len(counts) == 10 and sum(counts) == 57
    assert "positive: sick" in ax.get_title()
