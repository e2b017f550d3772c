"""Threshold profiles: a named rule's threshold on scored rows, with what it gives there.

:func:`threshold_profiles` turns ``NAME:RULE`` specs into
:class:`~packager.artefact.ThresholdProfile` values: the threshold the rule picks (see
:mod:`packager.evaluation.rules`), the data it was chosen on (a
:class:`~packager.artefact.DataRecord`), and the sensitivity, specificity, PPV, NPV and alerts
per 100 rows at that threshold, each with a bootstrap interval (resampled within each class).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from packager.artefact import DataRecord, ThresholdProfile
from packager.errors import CaptureError
from packager.evaluation.bootstrap import Bootstrap, intervals
from packager.evaluation.headline import rate
from packager.evaluation.rules import ProfileSpec, choose_threshold
from packager.evaluation.scored import Scored

__all__ = [
    "DEFAULT_PROFILE",
    "IMPLICIT_THRESHOLD",
    "PROFILE_METRICS",
    "TEST_DATA",
    "check_profiles_possible",
    "data_record",
    "default_profile",
    "operating_metrics",
    "profile_metrics",
    "rows_sha256",
    "threshold_profiles",
]

# The source recorded for profiles chosen at capture, on the test data.
TEST_DATA = "test data"
PROFILE_METRICS = ("sensitivity", "specificity", "ppv", "npv", "alerts_per_100")
DEFAULT_PROFILE = "default"
# The threshold in force for an artefact that records no profile: the server's implicit
# "default" profile (fixed:0.5), and what `deployml threshold` compares a site's rule with.
IMPLICIT_THRESHOLD = 0.5


def check_profiles_possible(task: str, has_proba: bool) -> None:
    """Refuse threshold profiles for a model that has no score to put a threshold on."""
    if task != "binary":
        raise CaptureError(
            f"threshold profiles need a binary classifier; this model is a {task} model"
        )
    if not has_proba:
        raise CaptureError(
            "threshold profiles need a model with predict_proba; this one gives labels only"
        )


def operating_metrics(
    positive: np.ndarray, score: np.ndarray, threshold: float
) -> dict[str, float | None]:
    """Sensitivity, specificity, PPV, NPV and alerts per 100 rows when ``score >= threshold``."""
    flagged = np.asarray(score) >= threshold
    positive = np.asarray(positive, dtype=bool)
    tp = int((flagged & positive).sum())
    fp = int((flagged & ~positive).sum())
    fn = int((~flagged & positive).sum())
    tn = int((~flagged & ~positive).sum())
    return {
        "sensitivity": rate(tp, tp + fn),
        "specificity": rate(tn, tn + fp),
        "ppv": rate(tp, tp + fp),
        "npv": rate(tn, tn + fn),
        "alerts_per_100": rate(100 * (tp + fp), len(flagged)),
    }


def threshold_profiles(
    specs: Sequence[ProfileSpec], scored: Scored, chosen_on: DataRecord, bootstrap: Bootstrap
) -> list[ThresholdProfile]:
    """One profile per spec, its threshold chosen on ``scored`` (described by ``chosen_on``)."""
    if not specs:
        return []
    check_profiles_possible(scored.task, scored.proba is not None)
    positive, score = scored.positive, scored.score
    other = next((c for c in scored.classes if c != scored.positive_class), None)
    classes = (f"the positive class ({scored.positive_class})", f"the other class ({other})")
    profiles = []
    for spec in specs:
        try:
            threshold = choose_threshold(spec.rule, positive, score, classes)
        except CaptureError as error:
            raise CaptureError(f"threshold profile {spec.name!r}: {error.message}") from None
        profiles.append(
            ThresholdProfile(
                name=spec.name,
                threshold=threshold,
                rule=spec.rule.text,
                chosen_on=chosen_on,
                metrics=profile_metrics(positive, score, threshold, bootstrap),
            )
        )
    return profiles


def profile_metrics(
    positive: np.ndarray, score: np.ndarray, threshold: float, bootstrap: Bootstrap
) -> dict[str, object]:
    """A profile's ``metrics``: the values at ``threshold``, their intervals, the method."""

    def statistic(rows: np.ndarray) -> dict[str, float | None]:
        return operating_metrics(positive[rows], score[rows], threshold)

    return {
        **operating_metrics(positive, score, threshold),
        "intervals": intervals(len(score), statistic, bootstrap, strata=positive),
        "bootstrap": bootstrap.record(),
    }


def default_profile(profiles: Sequence[ThresholdProfile]) -> str | None:
    """The profile used when none is named: the one called "default", else the first."""
    names = [p.name for p in profiles]
    if DEFAULT_PROFILE in names:
        return DEFAULT_PROFILE
    return names[0] if names else None


def data_record(source: str, scored: Scored, sha256: str) -> DataRecord:
    """What labelled rows a profile was chosen on: whence, how many, prevalence, when (UTC)."""
    prevalence = float(np.mean(scored.positive)) if len(scored) else None
    date = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return DataRecord(source, len(scored), sha256, prevalence, date)


def rows_sha256(frame: pd.DataFrame, y: np.ndarray) -> str:
    """The SHA-256 of rows given without a file: their CSV text, with the labels last."""
    table = frame.reset_index(drop=True).assign(__label__=np.asarray(y))
    return hashlib.sha256(table.to_csv(index=False).encode("utf-8")).hexdigest()
