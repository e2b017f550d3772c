"""The input contract at capture: the data dictionary held against the data and the model.

``checks`` is what ``capture()`` asks of a dictionary beyond one column (names, identifiers,
nullable features the model must score); ``recorded`` applies a dictionary where no
training data is at hand: to a capture file's schema, decided with its data, and to a bare
estimator's features.
"""

from packager.capture.contract.checks import check_names, check_nullable, flag_identifiers
from packager.capture.contract.recorded import bare_features, documented_capture

__all__ = [
    "bare_features",
    "check_names",
    "check_nullable",
    "documented_capture",
    "flag_identifiers",
]
