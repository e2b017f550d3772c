"""``train``: from a table to a fitted, evaluated and captured model in one call.

The steps, in order: decide the task and the features (``columns``), split into training and
test rows (stratified for classifiers), fit the pipeline of ``models`` (with ``search``, the
best of a small grid by cross-validation on the training rows), optionally cross-validate and
draw a learning curve (``resampling``), draw the plots, and finally
:func:`~packager.capture.capture` the model with its test metrics and the training record, so
that the manifest is built once. The packaged model is the one fitted on the training rows,
so the recorded test metrics describe exactly the model that is served.

Warnings met on the way (a column left out, a model that did not converge) are issued once
each as :class:`~packager.errors.DeploymlWarning` at the end and recorded in the manifest's
``training.warnings``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from packager.artefact import (
    MAX_CATEGORIES,
    CapturedModel,
    ExampleRows,
    Label,
    ModelDetails,
    file_sha256,
)
from packager.capture import FeatureDictionary, TrainingRecord, as_dictionary, capture
from packager.errors import DeploymlWarning, TrainingError
from packager.evaluation import (
    EvaluationPlan,
)
from packager.training.columns import ColumnPlan, plan_columns, subgroup_columns
from packager.training.dates import with_date_entries
from packager.training.models import build_pipeline, family, search_grid
from packager.training.prechecks import (
    check_dictionary,
    check_evaluation,
    check_options,
    warn_of_a_slow_svm,
)
from packager.training.record import DataSource, training_record, warning_lines
from packager.training.resampling import Progress, Resampler
from packager.training.table import TableOptions, read_table

__all__ = ["DataSource", "train", "train_csv"]


def train(
    data: pd.DataFrame,
    target: str,
    *,
    model: str = "random-forest",
    task: str = "auto",
    drop: Sequence[str] = (),
    categorical: Sequence[str] = (),
    keep: Sequence[str] = (),
    features: Any = None,
    scale: str = "standard",
    test_size: float = 0.25,
    seed: int = 0,
    cv: int | None = None,
    search: bool = False,
    class_weight: str | None = None,
    plots: bool = True,
    max_categories: int = MAX_CATEGORIES,
    progress: Progress | None = None,
    source: DataSource | None = None,
    details: ModelDetails | None = None,
    examples: ExampleRows = "synthetic",
    evaluation: EvaluationPlan | None = None,
) -> CapturedModel:
    """Train ``model`` to predict ``target`` from the other columns of ``data``; capture it.

    The options mirror ``deployml train``'s (docs/training.md); ``features`` is the data
    dictionary (a mapping or a :class:`~packager.capture.FeatureDictionary`) of the columns;
    ``details`` describe the model as in :func:`~packager.capture`, ``examples`` which rows
    /metadata shows, and ``evaluation`` the clinical evaluation of the test rows
    (docs/clinical.md). With
    ``plots``, evaluation plots are attached under plots/. Raises TrainingError for data or
    options that cannot make a model.
    """
    check_options(data, test_size, seed, cv, class_weight, max_categories)
    evaluation = evaluation or EvaluationPlan()
    # Column names as text throughout: a ColumnTransformer would take integers as positions.
    frame = data.set_axis([str(c) for c in data.columns], axis=1)
    dictionary = as_dictionary(features)
    if dictionary is not None:
        dictionary.check_names(
            frame.columns, f"the columns of {source.name if source else 'the data'}"
        )
    grouped_by = subgroup_columns(frame, str(target), evaluation.subgroups)
    evaluation.specs()  # a typo fails before fitting
    if plots:
        from packager.training.plots import require_matplotlib

        require_matplotlib()
    warn_of_a_slow_svm(model, round(len(data) * (1 - test_size)))
    report = progress or _silent
    with warnings.catch_warnings(record=True) as planning:
        warnings.simplefilter("always")
        plan = plan_columns(
            frame,
            str(target),
            task=task,
            drop=[str(c) for c in drop],
            categorical=[str(c) for c in categorical],
            keep=[str(c) for c in keep],
            dictionary=dictionary,
            max_categories=max_categories,
        )
    # The column decisions are said before the long steps; the rest is summed up at the end.
    decisions = warning_lines(planning)
    _say(decisions)
    chosen = family(model, plan.task, class_weight)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X, y, groups = _features_and_target(frame, plan, grouped_by)
        positive = check_evaluation(evaluation, X, y, plan.task == "regression")
        X_train, X_test, y_train, y_test, _, groups = _split(X, y, groups, plan, test_size, seed)
        check_dictionary(dictionary, X_train, X_test)  # as capture will, but before fitting
        pipeline = build_pipeline(plan, chosen, scale=scale, seed=seed, class_weight=class_weight)
        resample = Resampler(plan, X_train, y_train, cv, seed, report)
        searched = None
        measured: dict[str, Any] = {}
        with _fitting(model):
            if search:
                pipeline, searched = resample.search(pipeline, search_grid(chosen, plan.task))
            else:
                pipeline.fit(X_train, y_train)
            if cv is not None:
                measured["cross_validation"] = resample.cross_validation(pipeline, cv)
            if plots and (curve := resample.learning_curve(pipeline)) is not None:
                measured["learning_curve"] = curve
        drawn = _draw(pipeline, plan, X_test, y_test, measured, positive) if plots else {}
    notes = warning_lines(caught)
    options = {
        "scale": scale,
        "test_size": test_size,
        "seed": seed,
        "cv": cv,
        "search": search,
        "class_weight": class_weight,
        "max_categories": max_categories,
        "keep": [str(c) for c in keep],
    }
    training = training_record(data, source, plan, model, options, (len(y_train), len(y_test)))
    training.update(search=searched, warnings=decisions + notes)
    details = details or ModelDetails()
    default_name = f"{Path(source.name).stem}-{model}" if source else model
    captured = capture(
        pipeline,
        X_train,
        y_train,
        # Subgroup columns travel with the test rows; capture takes out those the model lacks.
        X_test=pd.concat(
            [X_test, groups.drop(columns=list(plan.features), errors="ignore")], axis=1
        ),
        y_test=y_test,
        details=replace(details, name=details.name or default_name),
        target_name=plan.target,
        examples=examples,
        record=TrainingRecord(training, measured, drawn),
        features=_described(dictionary, plan, grouped_by),
        **evaluation.capture_options(),
    )
    _say(notes)
    return captured


def _say(notes: list[str]) -> None:
    for note in notes:
        warnings.warn(DeploymlWarning(note), stacklevel=3)


def train_csv(
    path: str | os.PathLike[str],
    target: str,
    *,
    table: TableOptions | None = None,
    features: Any = None,
    **options: Any,
) -> CapturedModel:
    """:func:`train` on a CSV file read with ``table``, recording the file's name and SHA-256.

    The entries of the columns ``table.dates`` makes join the data dictionary ``features``
    (the author's own keys win; ``--categorical`` on a weekday drops its limits).
    """
    table = table or TableOptions()
    data = read_table(path, "training data", table)
    source = DataSource(name=Path(path).name, sha256=file_sha256(Path(path)), table=table)
    coded = [str(c) for c in options.get("categorical", ())]
    dictionary = with_date_entries(as_dictionary(features), table.dates, coded)
    return train(data, target, source=source, features=dictionary, **options)


def _described(
    dictionary: FeatureDictionary | None, plan: ColumnPlan, grouped_by: list[str]
) -> FeatureDictionary | None:
    """The dictionary's entries for what the model is captured with (the columns left out
    have no place in its schema)."""
    if dictionary is None:
        return None
    used = {*plan.features, plan.target, *grouped_by}
    entries = {name: e for name, e in dictionary.entries.items() if name in used}
    return FeatureDictionary(entries, dictionary.source)


@contextmanager
def _fitting(model: str) -> Iterator[None]:
    """Turn scikit-learn's refusal to fit (too few rows for a step, say) into a TrainingError."""
    try:
        yield
    except ValueError as error:
        # The first line says what failed; later lines of a failed search repeat tracebacks.
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[0] if lines else type(error).__name__
        if "fits failed" in reason and len(lines) > 1:
            reason += f" The last was: {lines[-1]}"
        raise TrainingError(f"{model} could not be fitted on this data: {reason}") from error


def _silent(step: str, done: int, total: int) -> None:
    return None


def _features_and_target(
    frame: pd.DataFrame, plan: ColumnPlan, grouped_by: list[str]
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """The features, the target and the subgroup columns of the rows with a target."""
    rows = frame[frame[plan.target].notna()]
    y = rows[plan.target]
    if plan.task == "classification" and _whole_floats(y):
        # A column of 0/1 with gaps elsewhere reads as float; its classes are still 0 and 1.
        y = y.astype(np.int64)
    elif plan.task == "regression":
        y = y.astype(np.float64)
    features = rows[list(plan.features)].reset_index(drop=True)
    return features, y.reset_index(drop=True), rows[grouped_by].reset_index(drop=True)


def _whole_floats(y: pd.Series) -> bool:
    if not pd.api.types.is_float_dtype(y.dtype):
        return False
    values = y.to_numpy(dtype=np.float64)
    return bool(np.all(values == np.round(values)) and np.all(np.abs(values) < 2**53))


def _split(
    X: pd.DataFrame, y: pd.Series, groups: pd.DataFrame, plan: ColumnPlan, size: float, seed: int
) -> Any:
    """Training and test rows of X, y and the subgroup columns (which the model never sees)."""
    stratify = None
    if plan.task == "classification":
        counts = y.value_counts()
        if counts.min() < 2:
            raise TrainingError(
                f"the rarest class of the target {plan.target!r} has one row; a stratified "
                "train/test split needs at least two rows of every class"
            )
        stratify = y
    try:
        return train_test_split(X, y, groups, test_size=size, random_state=seed, stratify=stratify)
    except ValueError as error:  # too few rows for the test size; the message has no values
        raise TrainingError(f"cannot split {len(y)} rows with test size {size}: {error}") from None


def _draw(
    pipeline: Any,
    plan: ColumnPlan,
    X_test: Any,
    y_test: pd.Series,
    extra: dict[str, Any],
    positive: Label | None,
) -> dict[str, bytes]:
    from packager.training import plots

    y_pred = np.asarray(pipeline.predict(X_test))
    if plan.task == "classification":
        proba = np.asarray(pipeline.predict_proba(X_test))
        drawn = plots.classification_plots(
            np.asarray(y_test), y_pred, proba, pipeline.classes_, positive
        )
    else:
        drawn = plots.regression_plots(np.asarray(y_test, dtype=np.float64), y_pred)
    if "learning_curve" in extra:
        drawn.update(plots.learning_curve_plot(extra["learning_curve"]))
    return drawn
