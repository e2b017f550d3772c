"""The card's performance on held-out data: headline metrics with intervals, the trivial
baseline, prevalence, calibration, per-class scores, operating points, cross-validation.

``metrics`` is free-form: each part the card cannot read says so on its own (``shapes``).
"""

from __future__ import annotations

from typing import Any

from packager.artefact.card.blocks import Block, Section, Table, Text, metric_name
from packager.artefact.card.shapes import Unread, number, obj, read, seq, with_interval
from packager.artefact.evaluation_record import ALL_HEADLINE_METRICS
from packager.artefact.manifest import Manifest

__all__ = ["bootstrap_sentence", "performance", "positive_of"]


def positive_of(manifest: Manifest) -> Any:
    """The positive class: as recorded with the test metrics, else in the target, else None."""
    test = obj(obj(manifest.metrics).get("test"))
    recorded = test.get("positive_class")
    if recorded is not None:
        if isinstance(recorded, dict | list):
            raise Unread  # a class label is a scalar
        return recorded
    return manifest.target.positive_class if manifest.target else None


def bootstrap_sentence(record: Any) -> str | None:
    """How the intervals were made, from a recorded ``bootstrap``; None when not recorded."""
    if record is None:
        return None
    record = obj(record)
    level = record.get("level", 0.95)
    number(level)
    method = record.get("method", "percentile")
    if not isinstance(method, str):
        raise Unread
    return (
        f"Intervals: {level:.0%} {method} bootstrap, "
        f"{number(record.get('resamples'))} resamples, seed {number(record.get('seed'))}."
    )


def performance(manifest: Manifest) -> list[Section]:
    """The performance section (one, always: without test data it says so)."""
    metrics = obj(manifest.metrics)
    test = metrics.get("test")
    blocks: list[Block] = []
    if not test:
        blocks.append(
            Text("No test data was given, so performance on held-out data is unknown.", "alert")
        )
    else:
        blocks += read("The test metrics", lambda: _headline(test, positive_of(manifest)))
        blocks += read("Calibration", lambda: _calibration(test))
        blocks += read("The per-class scores", lambda: _per_class(test))
        blocks += read("The operating points", lambda: _operating_points(test, manifest))
    cv = metrics.get("cross_validation")
    if cv:
        blocks += read("Cross-validation", lambda: [_cross_validation(cv)])
    return [Section("Performance", tuple(blocks), "performance")]


def _cross_validation(cv: dict[str, Any]) -> Text:
    return Text(
        f"{number(cv['folds'])}-fold cross-validation ({cv['scoring']}): "
        f"mean {number(cv['mean'])}, standard deviation {number(cv['std'])}."
    )


def _headline(test: dict[str, Any], positive: Any) -> list[Block]:
    intro = f"On {number(test.get('n_rows'))} held-out test rows"
    if test.get("prevalence") is not None:
        intro += f"; prevalence of {positive}: {number(test['prevalence'])}"
    blocks: list[Block] = [Text(intro + ".")]
    intervals = obj(test.get("intervals"))
    baseline = obj(test.get("baseline"))
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
            row += (number(baseline.get(key)),)
        rows.append(row)
    blocks.append(Table(head, tuple(rows)))
    said = bootstrap_sentence(test.get("bootstrap"))
    if said:
        blocks.append(Text(said))
    return blocks


def _calibration(test: dict[str, Any]) -> list[Block]:
    calibration = obj(test.get("calibration"))
    bins = seq(calibration.get("bins"))
    if not bins:
        return []
    text = "Calibration: how often the positive class was observed at each predicted probability"
    if test.get("brier") is not None:
        text += f" (Brier score {number(test['brier'])}; lower is better)"
    strategy = calibration.get("strategy")
    text += f", in {strategy} bins." if strategy else "."
    rows = tuple(
        (
            str(i),
            number(obj(b).get("mean_predicted")),
            number(b.get("observed")),
            number(b.get("n")),
        )
        for i, b in enumerate(bins, 1)
    )
    head = ("Bin", "Mean predicted", "Observed", "Rows")
    return [Text(text), Table(head, rows)]


def _per_class(test: dict[str, Any]) -> list[Block]:
    per_class = obj(test.get("per_class"))
    rows = tuple(
        (
            str(label),
            number(obj(s)["precision"]),
            number(s["recall"]),
            number(s["f1"]),
            number(s["support"]),
        )
        for label, s in per_class.items()
    )
    return [Table(("Class", "Precision", "Recall", "F1", "Support"), rows)] if rows else []


def _operating_points(test: dict[str, Any], manifest: Manifest) -> list[Block]:
    points = seq(test.get("operating_points"))
    if not points:
        return []
    positive = positive_of(manifest)
    text = (
        "Operating points (the positive class"
        + (f", {positive}," if positive is not None else "")
        + " is predicted when its probability is at least the threshold):"
    )
    keys = ("threshold", "sensitivity", "specificity", "ppv", "npv")
    head = ("Threshold", *(metric_name(k, positive) for k in keys[1:]))
    rows = tuple(tuple(number(obj(p).get(k)) for k in keys) for p in points)
    return [Text(text), Table(head, rows)]
