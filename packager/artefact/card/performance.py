"""The card's performance on held-out data: headline metrics with intervals, the trivial
baseline, prevalence, calibration, per-class scores, operating points, cross-validation."""

from __future__ import annotations

from typing import Any

from packager.artefact.card.blocks import Block, Section, Table, Text, metric_name, with_interval
from packager.artefact.evaluation_record import ALL_HEADLINE_METRICS
from packager.artefact.manifest import Manifest
from packager.artefact.values import for_people

__all__ = ["bootstrap_sentence", "performance", "positive_of"]


def positive_of(manifest: Manifest) -> Any:
    """The positive class: as recorded with the test metrics, else in the target, else None."""
    test = (manifest.metrics or {}).get("test") or {}
    if test.get("positive_class") is not None:
        return test["positive_class"]
    return manifest.target.positive_class if manifest.target else None


def bootstrap_sentence(record: Any) -> str | None:
    """How the intervals were made, from a recorded ``bootstrap``; None when not recorded."""
    if not isinstance(record, dict):
        return None
    level = record.get("level", 0.95)
    return (
        f"Intervals: {level:.0%} {record.get('method', 'percentile')} bootstrap, "
        f"{record.get('resamples')} resamples, seed {record.get('seed')}."
    )


def performance(manifest: Manifest) -> list[Section]:
    """The performance section (one, always: without test data it says so)."""
    metrics = manifest.metrics or {}
    test = metrics.get("test")
    blocks: list[Block] = []
    if not test:
        blocks.append(
            Text("No test data was given, so performance on held-out data is unknown.", "alert")
        )
    else:
        blocks += _headline(test, positive_of(manifest))
        blocks += _calibration(test)
        blocks += _per_class(test)
        blocks += _operating_points(test, positive_of(manifest))
    cv = metrics.get("cross_validation")
    if cv:
        blocks.append(
            Text(
                f"{cv['folds']}-fold cross-validation ({cv['scoring']}): "
                f"mean {for_people(cv['mean'])}, standard deviation {for_people(cv['std'])}."
            )
        )
    return [Section("Performance", tuple(blocks), "performance")]


def _headline(test: dict[str, Any], positive: Any) -> list[Block]:
    intro = f"On {test.get('n_rows')} held-out test rows"
    if test.get("prevalence") is not None:
        intro += f"; prevalence of {positive}: {for_people(test['prevalence'])}"
    blocks: list[Block] = [Text(intro + ".")]
    intervals = test.get("intervals") or {}
    baseline = test.get("baseline") if isinstance(test.get("baseline"), dict) else None
    head: tuple[str, ...] = ("Metric", "Value (interval)" if intervals else "Value")
    if baseline:
        head += (f"Trivial baseline ({baseline.get('strategy', 'baseline')})",)
    rows = []
    for key in ALL_HEADLINE_METRICS:
        if key not in test:
            continue
        row: tuple[str, ...] = (
            metric_name(key, positive),
            with_interval(test[key], intervals.get(key)),
        )
        if baseline:
            row += (for_people(baseline.get(key)),)
        rows.append(row)
    blocks.append(Table(head, tuple(rows)))
    said = bootstrap_sentence(test.get("bootstrap"))
    if said:
        blocks.append(Text(said))
    return blocks


def _calibration(test: dict[str, Any]) -> list[Block]:
    calibration = test.get("calibration")
    if not isinstance(calibration, dict) or not calibration.get("bins"):
        return []
    text = "Calibration: how often the positive class was observed at each predicted probability"
    if test.get("brier") is not None:
        text += f" (Brier score {for_people(test['brier'])}; lower is better)"
    strategy = calibration.get("strategy")
    text += f", in {strategy} bins." if strategy else "."
    rows = tuple(
        (
            str(i),
            for_people(b.get("mean_predicted")),
            for_people(b.get("observed")),
            for_people(b.get("n")),
        )
        for i, b in enumerate(calibration["bins"], 1)
    )
    head = ("Bin", "Mean predicted", "Observed", "Rows")
    return [Text(text), Table(head, rows)]


def _per_class(test: dict[str, Any]) -> list[Block]:
    if not test.get("per_class"):
        return []
    rows = tuple(
        (
            str(label),
            for_people(s["precision"]),
            for_people(s["recall"]),
            for_people(s["f1"]),
            str(s["support"]),
        )
        for label, s in test["per_class"].items()
    )
    return [Table(("Class", "Precision", "Recall", "F1", "Support"), rows)]


def _operating_points(test: dict[str, Any], positive: Any) -> list[Block]:
    if not test.get("operating_points"):
        return []
    text = (
        "Operating points (the positive class"
        + (f", {positive}," if positive is not None else "")
        + " is predicted when its probability is at least the threshold):"
    )
    keys = ("threshold", "sensitivity", "specificity", "ppv", "npv")
    head = ("Threshold", *(metric_name(k, positive) for k in keys[1:]))
    rows = tuple(tuple(for_people(p.get(k)) for k in keys) for p in test["operating_points"])
    return [Text(text), Table(head, rows)]
