"""The card's "How it was trained": what ``deployml train`` recorded in the manifest."""

from __future__ import annotations

from typing import Any

from packager.artefact.card.blocks import Block, Items, Section, Table, Text, code
from packager.artefact.card.shapes import read
from packager.artefact.values import for_people

__all__ = ["training_section"]


def training_section(training: dict[str, Any] | None) -> list[Section]:
    """The section, or none for a model captured from code rather than trained by deployml.

    ``training`` is free-form beyond what the schema checks: a shape the card cannot read
    makes the section say so (``shapes``).
    """
    if not training:
        return []
    blocks = read("How it was trained", lambda: _training(training))
    return [Section("How it was trained", tuple(blocks), "training")]


def _training(training: dict[str, Any]) -> list[Block]:
    data, options, split = training["data"], training["options"], training["split"]
    source = code(data["source"]) if data.get("source") else "a DataFrame"
    digest = f" (SHA-256 {code(data['sha256'])})" if data.get("sha256") else ""
    blocks: list[Block] = [
        Text(
            f"With `deployml train` from {source}{digest}, {data['rows']} rows and "
            f"{data['columns']} columns, to predict {code(training['target'])} "
            f"({training['task']}: {training['task_reason']})."
        )
    ]
    features = training["features"]
    search = training.get("search")
    rows = (
        ("Model", training["model"]),
        (
            "Numeric features",
            f"{len(features['numeric'])}, imputed (median), scaled: {options['scale']}",
        ),
        ("Categorical features", f"{len(features['categorical'])}, one-hot encoded"),
        ("Rows without a target", str(data["rows_without_target"])),
        (
            "Split",
            f"{split['train_rows']} training, {split['test_rows']} test rows; "
            f"{'stratified, ' if split['stratified'] else ''}seed {options['seed']}",
        ),
        ("Class weight", options["class_weight"] or "none"),
        ("Hyperparameter search", _search(search) if search else "none"),
    )
    blocks.append(Table((), rows))
    dropped = training["dropped_columns"]
    if dropped:
        blocks.append(Text("Columns left out:"))
        blocks.append(Items(tuple(f"{code(n)}: {r}" for n, r in dropped.items())))
    # Columns left out are listed above; the other warnings follow.
    said = tuple(f"column {name!r} is left out" for name in dropped)
    others = tuple(w for w in training.get("warnings", []) if not w.startswith(said))
    if others:
        blocks += [Text("Warnings while training:"), Items(others, "alert")]
    return blocks


def _search(search: dict[str, Any]) -> str:
    best = ", ".join(f"{k}={v}" for k, v in search["best_params"].items())
    return (
        f"best of {len(search['candidates'])} by {search['scoring']} over {search['folds']} "
        f"folds: {best} (mean {for_people(search['best_score'])})"
    )
