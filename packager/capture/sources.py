"""What ``deployml package`` reads: a capture file, or a plain pickled estimator (with data).

Loading either runs code from the file (pickle), so only trusted files may be given. A plain
estimator is captured with its data when given; without data, whatever the fitted estimator
shows of itself is recorded, and the rest is said in ``missing``. Either way it is captured
now, not at training: the provenance is the packaging environment's and says so, and no git
commit is recorded for training code nobody named.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from packager.artefact import (
    MODEL_FILE,
    SERIALIZER,
    CapturedModel,
    ExampleRows,
    InputFormat,
    InputSpec,
    Label,
    Manifest,
    ModelDetails,
    ModelFile,
    TargetSpec,
    check_estimator,
    is_capture_file,
    json_label,
    read_pickle,
)
from packager.capture.contract import (
    bare_features,
    check_names,
    check_nullable,
    documented_capture,
)
from packager.capture.details import model_info, with_details
from packager.capture.dictionary import FeatureDictionary, as_dictionary
from packager.capture.estimator import estimator_info, task_of
from packager.capture.provenance import collect_provenance, packaging_provenance
from packager.capture.recording import capture
from packager.capture.synthetic import self_test_rows
from packager.errors import CaptureError
from packager.evaluation import (
    EvaluationPlan,
    PlanSpecs,
    check_requirements,
    edge_case_suite,
    positive_class_of,
)

__all__ = ["load_model_file"]


def load_model_file(
    path: str | os.PathLike[str],
    *,
    train: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
    target: str | None = None,
    details: ModelDetails | None = None,
    examples: ExampleRows = "synthetic",
    evaluation: EvaluationPlan | None = None,
    features: Mapping[str, Any] | FeatureDictionary | None = None,
) -> CapturedModel:
    """A CapturedModel from a capture file, or from a plain estimator plus optional data.

    ``train``/``test`` (DataFrames holding the ``target`` column) and ``examples`` (as in
    :func:`~packager.capture.capture`) apply only to a plain estimator with data; the fields
    given in ``details`` replace what a capture file recorded, which keeps its own examples.
    ``evaluation`` is the clinical evaluation of the test data, and ``features`` the data
    dictionary, as in ``capture``; a capture file takes only the dictionary's descriptions,
    identifiers and plausible limits, since what it accepts was decided at capture.
    """
    source = str(path)
    dictionary = as_dictionary(features)
    evaluation = evaluation or EvaluationPlan()
    specs = evaluation.specs()  # before unpickling and scoring
    _check_subgroups(specs, target, test)
    obj = read_pickle(path)
    details = details or ModelDetails()
    if is_capture_file(obj):
        if train is not None or test is not None:
            raise CaptureError(
                f"{source} is a capture file and already holds its data; "
                "training and test data apply only to a plain pickled estimator"
            )
        if specs.profiles:
            raise CaptureError(
                f"{source} is a capture file, which holds no test data to choose threshold "
                "profiles on; give them to capture(thresholds=...), or set one for a site "
                "with deployml threshold"
            )
        if evaluation.subgroups:
            raise CaptureError(
                f"{source} is a capture file, which does not keep its test data, so it cannot "
                "be split into subgroups; pass subgroups to capture() when making it"
            )
        captured = _with_self_test(CapturedModel.from_dict(obj, source))
        captured = documented_capture(captured, dictionary)
        _check_positive_class(captured.manifest, evaluation.positive_class, source)
        captured = replace(captured, manifest=with_details(captured.manifest, details))
        return _gated(_with_edge_cases(captured, evaluation), evaluation)
    check_estimator(obj, source)
    if test is not None and train is None:
        raise CaptureError("test data needs training data too")
    if evaluation.subgroups and test is None:
        raise CaptureError("subgroups are measured on the test data; give test data (--test) too")
    if train is None:
        if examples == "real":
            raise CaptureError("real example rows need training data")
        bare = _from_estimator(
            obj, details, examples, evaluation.positive_class, dictionary, target
        )
        return _gated(_with_edge_cases(_packaged_now(bare), evaluation), evaluation)
    if target is None:
        raise CaptureError("the name of the target column is needed with training data")
    X, y = _split(train, target, "the training data")
    X = _without_subgroups(X, obj, specs)
    X_test, y_test = (None, None) if test is None else _split(test, target, "the test data")
    captured = capture(
        obj,
        X,
        y,
        X_test=X_test,
        y_test=y_test,
        target_name=target,
        details=details,
        examples=examples,
        features=dictionary,
        **evaluation.capture_options(),
    )
    return _packaged_now(captured)


def _gated(captured: CapturedModel, evaluation: EvaluationPlan) -> CapturedModel:
    """A model captured earlier, held to the gates given now (its own results are kept
    when none are)."""
    if not evaluation.requirements:
        return captured
    manifest = check_requirements(captured.manifest, evaluation.requirements)
    return replace(captured, manifest=manifest)


def _without_subgroups(X: pd.DataFrame, model: Any, specs: PlanSpecs) -> pd.DataFrame:
    """The training data without subgroup columns the model does not use (they are for the
    test data's groups; one file layout may serve both)."""
    used = {str(n) for n in getattr(model, "feature_names_in_", X.columns)}
    grouped_by = set(specs.grouped_by)
    return X.drop(columns=[c for c in X.columns if str(c) in grouped_by - used])


def _check_subgroups(specs: PlanSpecs, target: str | None, test: pd.DataFrame | None) -> None:
    """Subgroup specs checked before the model file is read: columns of the test data, and
    not the target."""
    for spec in specs.subgroups:
        if spec.column == target:
            raise CaptureError(f"the target {target!r} cannot be a subgroup column")
        if test is not None and spec.column not in {str(c) for c in test.columns}:
            raise CaptureError(f"subgroup column {spec.column!r} is not a column of the test data")


def _check_positive_class(manifest: Manifest, given: Label | None, source: str) -> None:
    """A capture file's metrics count the positive class it recorded; another is refused."""
    target = manifest.target
    if given is None or target is None:
        return
    chosen = positive_class_of(given, target.classes or [], target.task)
    recorded = target.positive_class
    if chosen != recorded or type(chosen) is not type(recorded):
        raise CaptureError(
            f"{source} was captured with the positive class {recorded!r}, and its metrics "
            f"count that class; to count {chosen!r}, capture the model again with "
            f"positive_class={chosen!r}"
        )


def _packaged_now(captured: CapturedModel) -> CapturedModel:
    """A plain estimator captured at packaging: say what only its training could have known."""
    manifest = captured.manifest
    provenance, missing = packaging_provenance(manifest.provenance, manifest.missing)
    missing.append("model.created_at: the packaging time; the training time is unknown")
    return replace(captured, manifest=replace(manifest, provenance=provenance, missing=missing))


def _with_edge_cases(captured: CapturedModel, plan: EvaluationPlan | None) -> CapturedModel:
    """Cases given at packaging run now against the captured estimator (no data needed);
    they replace any the capture file held."""
    if plan is None or plan.edge_cases is None:
        return captured
    manifest = captured.manifest
    target = manifest.target or TargetSpec(task=task_of(captured.estimator))
    suite = edge_case_suite(captured.estimator, manifest.input, target, plan)
    if suite is None:
        return captured
    summary = suite.summary(plan.allow_failing_edge_cases)
    return replace(captured, edge_cases=suite, manifest=replace(manifest, edge_cases=summary))


def _with_self_test(captured: CapturedModel) -> CapturedModel:
    """A capture file from before format 2.0 has no self-test rows: make them now."""
    if captured.self_test.inputs:
        return captured
    manifest = captured.manifest
    task = manifest.target.task if manifest.target else task_of(captured.estimator)
    self_test, left_out = self_test_rows(captured.estimator, manifest.input, task)
    missing = [*manifest.missing, *left_out]
    return replace(captured, self_test=self_test, manifest=replace(manifest, missing=missing))


def _split(data: pd.DataFrame, target: str, what: str) -> tuple[pd.DataFrame, pd.Series]:
    if target not in data.columns:
        raise CaptureError(f"{what} has no column {target!r}")
    return data.drop(columns=[target]), data[target]


def _from_estimator(
    model: Any,
    details: ModelDetails,
    examples: ExampleRows,
    positive: Label | None,
    dictionary: FeatureDictionary | None,
    target_name: str | None,
) -> CapturedModel:
    """What a bare estimator knows about itself, and plain statements of what it does not."""
    task = task_of(model)
    classes = getattr(model, "classes_", None)
    labels = [] if classes is None or task == "regression" else [json_label(c) for c in classes]
    positive = positive_class_of(positive, labels, task)
    missing = [
        "input: no training data was given, so feature ranges and missing rates are unknown; "
        "categories come from the model's encoders (or the data dictionary) and every other "
        "feature is recorded as a number",
        "target: no training data was given, so the target's name and class balance are unknown",
        "metrics: no test data was given",
        "drift: no training data was given, so no drift bins are recorded (GET /drift has none)",
        "self-test: no data was given, so its synthetic rows are made from safe defaults "
        "(0, the first category), not from training statistics",
    ]
    names = getattr(model, "feature_names_in_", None)
    fmt: InputFormat
    if names is not None:
        fmt, generated, names = "dataframe", False, [str(n) for n in names]
    else:
        count = getattr(model, "n_features_in_", None)
        if count is None:
            raise CaptureError(
                f"the {type(model).__name__} records neither feature names nor a feature count; "
                "give training data to package it"
            )
        fmt, generated, names = "array", True, [f"x{i}" for i in range(int(count))]
        missing.append("input: feature names are unknown; they are generated as x0, x1, ...")
    check_names(dictionary, names, target_name)
    features = bare_features(model, names, dictionary)
    spec = InputSpec(format=fmt, names_generated=generated, features=features)
    check_nullable(model, spec, task, dictionary)
    target = TargetSpec(task=task, classes=labels or None, positive_class=positive)
    provenance, unknown = collect_provenance(model, workdir=None)
    missing.extend(unknown)
    info, not_given = model_info(details, model)
    missing.extend(not_given)
    self_test, left_out = self_test_rows(model, spec, task)
    missing.extend(left_out)
    manifest = Manifest(
        model=info,
        model_file=ModelFile(path=MODEL_FILE, serializer=SERIALIZER),
        estimator=estimator_info(model, None),
        input=spec,
        provenance=provenance,
        target=target,
        metrics=None,
        missing=missing,
        example_rows=examples,
    )
    return CapturedModel(model, manifest, self_test)
