"""Clinical evaluation: how well, for whom, at which threshold, on whose data.

Everything here works on :class:`Scored` rows (labels, predictions, probabilities, the
positive class): headline metrics with bootstrap intervals, the trivial baseline and
calibration, subgroups, threshold profiles and their rules, edge cases and release gates.
It builds on the artefact format and nothing else of deployml.
"""

from packager.evaluation.bootstrap import Bootstrap, Statistic, intervals
from packager.evaluation.plan import EdgeCaseSource, EvaluationPlan
from packager.evaluation.requirements import (
    METRICS,
    PROFILE_METRICS,
    Requirement,
    check_requirements,
    parse_requirements,
    requirement_line,
)
from packager.evaluation.scored import Scored

__all__ = [
    "METRICS",
    "PROFILE_METRICS",
    "Bootstrap",
    "EdgeCaseSource",
    "EvaluationPlan",
    "Requirement",
    "Scored",
    "Statistic",
    "check_requirements",
    "intervals",
    "parse_requirements",
    "requirement_line",
]
