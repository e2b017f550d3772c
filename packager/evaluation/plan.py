"""What a capture is asked to evaluate beyond the headline metrics, gathered in one value.

``capture`` takes these as keyword arguments; ``train``, ``load_model_file`` and the command
line pass an :class:`EvaluationPlan` whole. Each field is parsed by the module that owns it,
before any slow work starts, so that a typo fails at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from packager.artefact import Label
from packager.evaluation.bootstrap import Bootstrap
from packager.evaluation.requirements import Requirement, parse_requirements
from packager.evaluation.rules import ProfileSpec, parse_profiles
from packager.evaluation.subgroups import SubgroupSpec, parse_subgroups

__all__ = ["EdgeCaseSource", "EvaluationPlan", "PlanSpecs"]

# Edge cases come as a CSV file or a DataFrame (one row a case).
EdgeCaseSource = str | os.PathLike[str] | pd.DataFrame


@dataclass(frozen=True)
class PlanSpecs:
    """The plan's text specs, parsed: threshold profiles, subgroup columns, release gates."""

    profiles: tuple[ProfileSpec, ...]
    subgroups: tuple[SubgroupSpec, ...]
    requirements: tuple[Requirement, ...]

    @property
    def grouped_by(self) -> list[str]:
        """The subgroup columns, in the order given."""
        return [spec.column for spec in self.subgroups]


@dataclass(frozen=True)
class EvaluationPlan:
    """The positive class, subgroups, threshold profiles, edge cases and release gates.

    - ``positive_class``: the label that counts as positive (binary); default the second.
    - ``subgroups``: a column name, or ``"age:0,40,65,120"`` to bin a numeric column.
    - ``thresholds``: ``"NAME:RULE"`` profiles chosen on the test data, e.g.
      ``"default:sensitivity>=0.9"``.
    - ``edge_cases``: rows with an expected label or score range, stored with the model.
    - ``requirements``: release gates such as ``"roc_auc>=0.80"``.
    """

    positive_class: Label | None = None
    subgroups: tuple[str, ...] = ()
    thresholds: tuple[str, ...] = ()
    edge_cases: EdgeCaseSource | None = None
    allow_failing_edge_cases: bool = False
    requirements: tuple[str, ...] = ()
    bootstrap: Bootstrap = field(default_factory=Bootstrap)

    def specs(self) -> PlanSpecs:
        """Every text spec parsed, so that a typo fails before any slow work (a CaptureError
        naming the spec)."""
        return PlanSpecs(
            tuple(parse_profiles(self.thresholds)),
            parse_subgroups(self.subgroups),
            parse_requirements(self.requirements),
        )

    def capture_options(self) -> dict[str, Any]:
        """The plan as ``capture``'s keyword arguments."""
        return {
            "positive_class": self.positive_class,
            "subgroups": self.subgroups,
            "thresholds": self.thresholds,
            "edge_cases": self.edge_cases,
            "allow_failing_edge_cases": self.allow_failing_edge_cases,
            "requirements": self.requirements,
            "bootstrap": self.bootstrap,
        }
