"""The errors of batch scoring: the branch of deployml's one error tree (drawn in
``packager/errors.py``) that ``deployml score`` adds. Messages name files, columns of the
schema and counts, never a cell's value.

    BatchError                   a scoring run cannot start, or did not finish (nothing written)
    ├── MissingColumnsError      a table lacks feature (or id) columns, named
    └── ModelNotReadyError       the artefact failed its self-test: no row is scored with it
"""

from __future__ import annotations

from collections.abc import Sequence

from packager.errors import DeploymlError

__all__ = ["BatchError", "MissingColumnsError", "ModelNotReadyError"]


class BatchError(DeploymlError):
    """A scoring run cannot start or did not finish; it leaves no output behind."""


class MissingColumnsError(BatchError):
    """A table lacks columns the run needs: the model's features, or the id columns asked for."""

    def __init__(self, where: str, missing: Sequence[str], what: str = "feature") -> None:
        shown = ", ".join(missing[:10])
        if len(missing) > 10:
            shown += f" and {len(missing) - 10} more"
        plural = "s" if len(missing) > 1 else ""
        super().__init__(f"{where} lacks {len(missing)} {what} column{plural}: {shown}")
        self.where = where
        self.missing = list(missing)
        self.what = what


class ModelNotReadyError(BatchError):
    """The artefact loads but fails its self-test, as a server would say at /readyz."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}; no row was scored with this model")
        self.path = path
        self.reason = reason
