"""``summarise``: the plain-text summary of an artefact that ``deployml inspect`` prints."""

from __future__ import annotations

from typing import Any

from packager.artefact import Artefact, EdgeCaseSummary, FeatureSpec, Manifest, for_people
from packager.evaluation import HEADLINE, requirement_line

__all__ = ["summarise"]

HEADLINE_METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "log_loss", "mae", "rmse", "r2")
TASK_NAMES = {"binary": "binary classifier", "multiclass": "multiclass classifier"}
EXAMPLE_ROWS = {
    "synthetic": "synthetic, made from the schema; no real row is stored",
    "real": "real rows of the data (examples.json), shown by GET /metadata",
    "none": "none shown; the self-test rows are synthetic",
}


def summarise(subject: Artefact | Manifest, sha256: str | None = None) -> str:
    """A readable summary of an artefact (or its manifest) for a terminal."""
    if isinstance(subject, Artefact):
        manifest, sha256 = subject.manifest, subject.sha256
    else:
        manifest = subject
    m, target, est = manifest.model, manifest.target, manifest.estimator
    task = TASK_NAMES.get(target.task, target.task) if target else "unknown task"
    lines = [f"{m.name} {m.version} ({task})"]
    if m.description:
        lines.append(f"  {m.description}")
    rows = f", trained on {est.n_training_rows} rows" if est.n_training_rows is not None else ""
    lines.append(f"Estimator:  {est.class_name}{rows}")
    lines.append(f"Model file: {_model_file(manifest)}")
    if target is not None:
        lines.append(f"Target:     {_target(target)}")
    who = ", ".join(x for x in (m.author, m.organisation, m.contact) if x)
    lines.append(f"Created:    {m.created_at}" + (f" by {who}" if who else ""))
    if m.intended_use:
        lines.append(f"Intended:   {m.intended_use}")
    if m.limitations:
        lines.append(f"Limits:     {m.limitations}")
    spec = manifest.input
    generated = ", names generated" if spec.names_generated else ""
    lines.append(f"Inputs ({len(spec.features)}, as {spec.format}{generated}):")
    width = max((len(f.name) for f in spec.features), default=0)
    lines += [f"  {f.name:<{width}}  {f.kind:<8}  {_feature(f)}".rstrip() for f in spec.features]
    lines += _metrics(manifest.metrics or {})
    lines += _profiles(manifest)
    if manifest.requirements:
        lines.append("Requirements (release gates met when packaged):")
        lines += [f"  {requirement_line(r)}" for r in manifest.requirements]
    if manifest.edge_cases is not None:
        lines.append(f"Edge cases: {_edge_cases(manifest.edge_cases)}")
    if manifest.subgroups and target is not None:
        lines += _subgroups(manifest.subgroups, HEADLINE.get(target.task, ()))
    if manifest.training:
        t = manifest.training
        source = f" on {t['data']['source']}" if t["data"].get("source") else ""
        left_out = len(t["dropped_columns"])
        lines.append(
            f"Trained:    deployml train {t['model']}{source} ({t['data']['rows']} rows); "
            f"{left_out} column(s) left out, {len(t['warnings'])} warning(s)"
        )
    p = manifest.provenance
    versions = ", ".join(f"{k} {v}" for k, v in p.packages.items())
    lines.append(f"Software:   Python {p.python}; {versions}")
    if p.git_commit:
        lines.append(
            f"Git:        {p.git_commit}" + (" (uncommitted changes)" if p.git_dirty else "")
        )
    lines.append(
        f"Files:      {len(manifest.files)} hashed, format {manifest.format_version}"
        + (f", artefact sha256 {sha256}" if sha256 else "")
    )
    lines.append(f"Examples:   {EXAMPLE_ROWS[manifest.example_rows]}")
    if manifest.missing:
        lines.append("Not recorded:")
        lines += [f"  - {item}" for item in manifest.missing]
    return "\n".join(lines)


def _profiles(manifest: Manifest) -> list[str]:
    """One line a threshold profile, the default marked; and the artefact derived from."""
    lines = []
    for p in manifest.profiles:
        mark = " (default)" if p.name == manifest.default_profile else ""
        m = p.metrics
        lines.append(
            f"Profile:    {p.name}{mark}: {p.rule} -> threshold {for_people(p.threshold)}; "
            f"sensitivity {for_people(m.get('sensitivity'))}, "
            f"specificity {for_people(m.get('specificity'))}, ppv {for_people(m.get('ppv'))}, "
            f"{for_people(m.get('alerts_per_100'))} alerts/100 on {p.chosen_on.source} "
            f"({p.chosen_on.rows} rows, prevalence {for_people(p.chosen_on.prevalence)})"
        )
    if manifest.parent is not None:
        parent = manifest.parent
        lines.append(
            f"Parent:     {parent.name} {parent.version}, sha256 {parent.sha256}; {parent.change}"
        )
    return lines


def _model_file(manifest: Manifest) -> str:
    """The model file and how it loads: a pickle runs code; skops trusts the listed types."""
    model_file = manifest.model_file
    if model_file.serializer == "joblib":
        return f"{model_file.path} (a pickle: loading it runs code)"
    trusted = ", ".join(model_file.trusted_types) or "none"
    return f"{model_file.path} ({model_file.serializer}; types trusted beyond skops's: {trusted})"


def _target(target: Any) -> str:
    name = target.name or "(unnamed)"
    if target.class_balance:
        shares = ", ".join(f"{k} {v:.1%}" for k, v in target.class_balance.items())
        return f"{name}: {shares}"
    if target.classes:
        return f"{name}: classes " + ", ".join(str(c) for c in target.classes)
    if target.summary:
        return f"{name}: " + ", ".join(f"{k} {for_people(v)}" for k, v in target.summary.items())
    return name


def _feature(f: FeatureSpec) -> str:
    parts = []
    if f.nullable:
        parts.append("nullable")
    if f.missing_rate:
        parts.append(f"{f.missing_rate:.0%} missing")
    if f.min is not None:
        parts.append(f"{for_people(f.min)} to {for_people(f.max)}")
    if f.categories is not None:
        shown = ", ".join(str(c) for c in f.categories[:8])
        parts.append(
            shown + (f", ... ({len(f.categories)} values)" if len(f.categories) > 8 else "")
        )
    return "; ".join(parts)


def _metrics(metrics: dict[str, Any]) -> list[str]:
    lines = []
    test = metrics.get("test")
    if test:
        shown = ", ".join(f"{k} {for_people(test[k])}" for k in HEADLINE_METRICS if k in test)
        lines.append(f"Test:       {test.get('n_rows')} rows; {shown}")
    cv = metrics.get("cross_validation")
    if cv:
        lines.append(
            f"Cross-val:  {cv['folds']} folds, {cv['scoring']} mean {for_people(cv['mean'])} "
            f"(sd {for_people(cv['std'])})"
        )
    return lines


def _edge_cases(summary: EdgeCaseSummary) -> str:
    """``5 cases, 4 pass; FAILING (allowed at packaging): case-3``."""
    text = f"{summary.total} cases, {summary.passed} pass"
    if summary.failing:
        allowed = " (allowed at packaging)" if summary.allowed_failing else ""
        text += f"; FAILING{allowed}: {', '.join(summary.failing)}"
    return text


def _subgroups(subgroups: dict[str, Any], metrics: tuple[str, ...]) -> list[str]:
    """One line per subgroup column: its groups and sizes, the gap of the main metric."""
    # A free-form field: a manifest from elsewhere may hold any shape; say so, do not crash.
    try:
        lines = [f"Subgroups:  (a group needs {subgroups['min_rows']} rows to be measured)"]
        lines += [_subgroup_column(column, metrics) for column in subgroups["columns"]]
    except (KeyError, TypeError, AttributeError):
        return ["Subgroups:  recorded in a shape this deployml does not read (see --json)"]
    return lines


def _subgroup_column(column: dict[str, Any], metrics: tuple[str, ...]) -> str:
    sizes = ", ".join(
        f"{g['group']} {g['n']}" + (" too small" if g["too_small"] else "")
        for g in column["groups"]
    )
    line = f"  {column['spec']}: {len(column['groups'])} groups ({sizes})"
    # The main metric is the first headline metric measured in two groups or more.
    main = next((m for m in metrics if m in column["gaps"]), None)
    if main is not None:
        gap = column["gaps"][main]
        line += f"; {main} gap {for_people(gap['value'])}, worst {gap['worst']}"
    return line
