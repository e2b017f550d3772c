"""``summarise``: the plain-text summary of an artefact that ``deployml inspect`` prints."""

from __future__ import annotations

from typing import Any

from packager.artefact import (
    ALL_HEADLINE_METRICS,
    HEADLINE_METRICS,
    Artefact,
    EdgeCaseSummary,
    Manifest,
    for_people,
)
from packager.evaluation import requirement_line
from packager.review.features import feature_line, identifier_lines

__all__ = ["profile_and_subgroup_lines", "summarise", "test_metric_lines"]

TASK_NAMES = {"binary": "binary classifier", "multiclass": "multiclass classifier"}
DRIFT_FORMAT = (4, 1)  # the first format that records drift bins
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
    contract = manifest.records_input_contract
    lines += [
        f"  {f.name:<{width}}  {f.kind:<8}  {feature_line(f, contract)}".rstrip()
        for f in spec.features
    ]
    if contract:
        lines += identifier_lines(spec.features)
    lines += _metrics(manifest.metrics or {}, target)
    lines += profile_and_subgroup_lines(manifest)
    if manifest.requirements:
        lines.append("Requirements (release gates met when packaged):")
        lines += [f"  {requirement_line(r)}" for r in manifest.requirements]
    if manifest.edge_cases is not None:
        lines.append(f"Edge cases: {_edge_cases(manifest.edge_cases)}")
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
    lines.append(f"Drift bins: {_drift(manifest)}")
    lines.append(f"Compiled:   {_compiled(manifest)}")
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


def _drift(manifest: Manifest) -> str:
    """Whether drift bins are recorded (format 4.1 on), for how many features, else why not."""
    if manifest.drift:
        rows = sum(next(iter(manifest.drift.values())).counts)
        return (
            f"recorded for {len(manifest.drift)} of {len(manifest.input.features)} features, "
            f"from {rows} training rows (GET /drift compares live rows with them)"
        )
    major, _, minor = manifest.format_version.partition(".")
    if (int(major), int(minor) if minor.isdecimal() else 0) < DRIFT_FORMAT:
        return f"none recorded (format {manifest.format_version} predates them)"
    # Why not, when it is known, is in ``missing`` (a bare estimator has no training rows).
    return "none recorded"


def _compiled(manifest: Manifest) -> str:
    """The compiled model, what made it and how close it answered, or ``no``."""
    c = manifest.compiled
    if c is None:
        return "no"
    worst = ", ".join(f"{name} {size:.2g}" for name, size in c.worst_difference.items())
    return (
        f"{c.path} ({c.format}, {c.converter.name} {c.converter.version}); labels identical on "
        f"{sum(c.rows_checked.values())} rows, worst {worst or 'none'} (tolerance {c.tolerance:g})"
    )


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


def _metrics(metrics: dict[str, Any], target: Any) -> list[str]:
    lines = []
    test = metrics.get("test")
    if test:
        lines += test_metric_lines(test, target.positive_class if target else None)
    cv = metrics.get("cross_validation")
    if cv:
        lines.append(
            f"Cross-val:  {cv['folds']} folds, {cv['scoring']} mean {for_people(cv['mean'])} "
            f"(sd {for_people(cv['std'])})"
        )
    return lines


def profile_and_subgroup_lines(manifest: Manifest) -> list[str]:
    """The threshold profiles, one line each, and one line per subgroup column."""
    lines = _profiles(manifest)
    target = manifest.target
    if manifest.subgroups and target is not None:
        lines += _subgroups(manifest.subgroups, HEADLINE_METRICS.get(target.task, ()))
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


def test_metric_lines(test: dict[str, Any], positive: Any) -> list[str]:
    """One line a metric: its value, interval and the baseline's; the positive class first.

    ``positive`` is the target's positive class, for metrics recorded before they named it.
    The metrics are free-form in the manifest, so a value of an unexpected type is shown as
    text (or left out), never trusted.
    """
    head = f"Test:       {test.get('n_rows')} rows"
    if positive is not None:
        prevalence = _percent(test.get("prevalence"))
        share = f" (prevalence {prevalence})" if prevalence else ""
        head += f"; positive class {test.get('positive_class', positive)!r}{share}"
    intervals, reference = _object(test.get("intervals")), _object(test.get("baseline"))
    b = _object(test.get("bootstrap"))
    if intervals and b:
        level = _percent(b.get("level"), 0)
        head += f"; {level} intervals by {b.get('method')} bootstrap ({b.get('resamples')})"
    names = [k for k in ALL_HEADLINE_METRICS if k in test]
    width = max(map(len, names), default=0)
    lines = [head]
    if reference:
        lines.append(f"  {'':<{width}}  value      interval             baseline")
    for name in names:
        row = (
            f"  {name:<{width}}  {for_people(test[name]):<9}  {_interval(intervals.get(name)):<19}"
        )
        lines.append((row + (f"  {for_people(reference.get(name))}" if reference else "")).rstrip())
    if reference:
        lines.append(f"  (baseline: {reference.get('strategy')})")
    worse = test.get("worse_than_baseline")
    lines += [f"WARNING:    {said}" for said in (worse if isinstance(worse, list) else [])]
    off = test.get("uncalibrated")
    if isinstance(off, str):
        lines.append(f"WARNING:    {off}")
    return lines


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _percent(value: Any, digits: int = 1) -> str:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return f"{value:.{digits}%}" if number else ""


def _interval(bounds: Any) -> str:
    if not isinstance(bounds, list) or len(bounds) != 2:
        return ""
    return f"{for_people(bounds[0])} to {for_people(bounds[1])}"
