"""``capture``: record a fitted model with everything about its training, in one call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, get_args

import numpy as np
import pandas as pd

from packager.artefact import (
    MODEL_FILE,
    SERIALIZER,
    CapturedModel,
    ExampleRows,
    Examples,
    InputSpec,
    Label,
    Manifest,
    ModelDetails,
    ModelFile,
    Task,
    check_estimator,
    check_limits,
    compare_outputs,
    infer_input_spec,
    json_label,
    json_value,
    model_input,
    records_to_columns,
    training_bins,
)
from packager.capture.assessment import assess, score
from packager.capture.contract import check_names, check_nullable, flag_identifiers
from packager.capture.data import (
    Dataset,
    check_labels,
    features_of,
    split_subgroups,
    subgroup_values,
    target_of,
    target_spec,
)
from packager.capture.details import model_info
from packager.capture.dictionary import FeatureDictionary, as_dictionary
from packager.capture.estimator import allows_nan, column_hints, estimator_info, task_of
from packager.capture.metrics import cross_validation, folds_of, scoring_for
from packager.capture.provenance import collect_provenance
from packager.capture.synthetic import self_test_rows
from packager.errors import CaptureError
from packager.evaluation import (
    Bootstrap,
    EdgeCaseSource,
    EvaluationPlan,
    check_profiles_possible,
    check_requirements,
    default_profile,
    edge_case_suite,
    positive_class_of,
)

__all__ = ["CV_SEED", "TrainingRecord", "capture"]

# capture(cv=K) shuffles its folds with this seed, so that a capture is repeatable.
CV_SEED = 0


@dataclass(frozen=True)
class TrainingRecord:
    """What ``deployml train`` adds to a capture: how it trained, what it measured, its plots.

    ``training`` becomes the manifest's ``training`` object, ``metrics`` joins the test
    metrics (cross-validation, the learning curve), and ``attachments`` are files (plots) to
    package with the model.
    """

    training: Mapping[str, Any]
    metrics: Mapping[str, Any] = field(default_factory=dict)
    attachments: Mapping[str, bytes] = field(default_factory=dict)


def capture(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    X_test: Any = None,
    y_test: Any = None,
    details: ModelDetails | None = None,
    feature_names: Sequence[str] | None = None,
    target_name: str | None = None,
    cv: int | None = None,
    examples: ExampleRows = "synthetic",
    n_examples: int = 5,
    record: TrainingRecord | None = None,
    positive_class: Label | None = None,
    subgroups: Sequence[str] = (),
    thresholds: Sequence[str] = (),
    edge_cases: EdgeCaseSource | None = None,
    allow_failing_edge_cases: bool = False,
    requirements: Sequence[str] = (),
    bootstrap: Bootstrap | None = None,
    features: Mapping[str, Any] | FeatureDictionary | None = None,
) -> CapturedModel:
    """Record ``model`` (fitted on ``X``, ``y``) with its schema, metrics and provenance.

    ``details`` says who made the model and for what; ``X_test``/``y_test`` give test
    metrics and ``cv`` K-fold cross-validation on ``X``; ``record`` is what ``train`` adds.
    The self-test rows are always synthetic, made from the schema; ``examples`` says which
    rows /metadata shows: those (``"synthetic"``), the first ``n_examples`` rows of the test
    data, else of ``X`` (``"real"``: stored in examples.json), or none (``"none"``).

    The rest is the clinical evaluation (docs/clinical.md): ``positive_class`` (binary; the
    second class by default), ``subgroups`` (columns of ``X_test``, ``"age:0,40,65,120"`` to
    bin one; ``X_test`` may hold a column the model does not use only when it is one),
    ``thresholds`` (``"NAME:RULE"`` profiles chosen on the test data),
    ``edge_cases`` (a CSV file or DataFrame of cases the model must get right; a failing one
    raises unless ``allow_failing_edge_cases``),
    ``requirements`` (release gates such as ``"roc_auc>=0.80"``; a failed one raises) and how
    ``bootstrap`` intervals are made.

    ``features`` is the data dictionary (a mapping of names to entries, or a
    :class:`~packager.capture.FeatureDictionary`): units, descriptions, plausible limits,
    codes, whole numbers, nullable, identifiers (docs/artefact-format.md). Data outside its
    limits, or keys the data or model contradict, raise a DictionaryError.
    """
    dictionary = as_dictionary(features)
    plan = EvaluationPlan(
        positive_class=positive_class,
        subgroups=tuple(subgroups),
        thresholds=tuple(thresholds),
        edge_cases=edge_cases,
        allow_failing_edge_cases=allow_failing_edge_cases,
        requirements=tuple(requirements),
        bootstrap=bootstrap or Bootstrap(),
    )
    specs = plan.specs()  # a typo fails before any work
    grouped_by = specs.grouped_by
    if grouped_by and X_test is None:
        raise CaptureError("subgroups are measured on the test data: give X_test and y_test")
    check_estimator(model, "model")
    _check_examples_choice(examples, n_examples)
    task = task_of(model)
    classes = [] if task == "regression" else [json_label(c) for c in model.classes_]
    plan = replace(plan, positive_class=positive_class_of(plan.positive_class, classes, task))
    if specs.profiles:
        _check_thresholds(model, task, X_test)
    train = features_of(model, X, "X", feature_names)
    missing: list[str] = []
    y_array, y_name = (None, None) if y is None else target_of(y, len(train.frame), "y", "X")
    if y_array is None:
        missing.append("target: no training labels were given")
    else:
        check_labels(model, y_array, task, "y")
    check_names(dictionary, train.names, target_name or y_name, grouped_by)
    spec = infer_input_spec(
        train.frame,
        format=train.format,
        names_generated=train.names_generated,
        allow_nan=allows_nan(model),
        hints=column_hints(model, train.names),
        dictionary=dictionary,
        identifiers=flag_identifiers(train.frame, dictionary),
    )
    check_nullable(model, spec, task, dictionary)
    if train.names_generated:
        missing.append("input: feature names were not given; they are generated as x0, x1, ...")
    target = target_spec(model, task, y_array, target_name or y_name, plan.positive_class)
    # Before the slow work (bootstrap, cross-validation): a bad case file fails at once.
    suite = edge_case_suite(model, spec, target, plan)
    metrics: dict[str, Any] = {}
    assessment = None
    examples_from = train
    if (X_test is None) != (y_test is None):
        raise CaptureError("give X_test and y_test together")
    if X_test is not None:
        X_test, extra = split_subgroups(X_test, grouped_by, train.names)
        test = features_of(model, X_test, "X_test", train.names if feature_names else None)
        if test.names != train.names:
            raise CaptureError("the columns of X_test differ from those of X")
        if dictionary is not None:
            check_limits(spec, test.frame, "test", dictionary.source)
        y_test_array, _ = target_of(y_test, len(test.frame), "y_test", "X_test")
        check_labels(model, y_test_array, task, "y_test")
        groups = subgroup_values(test, extra, grouped_by)
        assessment = assess(model, test, y_test_array, task, plan, specs, missing, groups, y_array)
        metrics["test"] = assessment.metrics
        examples_from = test
    else:
        missing.append("metrics: no test data was given")
    if cv is not None:
        metrics["cross_validation"] = _cross_validation(model, train, y_array, task, cv)
    self_test, left_out = self_test_rows(model, spec, task)
    missing.extend(left_out)
    real = _examples(model, examples_from, spec, task, n_examples if examples == "real" else 0)
    provenance, unknown = collect_provenance(model)
    missing.extend(unknown)
    info, not_given = model_info(details or ModelDetails(), model)
    missing.extend(not_given)
    if record is not None:
        metrics.update(record.metrics)
    manifest = Manifest(
        model=info,
        model_file=ModelFile(path=MODEL_FILE, serializer=SERIALIZER),
        estimator=estimator_info(model, len(train.frame)),
        input=spec,
        provenance=provenance,
        target=target,
        metrics=metrics or None,
        training=None if record is None else json_value(record.training),
        missing=missing,
        example_rows=examples,
        subgroups=None if assessment is None else assessment.subgroups,
        profiles=[] if assessment is None else assessment.profiles,
        default_profile=None if assessment is None else default_profile(assessment.profiles),
        edge_cases=None if suite is None else suite.summary(plan.allow_failing_edge_cases),
        drift=training_bins(train.frame, spec),  # from the training rows, never the test rows
    )
    # Last, on the finished manifest: a failed gate raises, and nothing is made of the model.
    manifest = check_requirements(manifest, plan.requirements)
    attachments = {} if record is None else dict(record.attachments)
    return CapturedModel(model, manifest, self_test, real, attachments, suite)


def _check_examples_choice(examples: Any, n_examples: Any) -> None:
    if examples not in get_args(ExampleRows):
        raise CaptureError(
            f"examples must be one of {', '.join(get_args(ExampleRows))}, not {examples!r}"
        )
    if examples == "real" and (
        isinstance(n_examples, bool) or not isinstance(n_examples, int) or n_examples < 1
    ):
        raise CaptureError(f"real examples need n_examples of at least 1, not {n_examples!r}")


def _check_thresholds(model: Any, task: Task, X_test: Any) -> None:
    """Refuse threshold profiles this model or data cannot have, before any scoring."""
    check_profiles_possible(task, hasattr(model, "predict_proba"))
    if X_test is None:
        raise CaptureError(
            "threshold profiles are chosen on test data; give X_test and y_test "
            "(--test on the command line)"
        )


def _cross_validation(
    model: Any, train: Dataset, y: np.ndarray | None, task: Task, k: Any
) -> dict[str, Any]:
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise CaptureError(f"cv must be a whole number of folds of at least 2, not {k!r}")
    if y is None:
        raise CaptureError("cross-validation needs the training labels y")
    if task == "regression":
        fewest, rows = len(y), "rows; X has"
    else:
        fewest, rows = int(pd.Series(y).value_counts().min()), "rows of every class; the rarest has"
    if fewest < k:
        raise CaptureError(f"cross-validation with {k} folds needs at least {k} {rows} {fewest}")
    folds = folds_of(task, k, CV_SEED)
    return cross_validation(model, train.model_X, y, folds, scoring_for(task), on="training data")


def _examples(model: Any, data: Dataset, spec: InputSpec, task: Task, n: int) -> Examples:
    if n <= 0:
        return Examples()
    head = data.frame.head(n)
    records = [
        {name: json_value(v) for name, v in zip(spec.names, row, strict=False)}
        for row in head.itertuples(index=False, name=None)
    ]
    rebuilt = model_input(records_to_columns(records, spec.names), spec)
    scores = score(model, rebuilt, task, "the example rows")
    original = data.model_X.iloc[:n] if hasattr(data.model_X, "iloc") else data.model_X[:n]
    direct = score(model, original, task, "the example rows")
    expected = Examples(records, direct.predictions, direct.probabilities)
    if compare_outputs(expected, scores):
        raise CaptureError(
            "the model scores the example rows differently once rebuilt from the recorded "
            "schema; the schema does not describe the training data faithfully"
        )
    return Examples(
        inputs=records, predictions=scores.predictions, probabilities=scores.probabilities
    )
