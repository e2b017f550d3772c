"""Scoring a payload: the one path from rows to answers, for the HTTP protocols and for batch runs.

The threshold profile is resolved first (a profile the model lacks is refused before any row
is looked at), then the rows are validated, the valid ones scored, and a binary classifier's
probabilities turned into decisions. ``server.http`` words the result as a response;
``server.batch`` as columns of a table. Neither decides anything of its own about a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packager.artefact import Outputs, has_predict_proba
from server.runtime.loaded import Runtime
from server.runtime.profiles import ServedProfile
from server.validation import Batch, Payload

__all__ = ["Scored", "keyed", "score"]


@dataclass(frozen=True)
class Scored:
    """Validated rows, the model's outputs for them and, when a profile decided, its
    decisions (one per valid row; ``profile`` is None when there are none)."""

    batch: Batch
    outputs: Outputs
    profile: ServedProfile | None = None
    decisions: list[Any] | None = None

    def per_row(self, values: list[Any], refused: Any = None) -> list[Any]:
        """One entry per payload row: the valid rows' ``values`` in place, ``refused`` for
        the others."""
        kept = self.batch.kept
        if kept is None:
            return values
        answered = [refused] * (len(kept) + len(self.batch.refused_rows))
        for row, value in zip(kept, values, strict=True):
            answered[row] = value
        return answered


def score(runtime: Runtime, payload: Payload, on_error: str, *, every: bool = False) -> Scored:
    """Score ``payload`` (``on_error``: ``"fail"`` or ``"skip"``; ``every``: list every
    problem of every refused row, and score none rather than refuse the whole payload)."""
    profile = runtime.profiles.resolve(payload.profile, payload.names_profile)
    batch = runtime.validator.validate(payload, on_error, every=every)
    if batch.rows:
        outputs = runtime.predict(batch)
    else:
        # Every row refused (only with ``every``): no model call, the outputs' shape kept.
        with_probabilities = runtime.labels is not None and has_predict_proba(
            runtime.artefact.model
        )
        outputs = Outputs(predictions=[], probabilities=[] if with_probabilities else None)
    if runtime.labels is None or outputs.probabilities is None or profile is None:
        return Scored(batch, outputs)
    return Scored(batch, outputs, profile, profile.decide(outputs.probabilities))


def keyed(labels: list[str], rows: list[list[float]]) -> list[dict[str, float]]:
    """Each row's probabilities keyed by class label."""
    if len(labels) == 2:
        # Binary models are the common case; a dict display is about twice as fast as zip.
        first, second = labels
        return [{first: p, second: q} for p, q in rows]
    return [dict(zip(labels, row, strict=True)) for row in rows]
