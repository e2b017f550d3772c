"""``edge_cases.json``: the cases a model must get right, with the outcome it gave at packaging.

Each case holds its inputs (JSON values, as a request would send them), what was expected (a
label, or a range of the score or prediction), and the outcome recorded at packaging. The
manifest's ``edge_cases`` summarises them; ``verify`` and the server re-run them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packager.artefact.evaluation_record import EdgeCaseSummary
from packager.artefact.files import read_listed_json, write_json
from packager.artefact.manifest import EDGE_CASES_FILE, Label, Manifest
from packager.artefact.manifest_schema import _load, schema_for
from packager.artefact.values import for_people
from packager.errors import ManifestError

__all__ = [
    "EdgeCase",
    "EdgeCases",
    "Outcome",
    "describe_expected",
    "read_edge_cases",
    "write_edge_cases",
]


@dataclass(frozen=True)
class Outcome:
    """What the model gave for a case: its prediction, the score (the positive class's
    probability; binary classifiers only) and whether that met the expectation."""

    prediction: Label | None
    score: float | None
    passed: bool


@dataclass(frozen=True)
class EdgeCase:
    """One case: an id, why it matters, its inputs, the expectation and the outcome.

    ``expected`` is ``{"label": x}`` or ``{"min": a, "max": b}`` (either bound may be null).
    """

    id: str
    note: str
    inputs: dict[str, Label | None]
    expected: dict[str, Label | None]
    outcome: Outcome | None = None


@dataclass(frozen=True)
class EdgeCases:
    """The cases of ``edge_cases.json``, in the order they were given."""

    cases: list[EdgeCase] = field(default_factory=list)

    @property
    def failing(self) -> list[str]:
        """The ids of the cases whose outcome did not meet the expectation."""
        return [c.id for c in self.cases if c.outcome is not None and not c.outcome.passed]

    def summary(self, allowed_failing: bool) -> EdgeCaseSummary:
        """The manifest's summary of these cases."""
        failing = self.failing
        return EdgeCaseSummary(
            file=EDGE_CASES_FILE,
            total=len(self.cases),
            passed=len(self.cases) - len(failing),
            failing=failing,
            allowed_failing=allowed_failing,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in ``edge_cases.json``."""
        return {"cases": [asdict(case) for case in self.cases]}

    @classmethod
    def from_dict(cls, data: Any, source: str = EDGE_CASES_FILE) -> EdgeCases:
        """Read the JSON form, naming the first malformed field."""
        if not isinstance(data, dict):
            raise ManifestError(source, "must hold a JSON object")
        cases: EdgeCases = _load(_SCHEMA, data, source)
        return cases


_SCHEMA = schema_for(EdgeCases)()


def describe_expected(expected: Mapping[str, Any]) -> str:
    """The expectation for people: ``label 1``, or ``from 0.2 to 0.5``/``at least 3``."""
    if "label" in expected:
        return f"label {expected['label']}"
    low, high = expected.get("min"), expected.get("max")
    if low is not None and high is not None:
        return f"from {for_people(low)} to {for_people(high)}"
    return f"at least {for_people(low)}" if low is not None else f"at most {for_people(high)}"


def write_edge_cases(cases: EdgeCases | None, build: Path) -> list[str]:
    """Write ``edge_cases.json`` into ``build`` when there are cases; the names written."""
    if cases is None or not cases.cases:
        return []
    write_json(build / EDGE_CASES_FILE, cases.to_dict())
    return [EDGE_CASES_FILE]


def read_edge_cases(root: Path, manifest: Manifest) -> EdgeCases | None:
    """The stored edge cases, or None when the manifest records none."""
    if manifest.edge_cases is None:
        return None
    if EDGE_CASES_FILE not in manifest.files:
        raise ManifestError(str(root), f"edge_cases is recorded, but files lacks {EDGE_CASES_FILE}")
    data = read_listed_json(root, EDGE_CASES_FILE)
    return EdgeCases.from_dict(data, source=str(root / EDGE_CASES_FILE))
