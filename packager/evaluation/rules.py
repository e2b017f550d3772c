"""Threshold rules: how a profile's threshold is chosen from scored rows, and their text.

A rule is one of ``sensitivity>=X``, ``specificity>=X``, ``fpr<=X``, ``ppv>=X``,
``alerts<=X`` (rows flagged per 100), ``youden`` or ``fixed:X``; a profile on the command line
is ``NAME:RULE``. The decision is the same everywhere: a row is positive when its score (the
probability of the positive class) is at least the threshold. The candidate thresholds are the
distinct scores of the rows; among those that satisfy the rule, the one best on the other side
is chosen (for ``sensitivity>=X``, the highest, so that specificity is as good as it can be).
A rule is refused on rows that cannot measure it: sensitivity needs rows of the positive class,
specificity and fpr rows of the other, ppv and youden both; alerts count any row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from packager.errors import CaptureError

__all__ = ["FORMS", "ProfileSpec", "Rule", "choose_threshold", "parse_profiles", "parse_rule"]

FORMS = (
    "sensitivity>=X, specificity>=X, fpr<=X, ppv>=X (X from 0 to 1), "
    "alerts<=X (flagged per 100 patients, 0 to 100), youden, fixed:X (a threshold from 0 to 1)"
)
# The measure each rule bounds, its operator, and the largest X it takes.
_BOUNDS = {
    "sensitivity": (">=", 1.0),
    "specificity": (">=", 1.0),
    "fpr": ("<=", 1.0),
    "ppv": (">=", 1.0),
    "alerts": ("<=", 100.0),
}
# Which rows each rule's measure is computed on: the positive class's (True), the other
# class's (False). A rule is refused on rows lacking one of them: it could not be measured
# there (PPV on rows of one class is 1 or 0 at every threshold). Alerts count any row.
_MEASURED_ON: dict[str, tuple[bool, ...]] = {
    "sensitivity": (True,),
    "specificity": (False,),
    "fpr": (False,),
    "ppv": (True, False),
    "youden": (True, False),
    "alerts": (),
}
_RULE = re.compile(r"^(?P<kind>[a-z]+)(?P<op>>=|<=|:)(?P<value>[^:<>=]+)$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Rule:
    """A parsed rule: ``kind`` (sensitivity, ..., youden, fixed) and its bound ``value``."""

    kind: str
    value: float | None = None

    @property
    def text(self) -> str:
        """The rule as it is written and recorded, e.g. ``sensitivity>=0.9``."""
        if self.value is None:
            return self.kind
        if self.kind == "fixed":
            return f"fixed:{self.value:g}"
        return f"{self.kind}{_BOUNDS[self.kind][0]}{self.value:g}"


@dataclass(frozen=True)
class ProfileSpec:
    """A profile asked for: its name and the rule choosing its threshold."""

    name: str
    rule: Rule


def parse_rule(text: str) -> Rule:
    """The rule ``text`` (spaces ignored); a CaptureError naming it and the forms if bad."""
    compact = "".join(str(text).split()).lower()
    if compact == "youden":
        return Rule("youden")
    match = _RULE.match(compact)
    kind, op = (match["kind"], match["op"]) if match else ("", "")
    expected = ":" if kind == "fixed" else _BOUNDS.get(kind, ("", 0.0))[0]
    if match is None or op != expected:
        raise CaptureError(f"threshold rule {text!r} is not one of: {FORMS}")
    top = 1.0 if kind == "fixed" else _BOUNDS[kind][1]
    try:
        value = float(match["value"])
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= top:  # also refuses nan
        raise CaptureError(f"threshold rule {text!r}: X must be a number from 0 to {top:g}")
    return Rule(kind, value)


def parse_profiles(specs: Sequence[str]) -> list[ProfileSpec]:
    """``NAME:RULE`` profiles, names unique (letters, digits, ``-_.``); errors name the spec."""
    profiles: list[ProfileSpec] = []
    for spec in specs:
        name, colon, rule = str(spec).partition(":")
        name = name.strip()
        if not colon or not rule.strip():
            raise CaptureError(
                f"threshold profile {spec!r} is not NAME:RULE, e.g. default:sensitivity>=0.9"
            )
        if not _NAME.match(name):
            raise CaptureError(
                f"threshold profile {spec!r}: the name must be 1 to 64 letters, digits, "
                "'-', '_' or '.'"
            )
        if any(p.name == name for p in profiles):
            raise CaptureError(f"threshold profile {name!r} is given twice; names must be unique")
        profiles.append(ProfileSpec(name, parse_rule(rule)))
    return profiles


def choose_threshold(
    rule: Rule,
    positive: np.ndarray,
    score: np.ndarray,
    classes: tuple[str, str] = ("the positive class", "the other class"),
) -> float:
    """The threshold ``rule`` picks on rows with true ``positive`` flags and ``score``s.

    Raises CaptureError naming the rule when the rows cannot measure it (they lack the class
    it is measured on; ``classes`` names the positive and the other) or cannot meet it.
    """
    if rule.kind == "fixed":
        return float(rule.value or 0.0)
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    if not len(score):
        raise CaptureError(f"threshold rule {rule.text!r} needs labelled rows; there are none")
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    needed = _MEASURED_ON[rule.kind]
    missing = [classes[0 if p else 1] for p in needed if (n_pos if p else n_neg) == 0]
    if missing:
        said = (
            f"both classes; these rows hold none of {missing[0]}"
            if len(needed) == 2
            else f"{missing[0]}; these rows hold none"
        )
        raise CaptureError(f"threshold rule {rule.text!r} needs rows of {said}")
    candidates = np.unique(score)  # ascending
    tp, fp = _counts(candidates, score[positive]), _counts(candidates, score[~positive])
    bound = rule.value or 0.0
    if rule.kind == "youden":
        return float(candidates[int(np.argmax(tp / n_pos - fp / n_neg))])
    if rule.kind == "sensitivity":
        # Sensitivity falls as the threshold rises: the highest one still meeting it.
        meets = tp / n_pos >= bound - 1e-12
        return _pick(rule, candidates, meets, highest=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        measured = {
            "specificity": 1 - fp / n_neg,
            "fpr": fp / n_neg,
            "ppv": tp / (tp + fp),
            "alerts": 100 * (tp + fp) / len(score),
        }[rule.kind]
    op = _BOUNDS[rule.kind][0]
    meets = measured >= bound - 1e-12 if op == ">=" else measured <= bound + 1e-12
    return _pick(rule, candidates, meets, highest=False)


def _counts(candidates: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """How many of ``scores`` are at least each candidate threshold."""
    return len(scores) - np.searchsorted(np.sort(scores), candidates, side="left")


def _pick(rule: Rule, candidates: np.ndarray, meets: np.ndarray, *, highest: bool) -> float:
    found = np.flatnonzero(meets)
    if not len(found):
        raise CaptureError(
            f"threshold rule {rule.text!r} cannot be met on these rows at any threshold"
        )
    return float(candidates[found[-1] if highest else found[0]])
