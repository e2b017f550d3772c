"""The card's subgroups (one table, the worst group marked), threshold profiles and parent.

``subgroups`` and each profile's ``metrics`` are free-form: a section the card cannot read
says so in one sentence (``shapes``).
"""

from __future__ import annotations

from typing import Any

from packager.artefact.card.blocks import Block, Items, Section, Table, Text, code, metric_name
from packager.artefact.card.performance import bootstrap_sentence, positive_of
from packager.artefact.card.shapes import Unread, number, obj, read, seq, with_interval
from packager.artefact.evaluation_record import ALL_HEADLINE_METRICS, ThresholdProfile
from packager.artefact.manifest import Manifest
from packager.artefact.values import for_people

__all__ = ["evaluation_sections"]

PROFILE_METRICS = ("sensitivity", "specificity", "ppv", "npv", "alerts_per_100")


def evaluation_sections(manifest: Manifest) -> list[Section]:
    """Subgroups, threshold profiles and the parent artefact: those the manifest records."""
    sections = []
    subgroups = manifest.subgroups
    if subgroups and (not isinstance(subgroups, dict) or subgroups.get("columns")):
        blocks = read("The subgroups", lambda: _subgroups(obj(subgroups), positive_of(manifest)))
        sections.append(Section("Subgroups", tuple(blocks), "subgroups"))
    if manifest.profiles:
        profiles, default = manifest.profiles, manifest.default_profile
        blocks = read("The profiles", lambda: _profiles(profiles, default, positive_of(manifest)))
        sections.append(Section("Threshold profiles", tuple(blocks), "profiles"))
    if manifest.parent is not None:
        p = manifest.parent
        text = (
            f"Derived without retraining from {p.name} {p.version}, artefact SHA-256 "
            f"{code(p.sha256)}: {p.change}"
        )
        sections.append(Section("Parent artefact", (Text(text),), "parent"))
    return sections


def _subgroups(subgroups: dict[str, Any], positive: Any) -> list[Block]:
    columns = [obj(c) for c in seq(subgroups["columns"])]
    groups = [obj(g) for c in columns for g in seq(c.get("groups"))]
    # A metric no group has a value for (ROC AUC of a model without probabilities) gets no
    # column of n/a.
    shown = [
        k
        for k in ALL_HEADLINE_METRICS
        if any(obj(g.get("metrics")).get(k) is not None for g in groups)
    ]
    names = [metric_name(k, positive) for k in shown] or ["Metrics"]
    # A regressor's groups have no prevalence; a multiclass group has each class's share.
    shares = [g.get("prevalence") for g in groups if g.get("prevalence") is not None]
    prevalence = ("Class shares",) if any(isinstance(p, dict) for p in shares) else ("Prevalence",)
    head = ("Column", "Group", "n", *(prevalence if shares else ()), *names)
    first = len(head) - len(names)
    rows: list[tuple[str, ...]] = []
    marked: set[tuple[int, int]] = set()
    for column in columns:
        worst = {
            metric: gap.get("worst") for metric, gap in obj(column.get("gaps")).items() if obj(gap)
        }
        for group in seq(column.get("groups")):
            row = [str(column.get("column")), str(group.get("group")), number(group.get("n"))]
            if shares:
                row.append(_share(group.get("prevalence")))
            if group.get("too_small"):
                reason = group.get("reason") or "too few rows"
                if not isinstance(reason, str):
                    raise Unread
                # The reason spans the metric columns; a too-small group is never dropped.
                row.append(f"too small: {reason}")
            else:
                values, intervals = obj(group.get("metrics")), obj(group.get("intervals"))
                for j, metric in enumerate(shown):
                    cell = with_interval(values.get(metric), intervals.get(metric))
                    if worst.get(metric) is not None and str(worst[metric]) == str(
                        group.get("group")
                    ):
                        cell += " (worst)"
                        marked.add((len(rows), first + j))
                    row.append(cell)
                if not shown:
                    row.append("n/a")
            rows.append(tuple(row))
    blocks: list[Block] = [
        Text(
            "Every group of each subgroup column, with its own metrics and intervals. The worst "
            "group for each metric is marked; a group too small to say anything is listed with "
            "its size and why."
            + (
                f" Groups under {number(subgroups['min_rows'])} rows count as too small."
                if subgroups.get("min_rows")
                else ""
            )
        ),
        Table(head, tuple(rows), frozenset(marked)),
    ]
    gaps = _gaps(columns, positive)
    if gaps:
        blocks += [Text("Largest gap between groups:"), Items(gaps)]
    said = bootstrap_sentence(subgroups.get("bootstrap"))
    if said:
        blocks.append(Text(said))
    return blocks


def _share(prevalence: Any) -> str:
    """A binary group's prevalence, or each class's share of a multiclass group."""
    if isinstance(prevalence, dict):
        return ", ".join(f"{label} {number(share)}" for label, share in prevalence.items())
    return number(prevalence)


def _gaps(columns: list[dict[str, Any]], positive: Any) -> tuple[str, ...]:
    """Per metric, the largest gap across all columns, with its best and worst group."""
    largest: dict[str, tuple[float, str, dict[str, Any]]] = {}
    for column in columns:
        for metric, gap in obj(column.get("gaps")).items():
            value = obj(gap).get("value")
            number(value)
            if value is not None and (metric not in largest or value > largest[metric][0]):
                largest[metric] = (value, str(column.get("column")), gap)
    order = [k for k in ALL_HEADLINE_METRICS if k in largest] + sorted(
        set(largest) - set(ALL_HEADLINE_METRICS)
    )
    return tuple(
        f"{metric_name(k, positive)}: {for_people(largest[k][0])} by {largest[k][1]}, "
        f"between {largest[k][2].get('best')} (best) and {largest[k][2].get('worst')} (worst)"
        for k in order
    )


def _profiles(profiles: list[ThresholdProfile], default: str | None, positive: Any) -> list[Block]:
    head = (
        "Profile",
        "Rule",
        "Threshold",
        "Default",
        "Chosen on",
        *(metric_name(k, positive) for k in PROFILE_METRICS),
    )
    rows = []
    for p in profiles:
        intervals = obj(obj(p.metrics).get("intervals"))
        values = (with_interval(p.metrics.get(k), intervals.get(k)) for k in PROFILE_METRICS)
        is_default = "yes" if p.name == default else ""
        rows.append(
            (p.name, code(p.rule), for_people(p.threshold), is_default, _chosen_on(p), *values)
        )
    who = "the positive class" if positive is None else f"the positive class, {positive},"
    text = (
        f"A profile is a named decision rule: {who} "
        "is predicted when its probability is at least the profile's threshold. Its metrics are "
        "those on the data it was chosen on."
    )
    if default:
        text += f" The server uses {code(default)} unless a request names another."
    blocks: list[Block] = [Text(text), Table(head, tuple(rows))]
    said = bootstrap_sentence(profiles[0].metrics.get("bootstrap"))
    if said:
        blocks.append(Text(said))
    return blocks


def _chosen_on(profile: ThresholdProfile) -> str:
    data = profile.chosen_on
    parts = [f"{data.source}: {data.rows} rows"]
    if data.prevalence is not None:
        parts.append(f"prevalence {for_people(data.prevalence)}")
    if data.date:
        parts.append(data.date)
    if data.sha256:
        parts.append(f"SHA-256 {data.sha256[:12]}")
    return ", ".join(parts)
