"""``diff_artefacts``: what differs between two artefacts, read from their manifests only.

The comparison is a JSON-ready dict (docs/command-line.md describes it):
``{"a": SIDE, "b": SIDE, "same_model_file", "b_derived_from_a", "a_derived_from_b",
"differences", "sections": {SECTION: [CHANGE, ...]}}``, the sections always in the order of
:data:`SECTIONS`. A change is ``{"what", "a", "b"}`` (``null`` on the side that lacks it); a
change of a measured value adds ``a_interval``, ``b_interval``, ``difference`` (B - A) and
``intervals_overlap``. Nothing here loads a model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from packager.artefact import INPUT_CONTRACT_FIELDS, Manifest, read_manifest
from packager.evaluation import METRICS, PROFILE_METRICS
from packager.review.changes import (
    Change,
    change_of,
    changed,
    flat,
    keyed,
    mapping,
    measured_changes,
    pick,
    union,
)

__all__ = ["SECTIONS", "diff_artefacts", "diff_manifests"]

SECTIONS = (
    "model",
    "schema",
    "target",
    "metrics",
    "subgroups",
    "profiles",
    "edge_cases",
    "requirements",
    "versions",
    "parent",
)
FEATURE_FIELDS = ("kind", "nullable", "dtype", "min", "max", "categories")


def diff_artefacts(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> dict[str, Any]:
    """The differences between the artefacts at ``a`` and ``b`` (their manifests only)."""
    (manifest_a, sha_a), (manifest_b, sha_b) = read_manifest(a), read_manifest(b)
    diff = diff_manifests(manifest_a, sha_a, manifest_b, sha_b)
    diff["a"]["artefact"], diff["b"]["artefact"] = str(a), str(b)
    return diff


def diff_manifests(a: Manifest, sha_a: str, b: Manifest, sha_b: str) -> dict[str, Any]:
    """The differences between two manifests whose manifest.json hashes are ``sha_a``, ``sha_b``."""
    sections = {
        "model": _model(a, sha_a, b, sha_b),
        "schema": _schema(a, b),
        "target": changed("", flat(a.target), flat(b.target)),
        "metrics": _metrics(a.metrics or {}, b.metrics or {}),
        "subgroups": _subgroups(mapping(a.subgroups), mapping(b.subgroups)),
        "profiles": _profiles(a, b),
        "edge_cases": changed(
            "edge_cases.",
            flat(a.edge_cases),
            flat(b.edge_cases),
        ),
        "requirements": _requirements(a, b),
        "versions": _versions(a, b),
        "parent": changed("parent.", flat(a.parent), flat(b.parent)),
    }
    return {
        "a": _side(a, sha_a),
        "b": _side(b, sha_b),
        "same_model_file": _model_hash(a) is not None and _model_hash(a) == _model_hash(b),
        "b_derived_from_a": b.parent is not None and b.parent.sha256 == sha_a,
        "a_derived_from_b": a.parent is not None and a.parent.sha256 == sha_b,
        "differences": sum(len(changes) for changes in sections.values()),
        "sections": sections,
    }


def _side(manifest: Manifest, sha256: str) -> dict[str, Any]:
    return {
        "artefact": None,
        "sha256": sha256,
        "name": manifest.model.name,
        "version": manifest.model.version,
    }


def _model_hash(manifest: Manifest) -> str | None:
    record = manifest.files.get(manifest.model_file.path)
    return None if record is None else record.sha256


def _model(a: Manifest, sha_a: str, b: Manifest, sha_b: str) -> list[Change]:
    def facts(manifest: Manifest, sha256: str) -> dict[str, Any]:
        return {
            "artefact sha256": sha256,
            "model file sha256": _model_hash(manifest),
            **flat(manifest.model_file, "model file "),
            **flat(manifest.model, "model."),
            "estimator": manifest.estimator.class_name,
            "estimator.n_training_rows": manifest.estimator.n_training_rows,
            **flat(manifest.estimator.params, "estimator.params."),
            **flat(manifest.training, "training."),
        }

    return _one_per_replaced_step(changed("", facts(a, sha_a), facts(b, sha_b)))


def _one_per_replaced_step(changes: list[Change]) -> list[Change]:
    """Where a step's class changed, its parameters' changes say nothing more: left out."""
    replaced = [
        change["what"].removesuffix("class")
        for change in changes
        if change["what"].endswith(".class") and None not in (change["a"], change["b"])
    ]
    return [
        change
        for change in changes
        if not any(change["what"].startswith(f"{step}params.") for step in replaced)
    ]


def _schema(a: Manifest, b: Manifest) -> list[Change]:
    changes = changed(
        "input.",
        {"format": a.input.format, "names_generated": a.input.names_generated},
        {"format": b.input.format, "names_generated": b.input.names_generated},
    )
    fields: tuple[str, ...] = FEATURE_FIELDS
    # The input contract (format 4.0 on) only when both record it: an older manifest's
    # defaults (no limits, not imputed) were never stated, so they are not changes.
    if a.records_input_contract and b.records_input_contract:
        fields += INPUT_CONTRACT_FIELDS
    features_a = {f.name: f for f in a.input.features}
    features_b = {f.name: f for f in b.input.features}
    for name in union(features_a, features_b):
        if name not in features_b:
            changes.append(change_of(f"feature {name}", features_a[name].kind, None))
        elif name not in features_a:
            changes.append(change_of(f"feature {name}", None, features_b[name].kind))
        else:
            old, new = asdict(features_a[name]), asdict(features_b[name])
            changes += [
                change_of(f"feature {name} {key}", old[key], new[key])
                for key in fields
                if old[key] != new[key]
            ]
    common_a = [n for n in a.input.names if n in features_b]
    common_b = [n for n in b.input.names if n in features_a]
    if common_a != common_b:
        changes.append(change_of("feature order", a.input.names, b.input.names))
    return changes


def _metrics(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    test_a, test_b = mapping(a.get("test")), mapping(b.get("test"))
    changes = changed(
        "test.",
        pick(test_a, ("n_rows", "positive_class")),
        pick(test_b, ("n_rows", "positive_class")),
    )
    changes += measured_changes("test.", test_a, test_b, METRICS)
    changes += changed(
        "test.",
        pick(test_a, ("worse_than_baseline",)) | flat(test_a.get("bootstrap"), "bootstrap."),
        pick(test_b, ("worse_than_baseline",)) | flat(test_b.get("bootstrap"), "bootstrap."),
    )
    cv = ("folds", "scoring", "mean", "std")
    changes += changed(
        "cross_validation.",
        pick(a.get("cross_validation") or {}, cv),
        pick(b.get("cross_validation") or {}, cv),
    )
    return changes


def _subgroups(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    changes = changed("subgroups.", pick(a, ("min_rows",)), pick(b, ("min_rows",)))
    columns_a = keyed(a.get("columns"), "spec", "column")
    columns_b = keyed(b.get("columns"), "spec", "column")
    for spec in union(columns_a, columns_b):
        if spec not in columns_a or spec not in columns_b:
            changes.append(
                change_of(
                    f"subgroup {spec}", _groups(columns_a.get(spec)), _groups(columns_b.get(spec))
                )
            )
            continue
        column_a, column_b = columns_a[spec], columns_b[spec]
        groups_a = keyed(column_a.get("groups"), "group")
        groups_b = keyed(column_b.get("groups"), "group")
        for group in union(groups_a, groups_b):
            what = f"{spec}={group} "
            old, new = mapping(groups_a.get(group)), mapping(groups_b.get(group))
            facts = ("n", "prevalence", "too_small")
            changes += changed(what, pick(old, facts), pick(new, facts))
            changes += measured_changes(
                what, mapping(old.get("metrics")), mapping(new.get("metrics")), METRICS, old, new
            )
        gaps_a, gaps_b = mapping(column_a.get("gaps")), mapping(column_b.get("gaps"))
        for metric in union(gaps_a, gaps_b):
            changes += changed(
                f"{spec} gap in {metric} ", mapping(gaps_a.get(metric)), mapping(gaps_b.get(metric))
            )
    return changes


def _groups(column: Mapping[str, Any] | None) -> list[str] | None:
    return None if column is None else list(keyed(column.get("groups"), "group"))


def _profiles(a: Manifest, b: Manifest) -> list[Change]:
    changes = changed(
        "", {"default_profile": a.default_profile}, {"default_profile": b.default_profile}
    )
    profiles_a = {p.name: p for p in a.profiles}
    profiles_b = {p.name: p for p in b.profiles}
    for name in union(profiles_a, profiles_b):
        old, new = profiles_a.get(name), profiles_b.get(name)
        if old is None or new is None:
            changes.append(change_of(f"profile {name}", _rule(old), _rule(new)))
            continue
        what = f"profile {name} "
        changes += changed(what, _rule(old) or {}, _rule(new) or {})
        changes += changed(what + "chosen_on.", flat(old.chosen_on), flat(new.chosen_on))
        changes += measured_changes(what, old.metrics, new.metrics, PROFILE_METRICS)
    return changes


def _rule(profile: Any) -> dict[str, Any] | None:
    return None if profile is None else {"threshold": profile.threshold, "rule": profile.rule}


def _requirements(a: Manifest, b: Manifest) -> list[Change]:
    """Each gate's measured value on either side (absent: the gate was not given there)."""
    measured_a = {r.requirement: r.measured for r in a.requirements}
    measured_b = {r.requirement: r.measured for r in b.requirements}
    where_a = {"intervals": {r.requirement: r.interval for r in a.requirements}}
    where_b = {"intervals": {r.requirement: r.interval for r in b.requirements}}
    names = union(measured_a, measured_b)
    return measured_changes("requirement ", measured_a, measured_b, names, where_a, where_b)


def _versions(a: Manifest, b: Manifest) -> list[Change]:
    def facts(manifest: Manifest) -> dict[str, Any]:
        provenance = flat(manifest.provenance)
        return {"format_version": manifest.format_version, **provenance}

    return changed("", facts(a), facts(b))
