"""``diff_text``: the comparison of two artefacts (:mod:`packager.review.diff`) for a reviewer."""

from __future__ import annotations

import json
from typing import Any

from packager.artefact import for_people
from packager.review.changes import is_interval
from packager.review.diff import SECTIONS

__all__ = ["render_diff"]

TITLES = {
    "model": "Model",
    "schema": "Schema",
    "target": "Target",
    "metrics": "Metrics (test data)",
    "subgroups": "Subgroups",
    "profiles": "Threshold profiles",
    "edge_cases": "Edge cases",
    "requirements": "Release requirements",
    "versions": "Versions",
    "parent": "Parent",
}


def render_diff(diff: dict[str, Any]) -> str:
    """A readable account of ``diff``: the two artefacts, then each section that changed."""
    a, b = diff["a"], diff["b"]
    lines = [_side("A", a), _side("B", b)]
    if diff["same_model_file"]:
        lines.append("Same model file: A and B hold the same fitted model.")
    if diff["b_derived_from_a"]:
        lines.append("B was derived from A (its parent is A's hash).")
    if diff["a_derived_from_b"]:
        lines.append("A was derived from B (its parent is B's hash).")
    if not diff["differences"]:
        lines.append("No differences.")
        return "\n".join(lines)
    lines.append(f"{diff['differences']} difference(s), A -> B:")
    for section in SECTIONS:
        changes = diff["sections"][section]
        if changes:
            lines.append("")
            lines.append(TITLES[section])
            lines += [f"  {_change(change)}" for change in changes]
    return "\n".join(lines)


def _side(label: str, side: dict[str, Any]) -> str:
    where = f"{side['artefact']}: " if side.get("artefact") else ""
    return f"{label}: {where}{side['name']} {side['version']} (artefact sha256 {side['sha256']})"


def _change(change: dict[str, Any]) -> str:
    what, a, b = change["what"], change["a"], change["b"]
    if a is None and b is not None:
        return f"{what}: added, {_value(b, change.get('b_interval'))}"
    if b is None and a is not None:
        return f"{what}: removed (was {_value(a, change.get('a_interval'))})"
    if isinstance(a, list) and isinstance(b, list) and "a_interval" not in change:
        return f"{what}: {_list_change(a, b)}"
    text = f"{what}: {_value(a, change.get('a_interval'))} -> {_value(b, change.get('b_interval'))}"
    if change.get("difference") is not None:
        text += f"; difference {_signed(change['difference'])}"
    overlap = change.get("intervals_overlap")
    if overlap is not None:
        text += "; intervals overlap" if overlap else "; intervals do not overlap"
    return text


def _value(value: Any, interval: Any = None) -> str:
    if value is None:
        text = "(none)"
    elif isinstance(value, bool) or not isinstance(value, int | float):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    else:
        text = for_people(value)
    if is_interval(interval):  # a manifest from elsewhere may hold anything there
        text += f" ({for_people(interval[0])} to {for_people(interval[1])})"
    return text


def _list_change(a: list[Any], b: list[Any]) -> str:
    added = [str(v) for v in b if v not in a]
    removed = [str(v) for v in a if v not in b]
    if not added and not removed:
        return f"reordered, {_value(a)} -> {_value(b)}"
    parts = []
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    return "; ".join(parts)


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + for_people(value)
