"""Reviewing an artefact: ``verify`` (files, versions, model, re-scored examples),
``summarise`` (what ``deployml inspect`` prints), ``review_site`` (a threshold profile chosen
on a new site's data, and how that site differs) and ``diff_artefacts`` (what differs between
two artefacts, ``deployml diff``). Built on the artefact format and the clinical evaluation.
"""

from packager.review.changes import is_interval
from packager.review.diff import SECTIONS, diff_artefacts, diff_manifests
from packager.review.diff_report import render_diff
from packager.review.site import SiteReview, check_profile_name, review_site, with_profile
from packager.review.summary import profile_and_subgroup_lines, summarise, test_metric_lines
from packager.review.verification import (
    Verification,
    VersionDifference,
    verify,
    version_differences,
)

__all__ = [
    "SECTIONS",
    "SiteReview",
    "Verification",
    "VersionDifference",
    "check_profile_name",
    "diff_artefacts",
    "diff_manifests",
    "is_interval",
    "profile_and_subgroup_lines",
    "render_diff",
    "review_site",
    "summarise",
    "test_metric_lines",
    "verify",
    "version_differences",
    "with_profile",
]
