"""Batch scoring: tables scored the way ``/predict`` scores a request, on one machine or many.

``Scorer`` (``scorer``) holds one artefact: picklable, it loads the model once per process
and scores a pandas DataFrame with the server's validation and runtime, keeping every row
(refused ones with their problems); ``frames`` turns cells into request values and answers
into columns. The errors of a run are ``errors``' branch of the one error tree.

A run over files: ``sources`` finds, checks and counts the inputs, ``sinks`` stages the parts
and renames them into place, ``run_record`` is ``_run.json``, ``job`` checks everything
before work (:func:`plan_job`) and runs an engine (:func:`run_job`): ``local`` streams chunks
in this process; ``dask_engine`` and ``spark_engine`` are imported only when chosen.
"""

from server.batch.errors import BatchError, MissingColumnsError, ModelNotReadyError
from server.batch.frames import REFUSED, SCORED, STATUS_COLUMNS
from server.batch.job import (
    DEFAULT_CHUNK_ROWS,
    ENGINES,
    OUTPUT_FORMATS,
    EngineRun,
    Job,
    plan_job,
    run_job,
)
from server.batch.run_record import RUN_RECORD, RunRecord
from server.batch.scorer import AUDIT_ENDPOINT, Scorer

__all__ = [
    "AUDIT_ENDPOINT",
    "DEFAULT_CHUNK_ROWS",
    "ENGINES",
    "OUTPUT_FORMATS",
    "REFUSED",
    "RUN_RECORD",
    "SCORED",
    "STATUS_COLUMNS",
    "BatchError",
    "EngineRun",
    "Job",
    "MissingColumnsError",
    "ModelNotReadyError",
    "RunRecord",
    "Scorer",
    "plan_job",
    "run_job",
]
