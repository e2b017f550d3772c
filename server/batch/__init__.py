"""Batch scoring: tables scored the way ``/predict`` scores a request, on one machine or many.

``Scorer`` (``scorer``) holds one artefact: picklable, it loads the model once per process
and scores a pandas DataFrame with the server's validation and runtime, keeping every row
(refused ones with their problems); ``frames`` turns cells into request values and answers
into columns. The errors of a run are ``errors``' branch of the one error tree.
"""

from server.batch.errors import BatchError, MissingColumnsError, ModelNotReadyError
from server.batch.frames import REFUSED, SCORED, STATUS_COLUMNS
from server.batch.scorer import AUDIT_ENDPOINT, Scorer

__all__ = [
    "AUDIT_ENDPOINT",
    "REFUSED",
    "SCORED",
    "STATUS_COLUMNS",
    "BatchError",
    "MissingColumnsError",
    "ModelNotReadyError",
    "Scorer",
]
