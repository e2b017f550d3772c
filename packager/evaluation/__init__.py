"""Clinical evaluation: how well, for whom, at which threshold, on whose data.

Everything here works on :class:`Scored` rows (labels, predictions, probabilities, the
positive class): headline metrics with bootstrap intervals, the trivial baseline and
calibration, subgroups, threshold profiles and their rules, edge cases and release gates.
It builds on the artefact format and nothing else of deployml.
"""

from packager.evaluation.bootstrap import Bootstrap, Statistic, intervals
from packager.evaluation.edge_cases import (
    changed_outcomes,
    describe_case,
    describe_expected,
    edge_case_suite,
    judge,
    parse_edge_cases,
    rerun_edge_cases,
)
from packager.evaluation.plan import EdgeCaseSource, EvaluationPlan
from packager.evaluation.scored import Scored

__all__ = [
    "Bootstrap",
    "EdgeCaseSource",
    "EvaluationPlan",
    "Scored",
    "Statistic",
    "changed_outcomes",
    "describe_case",
    "describe_expected",
    "edge_case_suite",
    "intervals",
    "judge",
    "parse_edge_cases",
    "rerun_edge_cases",
]
