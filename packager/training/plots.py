"""Draw the evaluation plots that ``deployml train`` puts under plots/ in an artefact.

They use matplotlib's object-oriented API (:class:`matplotlib.figure.Figure` and the Agg
canvas), never pyplot's global state or ``matplotlib.use``, so importing or calling this
module never changes the backend of a user's notebook. matplotlib is an optional extra, so it
is imported inside the functions: importing packager must not import it.

The curves are drawn from ``sklearn.metrics`` rather than scikit-learn's Display classes:
those import pyplot and have renamed their arguments across versions (with deprecation
warnings), while the metric functions are stable and let us skip undefined curves cleanly.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from packager.artefact import PLOTS_DIR, Label, json_label
from packager.errors import TrainingError
from packager.evaluation import calibration_bins

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "PLOT_FILES",
    "Curve",
    "calibration_figure",
    "classification_plots",
    "confusion_matrix_figure",
    "contrast",
    "learning_curve_plot",
    "regression_plots",
    "require_matplotlib",
]

PLOT_FILES: dict[str, str] = {
    "roc_curve": f"{PLOTS_DIR}/ROC_curve.png",
    "precision_recall_curve": f"{PLOTS_DIR}/precision_recall_curve.png",
    "calibration_curve": f"{PLOTS_DIR}/calibration_curve.png",
    "confusion_matrix": f"{PLOTS_DIR}/confusion_matrix.png",
    "predicted_vs_actual": f"{PLOTS_DIR}/predicted_vs_actual.png",
    "residuals": f"{PLOTS_DIR}/residuals.png",
    "learning_curve": f"{PLOTS_DIR}/learning_curve.png",
}

_ONE_CLASS_NOTE = "the test labels hold one class,\nso this curve is undefined"


def require_matplotlib() -> None:
    """Raise TrainingError unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise TrainingError(
            "plots need matplotlib, which is not installed: "
            "pip install 'deployml[train]', or pass --no-plots"
        ) from None


def classification_plots(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    classes: Sequence[Any],
    positive_class: Label | None = None,
) -> dict[str, bytes]:
    """ROC, precision-recall and calibration curves (given proba) and the confusion matrix.

    A binary classifier's curves are drawn for ``positive_class`` (default the second class).
    """
    y_true, y_pred, labels = np.asarray(y_true), np.asarray(y_pred), list(classes)
    drawn = {PLOT_FILES["confusion_matrix"]: _png(confusion_matrix_figure(y_true, y_pred, labels))}
    if proba is not None:
        proba = np.clip(np.asarray(proba, dtype=np.float64), 0.0, 1.0)
        # Binary: only the positive class; multiclass: one-vs-rest per class.
        columns = list(range(len(labels)))
        if len(labels) == 2:
            names = [json_label(label) for label in labels]
            columns = [1 if positive_class is None else names.index(positive_class)]
        curves = [
            ((y_true == labels[i]).astype(np.int64), proba[:, i], _text(labels[i])) for i in columns
        ]
        one_class = len(np.unique(y_true)) < 2
        drawn[PLOT_FILES["roc_curve"]] = _roc(curves, one_class)
        drawn[PLOT_FILES["precision_recall_curve"]] = _precision_recall(curves, one_class)
        drawn[PLOT_FILES["calibration_curve"]] = _png(calibration_figure(curves))
    return drawn


def regression_plots(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, bytes]:
    """Predicted against actual values, and residuals (actual - predicted) against predicted."""
    actual = np.asarray(y_true, dtype=np.float64)
    predicted = np.asarray(y_pred, dtype=np.float64)
    fig, ax = _figure("Predicted vs actual (test rows)", "actual", "predicted")
    ax.scatter(actual, predicted, s=12, alpha=0.6, label="test rows")
    ends = [min(actual.min(), predicted.min()), max(actual.max(), predicted.max())]
    ax.plot(ends, ends, "k--", linewidth=1, label="perfect prediction")
    ax.legend(loc="upper left")
    drawn = {PLOT_FILES["predicted_vs_actual"]: _png(fig)}
    fig, ax = _figure("Residuals (test rows)", "predicted", "residual (actual - predicted)")
    ax.scatter(predicted, actual - predicted, s=12, alpha=0.6, label="test rows")
    ax.axhline(0.0, color="k", linestyle="--", linewidth=1, label="zero")
    ax.legend(loc="upper left")
    drawn[PLOT_FILES["residuals"]] = _png(fig)
    return drawn


def learning_curve_plot(curve: Mapping[str, Any]) -> dict[str, bytes]:
    """Mean and ± one standard deviation of training and validation scores by training rows."""
    sizes = np.asarray(curve["train_sizes"], dtype=np.float64)
    fig, ax = _figure("Learning curve", "training rows", str(curve["scoring"]))
    for key, name in (("train_scores", "training"), ("test_scores", "validation")):
        mean, std = _nan_mean_std(curve[key], len(sizes))
        (line,) = ax.plot(sizes, mean, "o-", label=name)
        ax.fill_between(sizes, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.legend(loc="best")
    return {PLOT_FILES["learning_curve"]: _png(fig)}


Curve = tuple[np.ndarray, np.ndarray, str]  # one-vs-rest 0/1 truth, score, class label
Corner = Literal["upper left", "lower left", "lower right"]


def _roc(curves: list[Curve], one_class: bool) -> bytes:
    from sklearn.metrics import auc, roc_curve

    fig, ax = _figure(_title("ROC curve", curves), "false positive rate", "true positive rate")
    ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="chance")
    for truth, score, label in curves:
        # Undefined (and warned about) unless the class has both positive and negative rows.
        if 0 < truth.sum() < len(truth):
            fpr, tpr, _ = roc_curve(truth, score, pos_label=1)
            ax.plot(fpr, tpr, label=f"{label} (AUC {auc(fpr, tpr):.3f})")
    return _finish(fig, ax, "lower right", _ONE_CLASS_NOTE if one_class else None)


def _precision_recall(curves: list[Curve], one_class: bool) -> bytes:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, ax = _figure(_title("Precision-recall curve", curves), "recall", "precision")
    for truth, score, label in curves:
        if truth.sum() == 0:  # no positive rows: recall is undefined, a class absent from y_true
            continue
        precision, recall, _ = precision_recall_curve(truth, score, pos_label=1)
        ap = average_precision_score(truth, score, pos_label=1)
        ax.plot(recall, precision, drawstyle="steps-post", label=f"{label} (AP {ap:.3f})")
        if len(curves) == 1:
            ax.axhline(truth.mean(), color="k", linestyle="--", linewidth=1, label="prevalence")
    drew = any(truth.sum() > 0 for truth, _, _ in curves)
    return _finish(fig, ax, "lower left", None if drew else _ONE_CLASS_NOTE)


def calibration_figure(curves: list[Curve]) -> Figure:
    """Observed against predicted share of positives per quantile bin, each with its count."""
    fig, ax = _figure(
        _title("Calibration curve", curves),
        "mean predicted probability (n: test rows in each bin)",
        "fraction of positives",
    )
    ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfectly calibrated")
    for truth, score, label in curves:
        # The quantile bins recorded in the manifest (metrics.test.calibration), each point
        # labelled with its row count: a point made of few rows says little.
        bins = calibration_bins(truth.astype(bool), score)
        predicted = [b["mean_predicted"] for b in bins]
        observed = [b["observed"] for b in bins]
        (line,) = ax.plot(predicted, observed, "o-", markersize=4, label=label)
        for x, y, b in zip(predicted, observed, bins, strict=True):
            ax.annotate(
                f"n={b['n']}",
                (x, y),
                textcoords="offset points",
                xytext=(3, -9),
                fontsize=6,
                color=line.get_color(),
            )
    _dress(ax, "upper left", None)
    return fig


def confusion_matrix_figure(y_true: np.ndarray, y_pred: np.ndarray, labels: list[Any]) -> Figure:
    """The counts of each true and predicted label, each written in the colour that reads best.

    The text colour follows the colour each cell is drawn in (the scale runs from the smallest
    count to the largest), not the counts themselves.
    """
    from sklearn.metrics import confusion_matrix

    counts = confusion_matrix(y_true, y_pred, labels=labels)
    fig, ax = _figure("Confusion matrix (test rows)", "predicted label", "true label")
    image = ax.imshow(counts, cmap="Blues", interpolation="nearest")
    fig.colorbar(image, ax=ax)
    n = len(labels)
    size = max(5.0, 10.0 - n / 3)  # smaller text so that up to ~20 classes stay legible
    names = [_text(label) for label in labels]
    ax.set_xticks(range(n), names, rotation=45 if n > 3 else 0, ha="right" if n > 3 else "center")
    ax.set_yticks(range(n), names)
    ax.tick_params(labelsize=size)
    for (row, col), count in np.ndenumerate(counts):
        cell = image.cmap(image.norm(count))
        colour = "white" if contrast(cell, (1, 1, 1)) > contrast(cell, (0, 0, 0)) else "black"
        ax.text(col, row, str(count), ha="center", va="center", fontsize=size, color=colour)
    return fig


def contrast(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """The WCAG contrast ratio of two RGB colours (1 to 21; text wants at least 4.5)."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _luminance(rgb: Sequence[float] | np.ndarray) -> float:
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _nan_mean_std(scores: Any, n_sizes: int) -> tuple[np.ndarray, np.ndarray]:
    # None arrives for NaN; np.nanmean warns on an all-NaN row, so count by hand.
    values = np.asarray(scores, dtype=np.float64).reshape(n_sizes, -1)
    ok = ~np.isnan(values)
    count = ok.sum(axis=1)
    nan = np.full(n_sizes, np.nan)
    mean = np.divide(np.where(ok, values, 0.0).sum(axis=1), count, out=nan.copy(), where=count > 0)
    squares = np.where(ok, (values - mean[:, None]) ** 2, 0.0).sum(axis=1)
    return mean, np.sqrt(np.divide(squares, count, out=nan.copy(), where=count > 0))


def _title(name: str, curves: list[Curve]) -> str:
    return f"{name}s (one-vs-rest)" if len(curves) > 1 else f"{name} (positive: {curves[0][2]})"


def _text(label: Any) -> str:
    text = str(label)
    text = text if len(text) <= 24 else text[:23] + "…"
    return text.replace("$", r"\$")  # a label with two $ would otherwise be parsed as maths


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(fig)  # attaches itself to fig; pyplot and its backend are never involved
    ax = fig.add_subplot()
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig, ax


def _finish(fig: Figure, ax: Axes, legend: Corner, note: str | None) -> bytes:
    _dress(ax, legend, note)
    return _png(fig)


def _dress(ax: Axes, legend: Corner, note: str | None) -> None:
    """Unit axes, a grey note in the middle (when given) and the legend."""
    ax.set(xlim=(0.0, 1.0), ylim=(0.0, 1.02))
    if note:
        ax.text(
            0.5,
            0.5,
            note,
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="grey",
            bbox={"facecolor": "white", "edgecolor": "none"},
        )
    if ax.get_legend_handles_labels()[0]:  # legend() warns when no artist has a label
        ax.legend(loc=legend, fontsize="small")


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" metadata, so the bytes do not depend on the matplotlib version.
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()
