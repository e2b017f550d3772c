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
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from packager.artefact import Manifest, read_manifest
from packager.evaluation.requirements import METRICS, PROFILE_METRICS

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
Change = dict[str, Any]


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
        "target": _changes("", _flat(a.target), _flat(b.target)),
        "metrics": _metrics(a.metrics or {}, b.metrics or {}),
        "subgroups": _subgroups(a.subgroups or {}, b.subgroups or {}),
        "profiles": _profiles(a, b),
        "edge_cases": _changes(
            "edge_cases.",
            _flat(getattr(a, "edge_cases", None)),
            _flat(getattr(b, "edge_cases", None)),
        ),
        "requirements": _requirements(a, b),
        "versions": _versions(a, b),
        "parent": _changes("parent.", _flat(a.parent), _flat(b.parent)),
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
            **_flat(manifest.model_file, "model file "),
            **_flat(manifest.model, "model."),
            "estimator": manifest.estimator.class_name,
            "estimator.n_training_rows": manifest.estimator.n_training_rows,
            **_flat(manifest.estimator.params, "estimator.params."),
            **_flat(manifest.training, "training."),
        }

    return _one_per_replaced_step(_changes("", facts(a, sha_a), facts(b, sha_b)))


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
    changes = _changes(
        "input.",
        {"format": a.input.format, "names_generated": a.input.names_generated},
        {"format": b.input.format, "names_generated": b.input.names_generated},
    )
    features_a = {f.name: f for f in a.input.features}
    features_b = {f.name: f for f in b.input.features}
    for name in _union(features_a, features_b):
        if name not in features_b:
            changes.append(_change(f"feature {name}", features_a[name].kind, None))
        elif name not in features_a:
            changes.append(_change(f"feature {name}", None, features_b[name].kind))
        else:
            old, new = asdict(features_a[name]), asdict(features_b[name])
            changes += [
                _change(f"feature {name} {key}", old[key], new[key])
                for key in FEATURE_FIELDS
                if old[key] != new[key]
            ]
    common_a = [n for n in a.input.names if n in features_b]
    common_b = [n for n in b.input.names if n in features_a]
    if common_a != common_b:
        changes.append(_change("feature order", a.input.names, b.input.names))
    return changes


def _metrics(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    test_a, test_b = a.get("test") or {}, b.get("test") or {}
    changes = _changes(
        "test.",
        _pick(test_a, ("n_rows", "positive_class")),
        _pick(test_b, ("n_rows", "positive_class")),
    )
    changes += _measured("test.", test_a, test_b, METRICS)
    changes += _changes(
        "test.",
        _pick(test_a, ("worse_than_baseline",)) | _flat(test_a.get("bootstrap"), "bootstrap."),
        _pick(test_b, ("worse_than_baseline",)) | _flat(test_b.get("bootstrap"), "bootstrap."),
    )
    cv = ("folds", "scoring", "mean", "std")
    changes += _changes(
        "cross_validation.",
        _pick(a.get("cross_validation") or {}, cv),
        _pick(b.get("cross_validation") or {}, cv),
    )
    return changes


def _subgroups(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    changes = _changes("subgroups.", _pick(a, ("min_rows",)), _pick(b, ("min_rows",)))
    columns_a = {c["spec"]: c for c in a.get("columns") or []}
    columns_b = {c["spec"]: c for c in b.get("columns") or []}
    for spec in _union(columns_a, columns_b):
        if spec not in columns_a or spec not in columns_b:
            changes.append(
                _change(
                    f"subgroup {spec}", _groups(columns_a.get(spec)), _groups(columns_b.get(spec))
                )
            )
            continue
        column_a, column_b = columns_a[spec], columns_b[spec]
        groups_a = {str(g["group"]): g for g in column_a.get("groups") or []}
        groups_b = {str(g["group"]): g for g in column_b.get("groups") or []}
        for group in _union(groups_a, groups_b):
            what = f"{spec}={group} "
            old, new = groups_a.get(group) or {}, groups_b.get(group) or {}
            facts = ("n", "prevalence", "too_small")
            changes += _changes(what, _pick(old, facts), _pick(new, facts))
            changes += _measured(
                what, old.get("metrics") or {}, new.get("metrics") or {}, METRICS, old, new
            )
        gaps_a, gaps_b = column_a.get("gaps") or {}, column_b.get("gaps") or {}
        for metric in _union(gaps_a, gaps_b):
            changes += _changes(
                f"{spec} gap in {metric} ", gaps_a.get(metric) or {}, gaps_b.get(metric) or {}
            )
    return changes


def _groups(column: Mapping[str, Any] | None) -> list[Any] | None:
    return None if column is None else [g["group"] for g in column.get("groups") or []]


def _profiles(a: Manifest, b: Manifest) -> list[Change]:
    changes = _changes(
        "", {"default_profile": a.default_profile}, {"default_profile": b.default_profile}
    )
    profiles_a = {p.name: p for p in a.profiles}
    profiles_b = {p.name: p for p in b.profiles}
    for name in _union(profiles_a, profiles_b):
        old, new = profiles_a.get(name), profiles_b.get(name)
        if old is None or new is None:
            changes.append(_change(f"profile {name}", _rule(old), _rule(new)))
            continue
        what = f"profile {name} "
        changes += _changes(what, _rule(old) or {}, _rule(new) or {})
        changes += _changes(what + "chosen_on.", _flat(old.chosen_on), _flat(new.chosen_on))
        changes += _measured(what, old.metrics, new.metrics, PROFILE_METRICS)
    return changes


def _rule(profile: Any) -> dict[str, Any] | None:
    return None if profile is None else {"threshold": profile.threshold, "rule": profile.rule}


def _requirements(a: Manifest, b: Manifest) -> list[Change]:
    """Each gate's measured value on either side (absent: the gate was not given there)."""
    measured_a = {r.requirement: r.measured for r in a.requirements}
    measured_b = {r.requirement: r.measured for r in b.requirements}
    where_a = {"intervals": {r.requirement: r.interval for r in a.requirements}}
    where_b = {"intervals": {r.requirement: r.interval for r in b.requirements}}
    names = _union(measured_a, measured_b)
    return _measured("requirement ", measured_a, measured_b, names, where_a, where_b)


def _versions(a: Manifest, b: Manifest) -> list[Change]:
    def facts(manifest: Manifest) -> dict[str, Any]:
        provenance = _flat(manifest.provenance)
        return {"format_version": manifest.format_version, **provenance}

    return _changes("", facts(a), facts(b))


def _measured(
    prefix: str,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    names: Iterable[str],
    where_a: Mapping[str, Any] | None = None,
    where_b: Mapping[str, Any] | None = None,
) -> list[Change]:
    """Changes of measured values, each with both intervals, B - A and whether they overlap."""
    intervals_a = (where_a if where_a is not None else a).get("intervals") or {}
    intervals_b = (where_b if where_b is not None else b).get("intervals") or {}
    changes = []
    for name in names:
        value_a, value_b = a.get(name), b.get(name)
        interval_a, interval_b = intervals_a.get(name), intervals_b.get(name)
        if value_a == value_b and interval_a == interval_b:
            continue
        change = _change(f"{prefix}{name}", value_a, value_b)
        numbers = all(isinstance(v, int | float) for v in (value_a, value_b))
        change["a_interval"], change["b_interval"] = interval_a, interval_b
        change["difference"] = value_b - value_a if numbers else None
        change["intervals_overlap"] = (
            None
            if interval_a is None or interval_b is None
            else interval_a[0] <= interval_b[1] and interval_b[0] <= interval_a[1]
        )
        changes.append(change)
    return changes


def _changes(prefix: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    """One change per key whose value differs (or is on one side only)."""
    return [
        _change(f"{prefix}{k}".strip(), a.get(k), b.get(k))
        for k in _union(a, b)
        if a.get(k) != b.get(k)
    ]


def _change(what: str, a: Any, b: Any) -> Change:
    return {"what": what, "a": a, "b": b}


def _union(a: Iterable[str], b: Iterable[str]) -> list[str]:
    """The keys of ``a`` in order, then those only in ``b``."""
    seen = list(a)
    return seen + [key for key in b if key not in seen]


def _pick(data: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: data[key] for key in keys if key in data}


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """A dataclass or nested dicts as one level of dotted keys; lists are kept whole."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        value = asdict(value)
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if _named_steps(item):
            item = dict(item)  # a pipeline's [[name, step], ...]: one key per step
        if isinstance(item, Mapping) and item:
            flat.update(_flat(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def _named_steps(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str)
            for pair in value
        )
    )
