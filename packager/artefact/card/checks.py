"""The card's checks: edge cases case by case, release requirements, and the loud warnings.

The warnings open the card: a model worse than its trivial baseline, failing edge cases,
failed requirements. Manifests older than format 3.0 have none of these fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from packager.artefact.card.blocks import Block, Section, Table, Text, code
from packager.artefact.card.shapes import UNREAD
from packager.artefact.manifest import Manifest
from packager.artefact.rows import describe_expected
from packager.artefact.values import for_people

__all__ = ["alerts", "checks_sections", "edge_cases_of"]

Case = dict[str, Any]


def edge_cases_of(manifest: Manifest, files: Mapping[str, bytes]) -> list[Case] | None:
    """The stored edge cases, when their file is among ``files``; None when it is not."""
    record = _edge_record(manifest)
    data = files.get(str(record.get("file"))) if record else None
    if data is None:
        return None
    try:
        cases = json.loads(data).get("cases")
    except (ValueError, AttributeError):
        return None
    return [c for c in cases if isinstance(c, dict)] if isinstance(cases, list) else None


def _edge_record(manifest: Manifest) -> dict[str, Any]:
    return {} if manifest.edge_cases is None else asdict(manifest.edge_cases)


def _requirements(manifest: Manifest) -> list[dict[str, Any]]:
    return [asdict(r) for r in manifest.requirements]


def alerts(manifest: Manifest, cases: list[Case] | None) -> tuple[str, ...]:
    """What a reader must see first, one sentence each."""
    said = _test_warnings(manifest.metrics)
    record = _edge_record(manifest)
    failing = [str(i) for i in record.get("failing") or []]
    if failing:
        said.append(
            f"{len(failing)} of {record.get('total')} edge cases fail: {', '.join(failing)}"
            + (
                " (packaged anyway, with --allow-failing-edge-cases)."
                if record.get("allowed_failing")
                else "."
            )
        )
    for r in _requirements(manifest):
        if not r.get("passed"):
            said.append(f"Requirement {r.get('requirement')} fails: measured {_measured(r)}.")
    return tuple(said)


def _test_warnings(metrics: Any) -> list[str]:
    """The recorded warnings about the test metrics: worse than the baseline, uncalibrated.
    They are free-form; one that cannot be read is said to be so, as loudly."""
    test = metrics.get("test") if isinstance(metrics, dict) else None
    if not isinstance(test, dict):
        return []
    worse, off = test.get("worse_than_baseline"), test.get("uncalibrated")
    said = []
    if isinstance(worse, list) and all(isinstance(s, str) for s in worse):
        said += worse
    elif worse is not None:
        said.append(f"How the model compares with the trivial baseline is {UNREAD}.")
    if isinstance(off, str):
        said.append(off)
    elif off is not None:
        said.append(f"Whether the model's probabilities are calibrated is {UNREAD}.")
    return said


def _measured(requirement: dict[str, Any]) -> str:
    interval = requirement.get("interval")
    text = for_people(requirement.get("measured"))
    if interval and len(interval) == 2:
        text += f" (interval {for_people(interval[0])} to {for_people(interval[1])})"
    return text


def checks_sections(manifest: Manifest, cases: list[Case] | None) -> list[Section]:
    """The edge cases and the requirements, those the manifest records."""
    sections = []
    record = _edge_record(manifest)
    if record:
        regression = manifest.target is not None and manifest.target.task == "regression"
        blocks = _edge_cases(record, cases, regression)
        sections.append(Section("Edge cases", blocks, "edge-cases"))
    found = _requirements(manifest)
    if found:
        rows = tuple(
            (
                code(r.get("requirement")),
                for_people(r.get("measured")),
                _interval(r.get("interval")),
                "PASS" if r.get("passed") else "FAIL",
            )
            for r in found
        )
        table = Table(("Requirement", "Measured", "Interval", "Result"), rows)
        text = Text("The release requirements this artefact was checked against when packaged.")
        sections.append(Section("Requirements", (text, table), "requirements"))
    return sections


def _interval(interval: Any) -> str:
    if not interval or len(interval) != 2:
        return "n/a"
    return f"{for_people(interval[0])} to {for_people(interval[1])}"


def _edge_cases(
    record: dict[str, Any], cases: list[Case] | None, regression: bool
) -> tuple[Block, ...]:
    text = (
        f"{record.get('passed')} of {record.get('total')} edge cases pass. They are stored in "
        f"{record.get('file')} and re-run by `deployml verify` and by the server's self-test."
    )
    blocks: list[Block] = [Text(text, "alert" if record.get("failing") else "good")]
    if cases is None:
        return tuple(blocks)
    rows = tuple(
        (
            str(c.get("id")),
            str(c.get("note") or ""),
            _expected(c.get("expected"), regression),
            _got(c.get("outcome"), regression),
            "PASS" if (c.get("outcome") or {}).get("passed") else "FAIL",
        )
        for c in cases
    )
    blocks.append(Table(("Case", "Note", "Expected", "Got", "Result"), rows))
    return tuple(blocks)


def _expected(expected: Any, regression: bool) -> str:
    """``label yes``; or a range of the score (binary) or of the prediction (regressor):
    ``score from 0.2 to 0.5``, ``prediction at least 3``."""
    if not isinstance(expected, dict):
        return "n/a"
    said = describe_expected(expected)
    return said if "label" in expected else f"{'prediction' if regression else 'score'} {said}"


def _got(outcome: Any, regression: bool) -> str:
    """What the model gave: a regressor's prediction, or a label and its score."""
    if not isinstance(outcome, dict):
        return "n/a"
    if regression:
        return f"prediction {for_people(outcome.get('prediction'))}"
    text = f"label {outcome.get('prediction')}"
    if outcome.get("score") is not None:
        text += f", score {for_people(outcome['score'])}"
    return text
