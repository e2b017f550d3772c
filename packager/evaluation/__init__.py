"""Clinical evaluation: how well, for whom, at which threshold, on whose data.

Everything here works on :class:`Scored` rows (labels, predictions, probabilities, the
positive class): headline metrics with bootstrap intervals, the trivial baseline and
calibration, subgroups, threshold profiles and their rules, edge cases and release gates.
It builds on the artefact format and nothing else of deployml.
"""

from packager.evaluation.bootstrap import Bootstrap, Statistic, intervals
from packager.evaluation.headline import HEADLINE, headline, headline_intervals, rate
from packager.evaluation.plan import EdgeCaseSource, EvaluationPlan
from packager.evaluation.profiles import (
    PROFILE_METRICS,
    TEST_DATA,
    check_profiles_possible,
    data_record,
    default_profile,
    operating_metrics,
    profile_metrics,
    rows_sha256,
    threshold_profiles,
)
from packager.evaluation.requirements import (
    METRICS,
    Requirement,
    check_requirements,
    parse_requirements,
    requirement_line,
)
from packager.evaluation.rules import FORMS, ProfileSpec, Rule, parse_profiles, parse_rule
from packager.evaluation.scored import Scored

__all__ = [
    "FORMS",
    "HEADLINE",
    "METRICS",
    "PROFILE_METRICS",
    "TEST_DATA",
    "Bootstrap",
    "EdgeCaseSource",
    "EvaluationPlan",
    "ProfileSpec",
    "Requirement",
    "Rule",
    "Scored",
    "Statistic",
    "__all__ = [",
    "check_profiles_possible",
    "check_requirements",
    "data_record",
    "default_profile",
    "from packager.evaluation.requirements import (",
    "from packager.evaluation.scored import Scored",
    "headline",
    "headline_intervals",
    "intervals",
    "operating_metrics",
    "parse_profiles",
    "parse_requirements",
    "parse_rule",
    "profile_metrics",
    "rate",
    "requirement_line",
    "rows_sha256",
    "threshold_profiles",
]
