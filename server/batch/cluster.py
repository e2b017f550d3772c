"""What the Dask and Spark engines share: the artefact they ship, partition sizes, failures.

Both ship the artefact to their workers under a name made from its pinned hash (two runs of
different artefacts on one cluster never share a copy), after checking here, before any work,
that the directory still holds the artefact the Scorer pinned. Both cut the input into
partitions of about ``chunk_rows`` rows by bytes, as their readers split files. And a task
that fails on a worker is reported as one error: deployml's own errors keep their message
(it never holds a cell's value); any other error is named by its type alone, since its
message may quote the data (the worker's log has the traceback).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from packager.artefact import read_manifest
from packager.errors import ArtefactHashError, DeploymlError
from server.batch.errors import BatchError

if TYPE_CHECKING:
    from server.batch.job import Job
    from server.batch.scorer import Scorer

__all__ = ["copy_name", "failed", "partitions_wanted", "shipped_artefact", "split_bytes"]

# A Python traceback's last line, as Spark passes it on: "package.module.SomeError: message".
_RAISED = re.compile(
    r"^(?P<type>\w+(?:\.\w+)+|\w*(?:Error|Exception|Exit|Interrupt)): (?P<message>.*)$"
)
_OWN_MODULES = ("packager.", "server.")


def shipped_artefact(scorer: Scorer) -> Path:
    """The artefact directory to ship; ArtefactHashError if it changed since it was pinned."""
    artefact = scorer.settings.require_artefact()
    _, sha256 = read_manifest(artefact)
    if sha256 != scorer.sha256:
        raise ArtefactHashError(found=sha256, expected=scorer.sha256)
    return artefact


def copy_name(scorer: Scorer) -> str:
    """The directory name of the artefact's copy on every worker."""
    return f"deployml-artefact-{scorer.sha256[:16]}"


def split_bytes(job: Job) -> int:
    """The bytes that hold about ``chunk_rows`` rows, on average over the inputs."""
    rows = sum(source.rows for source in job.inputs)
    size = sum(source.path.stat().st_size for source in job.inputs)
    return max(1, math.ceil(size / max(rows, 1) * job.chunk_rows))


def partitions_wanted(job: Job) -> int:
    """How many partitions of at most ``chunk_rows`` rows the inputs make."""
    return max(1, math.ceil(sum(source.rows for source in job.inputs) / job.chunk_rows))


def failed(engine: str, error: BaseException) -> DeploymlError:
    """A task's failure on ``engine`` as deployml's error (the same one, when it is one)."""
    if isinstance(error, DeploymlError):
        return error
    kind, message = type(error).__name__, None
    # Spark hands a Python worker's failure over as text, ending with the traceback's line.
    text = str(error)
    lines = text[text.find("Traceback") :].splitlines() if "Traceback" in text else []
    found = next((m for m in map(_RAISED.match, reversed(lines)) if m), None)
    if found is not None:
        kind = found["type"].rsplit(".", 1)[-1]
        if found["type"].startswith(_OWN_MODULES):
            message = found["message"]
    if message is not None:
        return BatchError(f"the {engine} run failed: {message}")
    return BatchError(
        f"the {engine} run failed: a task raised {kind} (the workers' log has its traceback)"
    )
