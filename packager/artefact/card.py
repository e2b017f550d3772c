"""MODEL_CARD.md: what a clinician or reviewer reads about a packaged model, from its manifest."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from packager.artefact.manifest import PLOTS_DIR, FeatureSpec, Manifest
from packager.artefact.values import for_people

__all__ = ["model_card"]


NOT_STATED = "_Not stated by the model's author._"


def model_card(manifest: Manifest, attachments: Iterable[str] = ()) -> str:
    """The Markdown model card for ``manifest``; images under plots/ are embedded."""
    m = manifest.model
    target = manifest.target
    task = target.task if target else "unknown"
    lines = [f"# {m.name} {m.version}", "", m.description or NOT_STATED, ""]
    lines += ["## Model details", "", "| | |", "|---|---|"]
    rows = [
        ("Task", task),
        ("Predicts", (target.name if target and target.name else "not recorded")),
        ("Estimator", f"`{manifest.estimator.class_name}`"),
        ("Trained on", _rows(manifest.estimator.n_training_rows)),
        ("Created (UTC)", m.created_at),
        ("Author", m.author or "not stated"),
        ("Organisation", m.organisation or "not stated"),
        ("Contact", m.contact or "not stated"),
        ("Artefact format", manifest.format_version),
    ]
    lines += [f"| {k} | {_cell(v)} |" for k, v in rows]
    lines += ["", "## Intended use", "", m.intended_use or NOT_STATED, ""]
    lines += ["## Limitations", "", m.limitations or NOT_STATED, ""]
    lines += _inputs(manifest)
    lines += _target(manifest)
    lines += _metrics(manifest.metrics or {})
    lines += _training(manifest.training)
    lines += _plots(attachments)
    lines += ["## What is not recorded", ""]
    lines += [f"- {item}" for item in manifest.missing] or ["Nothing: every field was captured."]
    lines += ["", *_software(manifest)]
    lines += [
        "## Integrity",
        "",
        "`manifest.json` lists the SHA-256 of every other file. Run `deployml verify` on this",
        "directory to check them, the package versions, and that the model still gives the",
        "recorded outputs for its stored rows (the synthetic self-test, and real examples if any).",
        "",
    ]
    return "\n".join(lines)


def _rows(n: int | None) -> str:
    return "not recorded" if n is None else f"{n} rows"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _inputs(manifest: Manifest) -> list[str]:
    spec = manifest.input
    lines = ["## Inputs", ""]
    if spec.names_generated:
        lines += ["Feature names were not given at training; they are generated (x0, x1, ...).", ""]
    lines += ["| Feature | Kind | Missing in training | Range or values |", "|---|---|---|---|"]
    lines += [
        f"| {_cell(f.name)} | {f.kind}{'' if f.nullable else ', required'} "
        f"| {f.missing_rate:.1%} | {_cell(_values(f))} |"
        for f in spec.features
    ]
    return [*lines, ""]


def _values(feature: FeatureSpec) -> str:
    if feature.categories is not None:
        shown = ", ".join(str(c) for c in feature.categories[:12])
        more = len(feature.categories) - 12
        return shown + (f", ... ({more} more)" if more > 0 else "")
    if feature.min is not None:
        return f"{for_people(feature.min)} to {for_people(feature.max)}"
    return ""


def _target(manifest: Manifest) -> list[str]:
    target = manifest.target
    if target is None:
        return []
    lines = ["## Target", ""]
    if target.class_balance:
        lines += ["| Class | Share of training rows |", "|---|---|"]
        lines += [f"| {_cell(k)} | {v:.1%} |" for k, v in target.class_balance.items()]
    elif target.classes:
        lines.append("Classes: " + ", ".join(str(c) for c in target.classes))
    if target.summary:
        lines += ["| Statistic | Value |", "|---|---|"]
        lines += [f"| {k} | {for_people(v)} |" for k, v in target.summary.items()]
    return [*lines, ""]


def _metrics(metrics: dict[str, Any]) -> list[str]:
    lines = ["## Performance", ""]
    test = metrics.get("test")
    if not test:
        lines += ["No test data was given, so performance on held-out data is unknown.", ""]
    else:
        lines += [f"On {test.get('n_rows')} held-out test rows:", "", "| Metric | Value |"]
        lines.append("|---|---|")
        for key in ("accuracy", "balanced_accuracy", "roc_auc", "log_loss", "mae", "rmse", "r2"):
            if key in test:
                lines.append(f"| {key} | {for_people(test[key])} |")
        lines.append("")
        if test.get("per_class"):
            lines += ["| Class | Precision | Recall | F1 | Support |", "|---|---|---|---|---|"]
            lines += [
                f"| {_cell(label)} | {for_people(s['precision'])} | {for_people(s['recall'])} "
                f"| {for_people(s['f1'])} | {s['support']} |"
                for label, s in test["per_class"].items()
            ]
            lines.append("")
        if test.get("operating_points"):
            lines += [
                "Operating points (the positive class is predicted when its probability is at",
                "least the threshold):",
                "",
                "| Threshold | Sensitivity | Specificity | PPV | NPV |",
                "|---|---|---|---|---|",
            ]
            columns = ("threshold", "sensitivity", "specificity", "ppv", "npv")
            lines += [
                "| " + " | ".join(for_people(p[key]) for key in columns) + " |"
                for p in test["operating_points"]
            ]
            lines.append("")
    cv = metrics.get("cross_validation")
    if cv:
        lines += [
            f"{cv['folds']}-fold cross-validation ({cv['scoring']}): "
            f"mean {for_people(cv['mean'])}, standard deviation {for_people(cv['std'])}.",
            "",
        ]
    return lines


def _training(training: dict[str, Any] | None) -> list[str]:
    if not training:
        return []
    data, options, split = training["data"], training["options"], training["split"]
    source = f"`{data['source']}`" if data.get("source") else "a DataFrame"
    digest = f" (SHA-256 `{data['sha256']}`)" if data.get("sha256") else ""
    lines = [
        "## How it was trained",
        "",
        f"With `deployml train` from {source}{digest}, {data['rows']} rows and "
        f"{data['columns']} columns, to predict `{training['target']}` "
        f"({training['task']}: {training['task_reason']}).",
        "",
        "| | |",
        "|---|---|",
    ]
    features = training["features"]
    search = training.get("search")
    rows = [
        ("Model", training["model"]),
        (
            "Numeric features",
            f"{len(features['numeric'])}, imputed (median), scaled: {options['scale']}",
        ),
        ("Categorical features", f"{len(features['categorical'])}, one-hot encoded"),
        ("Rows without a target", data["rows_without_target"]),
        (
            "Split",
            f"{split['train_rows']} training, {split['test_rows']} test rows; "
            f"{'stratified, ' if split['stratified'] else ''}seed {options['seed']}",
        ),
        ("Class weight", options["class_weight"] or "none"),
        ("Hyperparameter search", _search(search) if search else "none"),
    ]
    lines += [f"| {k} | {_cell(v)} |" for k, v in rows]
    lines.append("")
    if training["dropped_columns"]:
        lines += ["Columns left out:", ""]
        lines += [f"- `{n}`: {r}" for n, r in training["dropped_columns"].items()]
        lines.append("")
    # Columns left out are listed above; the other warnings follow.
    said = tuple(f"column {name!r} is left out" for name in training["dropped_columns"])
    others = [w for w in training.get("warnings", []) if not w.startswith(said)]
    if others:
        lines += ["Warnings while training:", ""]
        lines += [f"- {w}" for w in others]
        lines.append("")
    return lines


def _search(search: dict[str, Any]) -> str:
    best = ", ".join(f"{k}={v}" for k, v in search["best_params"].items())
    return (
        f"best of {len(search['candidates'])} by {search['scoring']} over {search['folds']} "
        f"folds: {best} (mean {for_people(search['best_score'])})"
    )


def _plots(attachments: Iterable[str]) -> list[str]:
    images = [
        a
        for a in attachments
        if PurePosixPath(a).parts[:1] == (PLOTS_DIR,) and a.lower().endswith((".png", ".svg"))
    ]
    if not images:
        return []
    lines = ["## Plots", ""]
    for name in images:
        words = PurePosixPath(name).stem.replace("_", " ").replace("-", " ")
        # Only the first letter is raised, so that ROC_curve.png reads "ROC curve".
        caption = words[:1].upper() + words[1:]
        lines += [f"![{caption}]({name})", "", f"*{caption}*", ""]
    return lines


def _software(manifest: Manifest) -> list[str]:
    p = manifest.provenance
    lines = ["## Software", "", f"Python {p.python} on {p.platform}.", ""]
    lines += ["| Package | Version |", "|---|---|"]
    lines += [f"| {name} | {version} |" for name, version in p.packages.items()]
    lines.append("")
    if p.git_commit:
        dirty = " (with uncommitted changes)" if p.git_dirty else ""
        lines += [f"Training code: git commit `{p.git_commit}`{dirty}.", ""]
    lines.append(f"Packaged with deployml {p.deployml_version}.")
    return [*lines, ""]
