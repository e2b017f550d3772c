"""Clinical evaluation: how well, for whom, at which threshold, on whose data.

Everything here works on :class:`Scored` rows (labels, predictions, probabilities, the
positive class): headline metrics with bootstrap intervals, the trivial baseline and
calibration, subgroups, threshold profiles and their rules, edge cases and release gates.
It builds on the artefact format and nothing else of deployml.
"""

from packager.evaluation.baseline import baseline_metrics, uncalibrated, worse_than_baseline
from packager.evaluation.bootstrap import Bootstrap, Statistic, intervals
from packager.evaluation.calibration import calibration_bins, calibration_curve
from packager.evaluation.edge_cases import (
    changed_outcomes,
    describe_case,
    describe_expected,
    edge_case_suite,
    judge,
    parse_edge_cases,
    rerun_edge_cases,
)
from packager.evaluation.headline import headline, headline_intervals, rate
from packager.evaluation.plan import EdgeCaseSource, EvaluationPlan, PlanSpecs
from packager.evaluation.profiles import (
    DEFAULT_PROFILE,
    IMPLICIT_THRESHOLD,
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
from packager.evaluation.scored import Scored, positive_class_of
from packager.evaluation.subgroups import (
    LOWER_IS_BETTER,
    MIN_GROUP_ROWS,
    SubgroupSpec,
    group_labels,
    parse_subgroups,
    subgroup_report,
)

__all__ = [
    "DEFAULT_PROFILE",
    "FORMS",
    "IMPLICIT_THRESHOLD",
    "LOWER_IS_BETTER",
    "METRICS",
    "MIN_GROUP_ROWS",
    "PROFILE_METRICS",
    "TEST_DATA",
    "Bootstrap",
    "EdgeCaseSource",
    "EvaluationPlan",
    "PlanSpecs",
    "ProfileSpec",
    "Requirement",
    "Rule",
    "Scored",
    "Statistic",
    "SubgroupSpec",
    "baseline_metrics",
    "calibration_bins",
    "calibration_curve",
    "changed_outcomes",
    "check_profiles_possible",
    "check_requirements",
    "data_record",
    "default_profile",
    "describe_case",
    "describe_expected",
    "edge_case_suite",
    "group_labels",
    "headline",
    "headline_intervals",
    "intervals",
    "judge",
    "operating_metrics",
    "parse_edge_cases",
    "parse_profiles",
    "parse_requirements",
    "parse_rule",
    "parse_subgroups",
    "positive_class_of",
    "profile_metrics",
    "rate",
    "requirement_line",
    "rerun_edge_cases",
    "rows_sha256",
    "subgroup_report",
    "threshold_profiles",
    "uncalibrated",
    "worse_than_baseline",
]
