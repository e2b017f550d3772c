"""Release gates: requirements a model must meet on its finished manifest to be written.

A requirement is one of

- ``METRIC>=X`` (or ``<=``, ``>``, ``<``) on a headline test metric: ``roc_auc>=0.80``;
- ``subgroup_gap(METRIC)<=X``: the largest gap in METRIC between the groups of any subgroup
  column (``<`` also allowed; a gap is only ever bounded above);
- ``METRIC@PROFILE>=X`` on a threshold profile's metrics: ``sensitivity@default>=0.9``.
  ``default`` names the default profile when no profile is called so.

:func:`parse_requirements` checks the text before any slow work; :func:`check_requirements`
measures each one on the manifest, records the results and raises
:class:`~packager.errors.RequirementsNotMetError` when one fails. A requirement that nothing
measured (no test data, no such profile, no subgroups, a metric the model lacks) fails: a
gate never passes for want of a number.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from packager.artefact import (
    HEADLINE_METRICS,
    Manifest,
    RequirementResult,
    ThresholdProfile,
    for_people,
)
from packager.errors import CaptureError, RequirementsNotMetError
from packager.evaluation.profiles import DEFAULT_PROFILE, PROFILE_METRICS

__all__ = [
    "METRICS",
    "Requirement",
    "check_requirements",
    "parse_requirements",
    "requirement_line",
]

# The metrics["test"] values a gate may bound (a profile's are PROFILE_METRICS).
METRICS = tuple(
    dict.fromkeys([*HEADLINE_METRICS["binary"], "prevalence", *HEADLINE_METRICS["regression"]])
)
# The metrics a subgroup gap is measured in: the headline ones (a group's prevalence is
# described, not gated).
GAP_METRICS = tuple(m for m in METRICS if m != "prevalence")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
FORMS = "METRIC>=X, METRIC<=X, subgroup_gap(METRIC)<=X or METRIC@PROFILE>=X"
# "default" in METRIC@default means the default profile when no profile has that name.

_PATTERN = re.compile(
    r"(?:subgroup_gap\(\s*(?P<gap>[^()]*?)\s*\)|(?P<metric>[^@<>=]+?)(?:@(?P<profile>[^<>=]*))?)"
    r"\s*(?P<op>>=|<=|>|<)\s*(?P<bound>\S+)"
)


@dataclass(frozen=True)
class Requirement:
    """One parsed gate: ``kind`` is "metric", "gap" or "profile"."""

    text: str
    kind: str
    metric: str
    op: str
    bound: float
    profile: str | None = None


@dataclass(frozen=True)
class _Measured:
    value: float | None
    interval: list[float] | None = None
    note: str | None = None  # where it was measured, or why it was not


def parse_requirements(texts: Iterable[str]) -> tuple[Requirement, ...]:
    """Each gate parsed, or a CaptureError naming the first that is malformed."""
    return tuple(_parse(text) for text in texts)


def _parse(text: str) -> Requirement:
    found = _PATTERN.fullmatch(text.strip())
    if found is None:
        raise CaptureError(f"requirement {text!r} is not one of {FORMS}")
    op, bound_text = found["op"], found["bound"]
    bound = _bound(text, bound_text)
    if found["gap"] is not None:
        metric, kind, profile = found["gap"], "gap", None
        lhs = f"subgroup_gap({metric})"
        if op not in ("<=", "<"):
            raise CaptureError(f"requirement {text!r}: a subgroup gap can only be bounded above")
    else:
        metric, profile = found["metric"].strip(), found["profile"]
        kind = "metric" if profile is None else "profile"
        if profile is not None:
            profile = profile.strip()
            if not profile:
                raise CaptureError(f"requirement {text!r} names no profile after @")
        lhs = metric if profile is None else f"{metric}@{profile}"
    known = {"profile": PROFILE_METRICS, "gap": GAP_METRICS}.get(kind, METRICS)
    if metric not in known:
        where = {"profile": "a profile's metrics", "gap": "the metrics with subgroup gaps"}.get(
            kind, "the test metrics"
        )
        raise CaptureError(
            f"requirement {text!r}: unknown metric {metric!r}; {where} are {', '.join(known)}"
        )
    return Requirement(f"{lhs}{op}{bound_text}", kind, metric, op, bound, profile)


def _bound(text: str, bound: str) -> float:
    try:
        value = float(bound)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise CaptureError(f"requirement {text!r}: the bound must be a number, not {bound!r}")
    return value


def check_requirements(manifest: Manifest, texts: Iterable[str]) -> Manifest:
    """``manifest`` with each gate's result recorded; raises if any failed or went unmeasured."""
    requirements = parse_requirements(texts)
    results, lines, failed = [], [], []
    for requirement in requirements:
        measured = _measure(manifest, requirement)
        passed = measured.value is not None and COMPARISONS[requirement.op](
            measured.value, requirement.bound
        )
        result = RequirementResult(requirement.text, measured.value, measured.interval, passed)
        results.append(result)
        lines.append(requirement_line(result, measured.note))
        if not passed:
            shown = _value_text(result, measured.note)
            failed.append(
                f"{requirement.text} {'' if result.measured is None else 'measured '}{shown}"
            )
    if failed:
        raise RequirementsNotMetError(failed, lines)
    return replace(manifest, requirements=results)


def requirement_line(result: RequirementResult, note: str | None = None) -> str:
    """``PASS  roc_auc>=0.80: 0.9532 (interval 0.9213 to 0.9812)``, for people."""
    status = "PASS" if result.passed else "FAIL"
    return f"{status}  {result.requirement}: {_value_text(result, note)}"


def _value_text(result: RequirementResult, note: str | None) -> str:
    if result.measured is None:
        return f"not measured, {note}" if note else "not measured"
    text = for_people(result.measured)
    details = []
    if result.interval is not None:
        low, high = result.interval
        details.append(f"interval {for_people(low)} to {for_people(high)}")
    if note:
        details.append(note)
    return f"{text} ({'; '.join(details)})" if details else text


def _measure(manifest: Manifest, requirement: Requirement) -> _Measured:
    if requirement.kind == "gap":
        return _largest_gap(manifest.subgroups, requirement.metric)
    if requirement.kind == "profile":
        return _profile_metric(manifest, requirement)
    test = (manifest.metrics or {}).get("test")
    if not test:
        return _Measured(None, note="no test data was given")
    return _value_of(test, requirement.metric, "the model's test metrics")


def _value_of(metrics: dict[str, Any], metric: str, where: str) -> _Measured:
    value = metrics.get(metric)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return _Measured(None, note=f"{where} have no {metric}")
    interval = (metrics.get("intervals") or {}).get(metric)
    return _Measured(float(value), None if interval is None else [float(v) for v in interval])


def _largest_gap(subgroups: dict[str, Any] | None, metric: str) -> _Measured:
    if not subgroups or not subgroups.get("columns"):
        return _Measured(None, note="no subgroups were evaluated")
    largest: tuple[float, str] | None = None
    for column in subgroups["columns"]:
        gap = (column.get("gaps") or {}).get(metric)
        if gap is None or gap.get("value") is None:
            continue
        if largest is None or gap["value"] > largest[0]:
            where = f"{column['column']}: best {gap['best']}, worst {gap['worst']}"
            largest = (float(gap["value"]), where)
    if largest is None:
        return _Measured(None, note=f"no subgroup column has a gap in {metric}")
    return _Measured(largest[0], note=largest[1])


def _profile_metric(manifest: Manifest, requirement: Requirement) -> _Measured:
    profile = _profile_named(manifest, requirement.profile or "")
    if profile is None:
        known = ", ".join(p.name for p in manifest.profiles) or "none"
        return _Measured(None, note=f"no profile named {requirement.profile} (profiles: {known})")
    measured = _value_of(profile.metrics, requirement.metric, f"profile {profile.name}'s metrics")
    note = f"profile {profile.name}, threshold {for_people(profile.threshold)}"
    return measured if measured.value is None else replace(measured, note=note)


def _profile_named(manifest: Manifest, name: str) -> ThresholdProfile | None:
    by_name = {p.name: p for p in manifest.profiles}
    if name == DEFAULT_PROFILE and name not in by_name and manifest.default_profile:
        name = manifest.default_profile
    return by_name.get(name)
