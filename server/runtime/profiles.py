"""The threshold profiles a binary classifier is served with: which one applies, and its decisions.

A profile turns the probability of the positive class into a decision: the positive class when
``P(positive) >= threshold``, else the other class. The profiles are the manifest's
(``profiles``, ``default_profile``, ``target.positive_class``). A request may name one; when
it names none, the profile in force is ``DEPLOYML_PROFILE``, else the manifest's
``default_profile``, else a recorded profile named ``default``, else an implicit ``default``
with rule ``fixed:0.5`` (every artefact packaged before profiles existed gets this one). The
positive class is ``target.positive_class``, else the model's second class.

Multiclass classifiers, regressors and classifiers without probabilities make no such decision:
they have no profiles, and a request or a ``DEPLOYML_PROFILE`` that names one is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from packager.artefact import Manifest, ThresholdProfile, has_predict_proba, json_label
from packager.errors import ConfigError, ManifestError
from packager.evaluation import DEFAULT_PROFILE, IMPLICIT_THRESHOLD
from server.errors import ProfileNotApplicableError, UnknownProfileError
from server.settings import PREFIX
from server.validation import kind_of

__all__ = ["IMPLICIT_PROFILE", "Profiles", "ServedProfile", "served_profiles"]

# An artefact without profiles decides under one of this name, at IMPLICIT_THRESHOLD.
IMPLICIT_PROFILE = DEFAULT_PROFILE
# Where the profile in force when a request names none came from, as /metadata says it.
FROM_SETTING = PREFIX + "PROFILE"
FROM_MANIFEST = "manifest"
FROM_IMPLICIT = "implicit"
_MODELS = {"multiclass": "a multiclass classifier", "regression": "a regressor"}


@dataclass(frozen=True)
class ServedProfile:
    """A profile as the server applies it: its threshold on the positive class's column."""

    name: str
    threshold: float
    rule: str
    positive_class: Any
    other_class: Any
    column: int  # the positive class's place in each row of probabilities
    chosen_on: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    implicit: bool = False

    def decide(self, probabilities: Sequence[Sequence[float | None]]) -> list[Any]:
        """Each row's decision: the positive class when its probability reaches the threshold.

        A row without a probability (null in the answer: the model gave NaN, as GaussianNB
        does for extreme inputs) gets no decision (None), never the other class.
        """
        column, threshold = self.column, self.threshold
        positive, other = self.positive_class, self.other_class
        decisions: list[Any] = []
        for row in probabilities:
            p = row[column]
            if p is None or math.isnan(p):
                decisions.append(None)
            else:
                decisions.append(positive if p >= threshold else other)
        return decisions

    def answer(self) -> dict[str, Any]:
        """What a response says of the profile it used."""
        return {
            "name": self.name,
            "threshold": self.threshold,
            "rule": self.rule,
            "positive_class": self.positive_class,
        }

    def document(self) -> dict[str, Any]:
        """The profile as /metadata lists it: how it was chosen, on what, giving what there."""
        return {
            "name": self.name,
            "threshold": self.threshold,
            "rule": self.rule,
            "chosen_on": self.chosen_on,
            "metrics": self.metrics,
            "implicit": self.implicit,
        }


@dataclass(frozen=True)
class Profiles:
    """The profiles of one model and the one in force; none for a model that decides nothing."""

    by_name: dict[str, ServedProfile]
    default: ServedProfile | None
    default_from: str | None
    model: str  # what the model is, for the refusal of a profile it cannot apply

    def resolve(self, requested: Any, named: bool) -> ServedProfile | None:
        """The profile a request named (``named``: its body has the key), else the default."""
        if self.default is None:
            if named:
                raise ProfileNotApplicableError(self.model)
            return None
        if not named:
            return self.default
        if not isinstance(requested, str):
            raise UnknownProfileError(list(self.by_name), kind_of(requested))
        profile = self.by_name.get(requested)
        if profile is None:
            raise UnknownProfileError(list(self.by_name))
        return profile

    def document(self) -> dict[str, Any] | None:
        """/metadata's ``profiles``: the positive class, the default in force, every profile."""
        if self.default is None:
            return None
        return {
            "positive_class": self.default.positive_class,
            "default": self.default.name,
            "default_from": self.default_from,
            "implicit": self.default.implicit,
            "profiles": [profile.document() for profile in self.by_name.values()],
        }


def served_profiles(
    manifest: Manifest, model: Any, task: str, chosen: str | None, source: str
) -> Profiles:
    """The model's profiles with the one in force; ``chosen`` is ``DEPLOYML_PROFILE``.

    Raises ConfigError for a ``chosen`` the model does not have (naming those it has), and
    ManifestError (``source``: the manifest's path) for profiles that contradict the model.
    """
    if task != "binary" or not has_predict_proba(model):
        described = _MODELS.get(task, "a binary classifier without probabilities")
        if chosen is not None:
            raise ConfigError(
                FROM_SETTING,
                f"profiles apply to binary classifiers that give probabilities; this model is "
                f"{described}: unset it",
            )
        return Profiles(by_name={}, default=None, default_from=None, model=described)
    classes = [json_label(label) for label in model.classes_]
    positive = _positive_class(manifest, classes, source)
    column = classes.index(positive)
    by_name: dict[str, ServedProfile] = {}
    for recorded in manifest.profiles:
        if recorded.name in by_name:
            raise ManifestError(source, f"profiles: {recorded.name!r} is named twice")
        by_name[recorded.name] = _served(recorded, classes, column)
    default_name, default_from = manifest.default_profile, FROM_MANIFEST
    if default_name is None:
        default_name = IMPLICIT_PROFILE
        if IMPLICIT_PROFILE not in by_name:
            default_from = FROM_IMPLICIT
            by_name[IMPLICIT_PROFILE] = _implicit(classes, column)
    elif default_name not in by_name:
        raise ManifestError(source, f"default_profile {default_name!r} is not one of its profiles")
    if chosen is not None:
        if chosen not in by_name:
            raise ConfigError(
                FROM_SETTING,
                f"no profile {chosen!r} in this artefact; its profiles are: {', '.join(by_name)}",
            )
        default_name, default_from = chosen, FROM_SETTING
    return Profiles(
        by_name=by_name,
        default=by_name[default_name],
        default_from=default_from,
        model="a binary classifier",
    )


def _positive_class(manifest: Manifest, classes: list[Any], source: str) -> Any:
    """The recorded positive class, else the second class (as before it was recorded)."""
    recorded = None if manifest.target is None else manifest.target.positive_class
    if recorded is None:
        return classes[1]
    if recorded not in classes:
        raise ManifestError(
            source,
            f"target.positive_class {recorded!r} is not one of the model's classes "
            f"({', '.join(map(repr, classes))})",
        )
    return recorded


def _served(recorded: ThresholdProfile, classes: list[Any], column: int) -> ServedProfile:
    return ServedProfile(
        name=recorded.name,
        threshold=float(recorded.threshold),
        rule=recorded.rule,
        positive_class=classes[column],
        other_class=classes[1 - column],
        column=column,
        chosen_on=asdict(recorded.chosen_on),
        metrics=recorded.metrics,
    )


def _implicit(classes: list[Any], column: int) -> ServedProfile:
    return ServedProfile(
        name=IMPLICIT_PROFILE,
        threshold=IMPLICIT_THRESHOLD,
        rule=f"fixed:{IMPLICIT_THRESHOLD}",
        positive_class=classes[column],
        other_class=classes[1 - column],
        column=column,
        implicit=True,
    )
