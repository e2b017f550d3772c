"""A site's labelled data against an artefact: the threshold a rule gives there, and the gap.

:func:`review_site` scores a site's rows with a loaded artefact's model, chooses a threshold
profile on them (:mod:`packager.evaluation.rules`), and says how the site differs from the
data the model was tested on: prevalence, the metrics at the threshold in use (the default
profile's, else 0.5) on the site against those recorded, and per feature how many rows fall
outside what training saw. Errors name columns and counts, never a cell's value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from packager.artefact import (
    Artefact,
    InputSpec,
    Manifest,
    ThresholdProfile,
    json_label,
    model_input,
    model_outputs,
)
from packager.errors import CaptureError
from packager.evaluation import (
    IMPLICIT_THRESHOLD,
    PROFILE_METRICS,
    TEST_DATA,
    Bootstrap,
    ProfileSpec,
    Scored,
    check_profiles_possible,
    data_record,
    default_profile,
    profile_metrics,
    threshold_profiles,
)

__all__ = ["SiteReview", "check_profile_name", "review_site", "with_profile"]


@dataclass(frozen=True)
class SiteReview:
    """What a rule gives on a site's data, and how the site differs from the test data."""

    profile: ThresholdProfile  # chosen on the site
    test_prevalence: float | None  # as recorded for the test data, when it was
    reference: str  # the threshold in use before: "profile 'default'" or "no profile" (0.5)
    reference_threshold: float
    at_reference: dict[str, Any]  # the site's metrics at that threshold, with intervals
    recorded: dict[str, Any] | None  # the same metrics as recorded where it was chosen
    recorded_on: str  # where that was: "test data", or the source of another site's data
    outside_training: dict[str, int]  # feature -> rows outside the training range or values


def review_site(
    artefact: Artefact,
    data: pd.DataFrame,
    target: str,
    spec: ProfileSpec,
    *,
    source: str,
    sha256: str,
    bootstrap: Bootstrap | None = None,
) -> SiteReview:
    """Choose ``spec``'s threshold on ``data`` (labels in ``target``) for ``artefact``."""
    manifest = artefact.manifest
    if manifest.target is None or manifest.target.task != "binary" or not manifest.target.classes:
        task = manifest.target.task if manifest.target else "unknown"
        check_profiles_possible(task, has_proba=True)
    bootstrap = bootstrap or Bootstrap()
    scored = _score(artefact, data, target)
    chosen_on = data_record(source, scored, sha256)
    (profile,) = threshold_profiles([spec], scored, chosen_on, bootstrap)
    reference = _reference(manifest)
    threshold = IMPLICIT_THRESHOLD if reference is None else reference.threshold
    test = (manifest.metrics or {}).get("test") or {}
    recorded = reference.metrics if reference is not None else _plain_metrics(test)
    return SiteReview(
        profile=profile,
        test_prevalence=test.get("prevalence", _test_prevalence(manifest)),
        reference="no profile" if reference is None else f"profile {reference.name!r}",
        reference_threshold=threshold,
        at_reference=profile_metrics(scored.positive, scored.score, threshold, bootstrap),
        recorded=recorded,
        recorded_on=TEST_DATA if reference is None else reference.chosen_on.source,
        outside_training=outside_training(manifest.input, data),
    )


def with_profile(
    manifest: Manifest, profile: ThresholdProfile, *, replace_existing: bool, make_default: bool
) -> Manifest:
    """``manifest`` with ``profile`` added, or put in place of its namesake if
    ``replace_existing``; ``make_default`` makes it the default profile."""
    check_profile_name(manifest, profile.name, replace_existing=replace_existing)
    names = [p.name for p in manifest.profiles]
    profiles = [profile if p.name == profile.name else p for p in manifest.profiles]
    if profile.name not in names:
        profiles.append(profile)
    default = manifest.default_profile if manifest.default_profile in names else None
    chosen = profile.name if make_default else default or default_profile(profiles)
    return replace(manifest, profiles=profiles, default_profile=chosen)


def check_profile_name(manifest: Manifest, name: str, *, replace_existing: bool) -> None:
    """Refuse a profile name the artefact already has, unless it is to be replaced."""
    if not replace_existing and any(p.name == name for p in manifest.profiles):
        raise CaptureError(
            f"the artefact already has a profile {name!r}; choose another --name, "
            "or pass --replace to replace it"
        )


def outside_training(spec: InputSpec, data: pd.DataFrame) -> dict[str, int]:
    """Per feature, how many rows fall outside the training range (numbers) or values."""
    counts = {}
    for feature in spec.features:
        column = data[feature.name]
        present = column[column.notna()]
        if feature.min is not None and feature.max is not None:
            values = pd.to_numeric(present, errors="coerce")
            outside = int(((values < feature.min) | (values > feature.max)).sum())
        elif feature.categories is not None:
            known = set(feature.categories)
            outside = sum(1 for v in present if json_label(v) not in known)
        else:
            continue
        if outside:
            counts[feature.name] = outside
    return counts


def _score(artefact: Artefact, data: pd.DataFrame, target: str) -> Scored:
    manifest = artefact.manifest
    assert manifest.target is not None and manifest.target.classes  # checked by the caller
    classes = tuple(manifest.target.classes)
    _check_columns(manifest.input, data, target)
    labels = data[target]
    if labels.isna().any():
        raise CaptureError(
            f"the target column {target!r} has {int(labels.isna().sum())} empty cell(s); "
            "every row needs its outcome"
        )
    y = np.array([json_label(v) for v in labels], dtype=object)
    unknown = {v for v in y if v not in set(classes)}
    if unknown:
        raise CaptureError(
            f"the target column {target!r} holds {len(unknown)} label(s) the model does not "
            f"know; its classes are {', '.join(str(c) for c in classes)}"
        )
    try:
        outputs = model_outputs(artefact.model, _model_input(manifest.input, data), "binary")
    except (ValueError, TypeError, KeyError, IndexError) as error:
        # The estimator's own message may quote data values, so only its type is shown.
        raise CaptureError(
            f"the model could not score the site data ({type(error).__name__}); check it has "
            "the columns and kinds the model was trained on"
        ) from error
    if outputs.probabilities is None:
        check_profiles_possible("binary", has_proba=False)
    positive = manifest.target.positive_class
    return Scored(
        "binary",
        y,
        np.array(outputs.predictions, dtype=object),
        np.asarray(outputs.probabilities, dtype=np.float64),
        classes,
        classes[1] if positive is None else positive,
    )


def _check_columns(spec: InputSpec, data: pd.DataFrame, target: str) -> None:
    if target not in data.columns:
        raise CaptureError(f"the site data has no target column {target!r}")
    missing = [name for name in spec.names if name not in data.columns]
    if missing:
        shown = ", ".join(missing[:20]) + (
            f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        )
        raise CaptureError(f"the site data lacks {len(missing)} feature column(s): {shown}")


def _model_input(spec: InputSpec, data: pd.DataFrame) -> Any:
    """The site's rows as the server would build them from JSON, missing cells as None."""
    columns = {
        name: data[name].astype(object).where(data[name].notna(), None).tolist()
        for name in spec.names
    }
    try:
        return model_input(columns, spec)
    except (ValueError, TypeError):
        pass
    for feature in spec.features:  # name the column that cannot be read, never its values
        try:
            model_input({feature.name: columns[feature.name]}, replace(spec, features=(feature,)))
        except (ValueError, TypeError):
            raise CaptureError(
                f"the site data's column {feature.name!r} cannot be read as the "
                f"{feature.kind} the model was trained on"
            ) from None
    raise CaptureError("the site data's columns cannot be read as the model was trained on")


def _reference(manifest: Manifest) -> ThresholdProfile | None:
    by_name = {p.name: p for p in manifest.profiles}
    return by_name.get(manifest.default_profile or "") or next(iter(manifest.profiles), None)


def _test_prevalence(manifest: Manifest) -> float | None:
    """The test data's prevalence as a profile chosen on it recorded it, before format 3.0's
    ``metrics["test"]["prevalence"]``."""
    on_test = [p.chosen_on for p in manifest.profiles if p.chosen_on.source == TEST_DATA]
    return on_test[0].prevalence if on_test else None


def _plain_metrics(test: dict[str, Any]) -> dict[str, Any] | None:
    """The test metrics of the model's own predictions (threshold 0.5), where recorded."""
    found = {name: test[name] for name in PROFILE_METRICS if name in test}
    if not found:
        return None
    return {**found, "intervals": test.get("intervals"), "bootstrap": test.get("bootstrap")}
