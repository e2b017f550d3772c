"""Reviewing an artefact: ``verify`` (files, versions, model, re-scored examples) and
``summarise`` (what ``deployml inspect`` prints). Built on the artefact format only.
"""

from packager.review.summary import summarise, test_metric_lines
from packager.review.verification import (
    Verification,
    VersionDifference,
    verify,
    version_differences,
)

__all__ = [
    "Verification",
    "VersionDifference",
    "summarise",
    "test_metric_lines",
    "verify",
    "version_differences",
]
