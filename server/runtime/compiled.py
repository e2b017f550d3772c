"""Which engine scores: the compiled model (model.onnx) with onnxruntime, or scikit-learn.

An artefact packaged with ``--compile onnx`` is scored by onnxruntime when it is installed and
the compiled model, checked again at start-up on the stored rows, still answers as
scikit-learn does within the tolerance its manifest records (labels identical). Otherwise the
server scores with scikit-learn and says why, once, in its log and in ``/metadata``. The check
runs in the gunicorn master with a one-thread session; each worker makes its own session on
first use (capped at ``DEPLOYML_MODEL_THREADS``), never one made before the fork.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from packager.artefact import Artefact, Outputs
from packager.compile import EXTRA, OnnxModel, beyond, differences, onnxruntime_version
from server.logs import SERVER_LOGGER

__all__ = ["ONNXRUNTIME", "SCIKIT_LEARN", "Inference", "choose_inference"]

log = logging.getLogger(SERVER_LOGGER)
ONNXRUNTIME = "onnxruntime"
SCIKIT_LEARN = "scikit-learn"


@dataclass(frozen=True)
class Inference:
    """The engine that scores, the compiled model it runs (if any), and why not, if not."""

    engine: str = SCIKIT_LEARN
    model: OnnxModel | None = None
    reason: str | None = None

    def document(self, artefact: Artefact) -> dict[str, Any]:
        """``/metadata``'s ``inference``: the engine, the compile record, why not compiled."""
        record = artefact.manifest.compiled
        return {
            "engine": self.engine,
            "compiled": None if record is None else asdict(record),
            "reason": self.reason,
        }


def choose_inference(
    artefact: Artefact,
    labels: list[Any] | None,
    threads: int,
    stored: Mapping[str, tuple[Any, Outputs]],
) -> Inference:
    """The compiled model if it answers ``stored`` (by file name: model input and
    scikit-learn's outputs) as scikit-learn did, within its recorded tolerance."""
    record = artefact.manifest.compiled
    if record is None or artefact.compiled is None:
        return Inference()
    if onnxruntime_version() is None:
        return _sklearn(f"onnxruntime is not installed ({EXTRA})", logging.WARNING)
    names = artefact.manifest.input.names
    make: Callable[[int], OnnxModel] = lambda n: OnnxModel(  # noqa: E731
        artefact.compiled or b"", record.inputs, names, labels, threads=n
    )
    checking = make(1)
    task = "regression" if labels is None else "classification"
    for name, (X, expected) in stored.items():
        try:
            got = checking.outputs(X)
        except Exception as error:  # any failure to load or score: scikit-learn serves
            return _sklearn(f"the compiled model cannot score {name} ({type(error).__name__})")
        problem = beyond(differences(expected, got, task), record.tolerance, len(got.predictions))
        if problem is not None:
            output, size = problem
            return _sklearn(
                f"the compiled model does not answer {name} as scikit-learn does: {output} "
                f"{size} (tolerance {record.tolerance:g})"
            )
    log.info("scoring with onnxruntime: %s answers the stored rows as scikit-learn", record.path)
    return Inference(engine=ONNXRUNTIME, model=make(threads))


def _sklearn(reason: str, level: int = logging.ERROR) -> Inference:
    log.log(level, "scoring with scikit-learn, not the compiled model: %s", reason)
    return Inference(reason=reason)
