"""Clinical evaluation: how well, for whom, at which threshold, on whose data.

Everything here works on :class:`Scored` rows (labels, predictions, probabilities, the
positive class): headline metrics with bootstrap intervals, the trivial baseline and
calibration, subgroups, threshold profiles and their rules, edge cases and release gates.
It builds on the artefact format and nothing else of deployml.
"""

from packager.evaluation.bootstrap import Bootstrap, Statistic, intervals
from packager.evaluation.headline import HEADLINE, headline, headline_intervals, rate
from packager.evaluation.plan import EdgeCaseSource, EvaluationPlan
from packager.evaluation.scored import Scored
from packager.evaluation.subgroups import (
    LOWER_IS_BETTER,
    MIN_GROUP_ROWS,
    SubgroupSpec,
    group_labels,
    parse_subgroups,
    subgroup_report,
)

__all__ = [
    "HEADLINE",
    "LOWER_IS_BETTER",
    "MIN_GROUP_ROWS",
    "Bootstrap",
    "EdgeCaseSource",
    "EvaluationPlan",
    "Scored",
    "Statistic",
    "SubgroupSpec",
    "group_labels",
    "headline",
    "headline_intervals",
    "intervals",
    "parse_subgroups",
    "rate",
    "subgroup_report",
]
