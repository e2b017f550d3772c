"""The loaded model: integrity and version checks, the self-test, and prediction.

Built once per server, in the gunicorn master before workers fork (so they share its
memory). Loading refuses a changed file, a newer format, a ``DEPLOYML_PROFILE`` the artefact
does not have and, when asked, a different scikit-learn; a failed self-test (re-scoring
self_test.json, and examples.json when present, and re-running edge_cases.json: each case's
outcome as recorded) leaves the server up but not ready. The threshold profiles
(``profiles``) decide yes or no for binary classifiers.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import astuple, dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import sklearn

from packager.artefact import (
    EDGE_CASES_FILE,
    MANIFEST_FILE,
    Artefact,
    Outputs,
    compare_outputs,
    load_artefact,
    model_input,
    model_outputs,
)
from packager.capture import task_of
from packager.errors import ManifestError, RequestError
from packager.evaluation import changed_outcomes, judge
from packager.review import VersionDifference, version_differences
from server.errors import UnscorableInputError, VersionMismatchError
from server.logs import SERVER_LOGGER
from server.runtime.compiled import Inference, choose_inference
from server.runtime.exact import ExactPath, exact_path
from server.runtime.probe import takes_arrays, unscorable_features
from server.runtime.profiles import Profiles, served_profiles
from server.runtime.threads import ThreadLimit
from server.settings import PREFIX, Settings
from server.validation import Batch, Payload, Validator

__all__ = ["Runtime", "load_runtime"]

log = logging.getLogger(SERVER_LOGGER)
# Classifiers whose predict is exactly classes_[argmax(predict_proba)], so one pass gives both.
_ARGMAX_CLASSIFIERS = frozenset(
    {
        "LogisticRegression",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "DecisionTreeClassifier",
        "HistGradientBoostingClassifier",
    }
)


_SILENCED = ("Found unknown categories", "X does not have valid feature names")


@dataclass(frozen=True)
class Runtime:
    """The artefact, its compiled validator, version differences and readiness."""

    artefact: Artefact
    validator: Validator
    task: str
    labels: list[str] | None
    version_differences: list[VersionDifference]
    not_ready: str | None
    threads: ThreadLimit
    profiles: Profiles
    takes_arrays: bool = False
    argmax_predicts: bool = False
    # The model's own arithmetic, when start-up proved it bit-identical (server.runtime.exact).
    exact: ExactPath | None = None
    inference: Inference = field(default_factory=Inference)  # the compiled model, if it scores

    def predict(self, batch: Batch) -> Outputs:
        """Score validated rows (the model's own warnings are silenced in load_runtime)."""
        self.threads.apply()
        try:
            # Validation has refused inf and NaN except as nulls, which the model was fitted
            # with, so scikit-learn's own finiteness scan of every value can be skipped.
            with sklearn.config_context(assume_finite=True):
                return self._score(self._model_input(batch))
        except (ValueError, TypeError) as error:
            # Validated input the model still refuses; its message may quote values.
            log.error("the model refused validated input: %s", type(error).__name__)
            raise UnscorableInputError(type(error).__name__) from None

    def _model_input(self, batch: Batch) -> Any:
        spec = self.artefact.manifest.input
        if batch.matrix is None:
            assert batch.columns is not None
            return model_input(batch.columns, spec)
        if all(f.dtype == "float64" for f in spec.features):
            # The matrix already is the training layout: skip building one array per column,
            # and the DataFrame too when start-up showed the model scores arrays the same.
            if spec.format == "array" or self.takes_arrays:
                return batch.matrix
            return pd.DataFrame(batch.matrix, columns=spec.names, copy=False)
        return model_input(dict(zip(spec.names, batch.matrix.T, strict=True)), spec)

    def _score(self, X: Any) -> Outputs:
        if self.inference.model is not None:
            return self.inference.model.outputs(X)
        model: Any = self.artefact.model if self.exact is None else self.exact
        if self.labels is None or not self.argmax_predicts:
            return model_outputs(model, X, self.task)
        probabilities = np.asarray(model.predict_proba(X), dtype=np.float64)
        predictions = np.asarray(model.classes_).take(probabilities.argmax(axis=1))
        return Outputs(predictions=predictions.tolist(), probabilities=probabilities.tolist())


def load_runtime(settings: Settings) -> Runtime:
    """Load and check the artefact named by ``settings``; raise on anything unsafe."""
    artefact = load_artefact(
        settings.require_artefact(),
        allow_pickle=settings.allow_pickle,
        allow_with=f"{PREFIX}ALLOW_PICKLE=true",
        expected_sha256=settings.expected_sha256,
    )
    manifest = artefact.manifest
    differences = version_differences(manifest.provenance.packages)
    for diff in differences:
        level = logging.ERROR if diff.fatal else logging.WARNING
        log.log(level, "version mismatch: %s recorded %s, installed %s", *astuple(diff))
        if diff.fatal and settings.strict_versions:
            raise VersionMismatchError(diff)
    _silence_reported_warnings()
    threads = ThreadLimit(settings.model_thread_limit)
    # One thread in the master: OpenMP pools started before fork can hang the workers.
    threads.apply(1)
    task = manifest.target.task if manifest.target else task_of(artefact.model)
    # Before the self-test: a DEPLOYML_PROFILE the artefact lacks stops start-up at once.
    profiles = served_profiles(
        manifest, artefact.model, task, settings.profile, str(artefact.path / MANIFEST_FILE)
    )
    _report_profile(profiles)
    classes = getattr(artefact.model, "classes_", None) if task != "regression" else None
    runtime = Runtime(
        artefact=artefact,
        validator=Validator(
            manifest.input,
            strict_categories=settings.strict_categories,
            unscorable=unscorable_features(artefact),
        ),
        task=task,
        labels=None if classes is None else [str(_plain(c)) for c in classes],
        version_differences=differences,
        not_ready=None,
        threads=threads,
        profiles=profiles,
        takes_arrays=takes_arrays(artefact),
        argmax_predicts=_argmax_classifier(artefact.model),
    )
    # Tried on rows through the request checks, as requests reach the model.
    exact = exact_path(artefact, task, partial(_request_input, runtime))
    runtime = replace(runtime, exact=exact)
    problems = _self_test(runtime)
    if problems:
        log.error("self-test failed, not ready: %s", "; ".join(problems))
        return replace(runtime, not_ready=f"self-test failed: {'; '.join(problems)}")
    log.info("model %s %s loaded and self-tested", manifest.model.name, manifest.model.version)
    if manifest.compiled is None:
        return runtime
    threads_each = settings.model_thread_limit
    labels = None if classes is None else list(classes)
    return replace(
        runtime, inference=choose_inference(artefact, labels, threads_each, _scored(runtime))
    )


def _scored(runtime: Runtime) -> dict[str, tuple[Any, Outputs]]:
    """Each stored file of rows (the edge cases' too) as model input, with scikit-learn's
    outputs for it."""
    stored = {name: rows.inputs for name, rows in runtime.artefact.stored_rows().items()}
    cases = runtime.artefact.edge_cases
    stored[EDGE_CASES_FILE] = [case.inputs for case in cases.cases] if cases else []
    scored = {}
    for name, inputs in stored.items():
        if inputs:
            X = runtime._model_input(_validate_rows(runtime, inputs))
            scored[name] = (X, runtime._score(X))
    return scored


def _report_profile(profiles: Profiles) -> None:
    """Say which profile decides when a request names none, and why that one."""
    default = profiles.default
    if default is not None:
        log.info(
            "decisions: profile %s (threshold %s, rule %s, from %s) on positive class %r",
            default.name,
            default.threshold,
            default.rule,
            profiles.default_from,
            default.positive_class,
        )


def _silence_reported_warnings() -> None:
    """Silence model warnings that the server reports itself or has made moot.

    An unknown category becomes a per-row warning for the client; missing feature names
    only arise when start-up proved that arrays in training order score the same. Filters
    are process-wide, unlike ``catch_warnings``, which is unsafe with threaded workers.
    """
    for message in _SILENCED:
        warnings.filterwarnings("ignore", message=message, category=UserWarning)


def _self_test(runtime: Runtime) -> list[str]:
    """Re-score every stored file of rows (self_test.json, and examples.json when present)
    along a request's path: validated, then scored."""
    stored = runtime.artefact.stored_rows()
    if not any(rows.inputs for rows in stored.values()):
        return ["the artefact holds no rows to re-score"]
    problems = []
    for name, rows in stored.items():
        try:
            batch = _validate_rows(runtime, rows.inputs)
        except RequestError as error:
            problems.append(f"{name} fails the request checks: {_first_detail(error)}")
            continue
        try:
            # Not runtime.predict: the master keeps to one thread (see load_runtime).
            scores = runtime._score(runtime._model_input(batch))
        except Exception as error:  # any failure to re-score means not ready
            problems.append(f"re-scoring {name} raised {type(error).__name__}")
            continue
        problems.extend(f"{name}: {problem}" for problem in compare_outputs(rows, scores))
    return problems + _edge_cases(runtime)


def _edge_cases(runtime: Runtime) -> list[str]:
    """Re-run the stored edge cases along a request's path; each outcome must be as recorded."""
    cases, target = runtime.artefact.edge_cases, runtime.artefact.manifest.target
    if cases is None or target is None:
        return []
    try:
        batch = _validate_rows(runtime, [case.inputs for case in cases.cases])
    except RequestError as error:
        return [f"{EDGE_CASES_FILE} fails the request checks: {_first_detail(error)}"]
    try:
        scores = runtime._score(runtime._model_input(batch))
        fresh = judge(cases, scores, target, EDGE_CASES_FILE)
    except Exception as error:  # any failure to re-run means not ready
        return [f"re-running {EDGE_CASES_FILE} raised {type(error).__name__}"]
    return changed_outcomes(cases, fresh)


def _validate_rows(runtime: Runtime, inputs: list[dict[str, Any]]) -> Batch:
    """Stored rows through the requests' validator; a validator that breaks stops start-up."""
    try:
        return runtime.validator.validate(Payload(rows=len(inputs), records=list(inputs)))
    except RequestError:
        raise
    except Exception as error:
        # A schema the validator cannot use would fail every request: refuse to start.
        raise ManifestError(
            str(runtime.artefact.path / MANIFEST_FILE),
            f"the input schema cannot validate requests ({type(error).__name__})",
        ) from None


def _request_input(runtime: Runtime, inputs: list[dict[str, Any]]) -> Any:
    """What the model is given for ``inputs`` (rows the request checks refuse left out)."""
    batch = runtime.validator.validate(Payload(rows=len(inputs), records=inputs), "skip")
    return runtime._model_input(batch)


def _first_detail(error: RequestError) -> str:
    """The first problem, by row and feature (never the value), or the error's message."""
    if not error.details:
        return error.message
    detail = error.details[0]
    where = ", ".join(f"{key} {detail[key]}" for key in ("row", "feature") if key in detail)
    return f"{where}: {detail.get('problem', '')}" if where else error.message


def _argmax_classifier(model: Any) -> bool:
    """Whether predict is classes_[argmax(predict_proba)]: one pass then gives both."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return (
        type(final).__name__ in _ARGMAX_CLASSIFIERS
        and getattr(final, "n_outputs_", 1) == 1
        and hasattr(model, "predict_proba")
    )


def _plain(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label
