"""Reviewing an artefact: ``verify`` (files, versions, model, re-scored examples) and
``summarise`` (what ``deployml inspect`` prints), and ``review_site`` (a threshold profile
chosen on a new site's data, and how that site differs). Built on the artefact format and the
clinical evaluation.
"""

from packager.review.site import SiteReview, review_site, with_profile
from packager.review.summary import summarise
from packager.review.verification import (
    Verification,
    VersionDifference,
    verify,
    version_differences,
)

__all__ = [
    "SiteReview",
    "Verification",
    "VersionDifference",
    "review_site",
    "summarise",
    "verify",
    "version_differences",
    "with_profile",
]
