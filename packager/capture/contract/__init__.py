"""The input contract at capture: the data dictionary held against the data and the model.

``checks`` is what ``capture()`` asks of a dictionary beyond one column (names, identifiers,
nullable features the model must score); ``recorded`` applies a dictionary to a capture
file's schema, which was decided with its data.
"""

from packager.capture.contract.checks import check_names, check_nullable, flag_identifiers
from packager.capture.contract.recorded import documented_capture

__all__ = ["check_names", "check_nullable", "documented_capture", "flag_identifiers"]
