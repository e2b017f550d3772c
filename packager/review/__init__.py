"""Reviewing an artefact: ``verify`` (files, versions, model, re-scored examples),
``summarise`` (what ``deployml inspect`` prints) and ``diff_artefacts`` (what differs between
two artefacts, ``deployml diff``). Built on the artefact format and the evaluation.
"""

from packager.review.diff import SECTIONS, diff_artefacts, diff_manifests
from packager.review.diff_report import render_diff
from packager.review.summary import summarise
from packager.review.verification import (
    Verification,
    VersionDifference,
    verify,
    version_differences,
)

__all__ = [
    "SECTIONS",
    "Verification",
    "VersionDifference",
    "diff_artefacts",
    "diff_manifests",
    "render_diff",
    "summarise",
    "verify",
    "version_differences",
]
