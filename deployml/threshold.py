"""``deployml threshold``: a threshold profile for a new site, chosen on its data, no retraining.

It reads the artefact (checking every hash; a pickle only with ``--allow-pickle``) and the
site's labelled CSV (with the options ``train`` reads its table with), chooses the rule's
threshold there (:func:`packager.review.review_site`), and writes a NEW artefact
(:func:`packager.artefact.derive`): the same model file, a manifest with the profile added
and ``parent`` naming the original. The original is never modified.
It prints what the rule gives on the site and how the site differs from the test data.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

from deployml.packaging import print_warning
from deployml.table_options import table_options
from packager import load_artefact, read_manifest
from packager.artefact import check_derivable, derive, file_sha256, for_people
from packager.errors import DeploymlWarning
from packager.evaluation import FORMS, PROFILE_METRICS, parse_profiles
from packager.review import (
    SiteReview,
    check_profile_name,
    is_interval,
    review_site,
    with_profile,
)
from packager.training import TableOptions, read_table

__all__ = ["threshold_command"]

_LABELS = {
    "sensitivity": "sensitivity",
    "specificity": "specificity",
    "ppv": "PPV",
    "npv": "NPV",
    "alerts_per_100": "alerts/100",
}
UNREADABLE = "recorded in a shape this deployml does not read; see manifest.json"


@click.command("threshold")
@click.argument("artefact_dir", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="The new profile's name (letters, digits, -_.).")
@click.option(
    "--data",
    "data_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The site's labelled rows (CSV) holding every feature and the target.",
)
@click.option("--target", required=True, help="The column of DATA holding the outcome.")
@click.option("--rule", required=True, help=f"How to choose the threshold: {FORMS}.")
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path), help="The new artefact."
)
@click.option("--force", is_flag=True, help="Replace an existing artefact at --output.")
@click.option("--default", "make_default", is_flag=True, help="Make the new profile the default.")
@click.option("--replace", "replace_existing", is_flag=True, help="Replace a profile of that name.")
@click.option(
    "--allow-pickle", is_flag=True, help="Unpickle a pickled model, which runs any code it holds."
)
@table_options
def threshold_command(
    artefact_dir: Path,
    name: str,
    data_file: Path,
    target: str,
    rule: str,
    output: Path,
    force: bool,
    make_default: bool,
    replace_existing: bool,
    allow_pickle: bool,
    table: TableOptions,
) -> None:
    """Choose a threshold profile on a site's data; write it into a new artefact at --output."""
    (spec,) = parse_profiles([f"{name}:{rule}"])
    # What derive and with_profile would refuse, refused before any slow work (they check again).
    original, _ = read_manifest(artefact_dir)
    check_derivable(artefact_dir, original, output, force=force)
    check_profile_name(original, name, replace_existing=replace_existing)
    artefact = load_artefact(artefact_dir, allow_pickle=allow_pickle)
    with warnings.catch_warnings():
        warnings.simplefilter("always", DeploymlWarning)
        warnings.showwarning = print_warning  # as train and package show theirs
        data = read_table(data_file, "site data", table)
        review = review_site(
            artefact, data, target, spec, source=data_file.name, sha256=file_sha256(data_file)
        )
    manifest = with_profile(
        artefact.manifest,
        review.profile,
        replace_existing=replace_existing,
        make_default=make_default,
    )
    change = f"threshold profile {name} chosen on {data_file.name}"
    path = derive(artefact, manifest, output, change=change, force=force)
    for line in site_lines(review):
        click.echo(line)
    _, sha256 = read_manifest(path)
    click.echo(f"Wrote {path} (parent {artefact.sha256})")
    click.echo(f"Artefact sha256: {sha256}")


def site_lines(review: SiteReview) -> list[str]:
    """The printout: the rule's result on the site, then how the site differs."""
    profile, on = review.profile, review.profile.chosen_on
    level = _level(profile.metrics)
    lines = [
        f"Profile {profile.name} ({profile.rule}) on {on.source}: {on.rows} rows, "
        f"prevalence {for_people(on.prevalence)}",
        f"  threshold     {for_people(profile.threshold)} (positive when score >= threshold)",
    ]
    lines += [
        f"  {_LABELS[m]:<12}  {_with_interval(profile.metrics, m, level)}" for m in PROFILE_METRICS
    ]
    lines += [
        f"How {on.source} differs from the test data:",
        f"  prevalence    {for_people(on.prevalence)} here, "
        f"{for_people(review.test_prevalence)} on the test data",
        f"  at {review.reference}, threshold {for_people(review.reference_threshold)}: "
        f"here | recorded on {review.recorded_on}",
    ]
    recorded = review.recorded or {}
    for metric in PROFILE_METRICS:
        site = _with_interval(review.at_reference, metric, level)
        then = (
            _with_interval(recorded, metric, _level(recorded))
            if metric in recorded
            else "not recorded"
        )
        lines.append(f"    {_LABELS[metric]:<12}  {site} | {then}")
    outside = review.outside_training
    if outside:
        counts = ", ".join(f"{feature} {n}" for feature, n in outside.items())
        lines.append(f"  rows outside the training range or values: {counts}")
    else:
        lines.append("  every feature within the training range and values")
    return lines


def _level(metrics: dict[str, Any]) -> str:
    """``95% ``: the level of the intervals in ``metrics``, as their bootstrap recorded it."""
    record = metrics.get("bootstrap")
    level = record.get("level") if isinstance(record, dict) else None
    return f"{level:.0%} " if _is_number(level) else ""


def _with_interval(metrics: dict[str, Any], metric: str, level: str) -> str:
    """A value and its interval. Recorded ones are free-form in the manifest: a shape other
    than a number and ``[low, high]`` is said to be unreadable, never guessed at."""
    value, intervals = metrics.get(metric), metrics.get("intervals")
    interval = intervals.get(metric) if isinstance(intervals, dict) else None
    if (
        not (value is None or _is_number(value))
        or not (intervals is None or isinstance(intervals, dict))
        or not (interval is None or is_interval(interval))
    ):
        return UNREADABLE
    if interval is None:
        return for_people(value)
    return f"{for_people(value)} ({level}CI {for_people(interval[0])} to {for_people(interval[1])})"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
