"""Clinical evaluation: how well, for whom, at which threshold, on whose data.

Everything here works on :class:`Scored` rows (labels, predictions, probabilities, the
positive class): headline metrics with bootstrap intervals, the trivial baseline and
calibration, subgroups, threshold profiles and their rules, edge cases and release gates.
It builds on the artefact format and nothing else of deployml.
"""

from packager.evaluation.baseline import baseline_metrics, worse_than_baseline
from packager.evaluation.bootstrap import Bootstrap, Statistic, intervals
from packager.evaluation.calibration import calibration_bins, calibration_curve
from packager.evaluation.headline import HEADLINE, headline, headline_intervals, rate
from packager.evaluation.plan import EdgeCaseSource, EvaluationPlan
from packager.evaluation.scored import Scored, positive_class_of

__all__ = [
    "HEADLINE",
    "Bootstrap",
    "EdgeCaseSource",
    "EvaluationPlan",
    "Scored",
    "Statistic",
    "baseline_metrics",
    "calibration_bins",
    "calibration_curve",
    "headline",
    "headline_intervals",
    "intervals",
    "positive_class_of",
    "rate",
    "worse_than_baseline",
]
