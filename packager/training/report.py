"""The plain-text report ``deployml train`` prints: what was decided, and how well it did.

Everything shown is read back from the manifest, so the terminal and the artefact agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from packager.artefact import Manifest, for_people
from packager.review import profile_and_subgroup_lines, test_metric_lines

__all__ = ["classification_table", "training_report"]


def training_report(manifest: Manifest, plots: Iterable[str] = ()) -> str:
    """Task, features, split, search, test metrics and cross-validation of a trained model."""
    training = manifest.training or {}
    lines: list[str] = []
    if training:
        data, split = training["data"], training["split"]
        source = f" from {data['source']}" if data.get("source") else ""
        lines.append(f"Data:       {data['rows']} rows, {data['columns']} columns{source}")
        reason = training["task_reason"]
        hint = "" if reason == "set with --task" else "; --task to override"
        lines.append(f"Task:       {training['task']} of {training['target']!r} ({reason}{hint})")
        features = training["features"]
        lines.append(
            f"Features:   {len(features['numeric'])} numeric, "
            f"{len(features['categorical'])} categorical"
        )
        for name, reason in training["dropped_columns"].items():
            lines.append(f"  left out {name!r}: {reason}")
        stratified = ", stratified" if split["stratified"] else ""
        lines.append(
            f"Split:      {split['train_rows']} training rows, {split['test_rows']} test rows "
            f"(seed {training['options']['seed']}{stratified})"
        )
        search = training.get("search")
        if search:
            best = ", ".join(f"{k}={v}" for k, v in search["best_params"].items())
            lines.append(
                f"Search:     best of {len(search['candidates'])} by {search['scoring']} over "
                f"{search['folds']} folds: {best} (mean {for_people(search['best_score'])})"
            )
    metrics = manifest.metrics or {}
    test = metrics.get("test")
    if test and "per_class" in test:
        lines += ["", f"Classification report on {test['n_rows']} test rows:", ""]
        lines += ["  " + row for row in classification_table(test)]
    if test and "intervals" in test:
        positive = manifest.target.positive_class if manifest.target else None
        lines += ["", *test_metric_lines(test, positive), *profile_and_subgroup_lines(manifest)]
    elif test and "per_class" not in test:
        shown = ", ".join(f"{k} {for_people(test[k])}" for k in ("mae", "rmse", "r2"))
        lines += ["", f"Test ({test['n_rows']} rows): {shown}"]
    cv = metrics.get("cross_validation")
    if cv:
        lines.append(
            f"Cross-validation: {cv['folds']} folds of the training rows, {cv['scoring']} "
            f"mean {for_people(cv['mean'])} (sd {for_people(cv['std'])})"
        )
    shown_plots = sorted(plots)
    if shown_plots:
        lines += ["", "Plots: " + ", ".join(shown_plots)]
    return "\n".join(lines)


def classification_table(test: dict[str, Any]) -> list[str]:
    """Precision, recall, F1 and support per class, then accuracy and the two averages."""
    per_class = test["per_class"]
    support = [per_class[label]["support"] for label in per_class]
    total = sum(support)
    scores = [[per_class[label][key] for key in _SCORES] for label in per_class]
    macro = [sum(column) / len(scores) for column in zip(*scores, strict=True)]
    weighted = [
        sum(n * v for n, v in zip(support, column, strict=True)) / (total or 1)
        for column in zip(*scores, strict=True)
    ]
    width = max(len("weighted avg"), *(len(str(label)) for label in per_class))

    def row(name: str, values: list[Any], n: int) -> str:
        cells = "".join(f"{'' if v is None else f'{v:.3f}':>11}" for v in values)
        return f"{name:<{width}}{cells}{n:>9}"

    out = [f"{'':<{width}}" + "".join(f"{h:>11}" for h in _SCORES) + f"{'support':>9}"]
    out += [row(str(label), s, n) for label, s, n in zip(per_class, scores, support, strict=True)]
    out.append(row("accuracy", [None, None, test["accuracy"]], total))
    out.append(row("macro avg", macro, total))
    out.append(row("weighted avg", weighted, total))
    return out


_SCORES = ("precision", "recall", "f1")
