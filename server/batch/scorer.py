"""The Scorer: one artefact scoring tables as the server scores requests, in any process.

A Scorer is made where a run starts, from the same settings the server reads: it reads the
artefact's manifest at once (a missing or broken artefact is refused before any work) and
pins its hash, so every copy of the Scorer, in every worker process of every engine, loads
that artefact and no other. Pickling it carries the settings and names only; the model is
loaded the first time a process scores, the way the server loads it (hashes checked, a
pickle only when allowed, versions compared, the self-test run), then kept for the life of
the process. Each :meth:`Scorer.score` validates with the server's validator, scores with
the server's runtime (:func:`server.runtime.score`: one place decides what a valid row is
and what it is given), and keeps every row: a refused row comes back with its problems.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from packager.artefact import read_manifest
from packager.errors import ArtefactHashError
from server.audit import AuditLog, AuditRequest, open_audit_log, rows_of
from server.batch.errors import MissingColumnsError, ModelNotReadyError
from server.batch.frames import feature_payload, output_dtypes, output_frame
from server.runtime import Runtime, Scored, keyed, load_runtime, score
from server.settings import Settings
from server.validation import SKIP, Payload

__all__ = ["AUDIT_ENDPOINT", "Scorer"]

# What a batch run's audit lines give as their endpoint and method.
AUDIT_ENDPOINT, AUDIT_METHOD = "deployml score", "BATCH"

# One loaded runtime (its output dtypes, and the audit log) per settings per process, shared
# by every copy of a Scorer there: Dask and Spark unpickle a copy per task.
_LOADED: dict[Settings, tuple[Runtime, dict[str, str], AuditLog | None]] = {}
_LOADING = threading.Lock()


class Scorer:
    """Scores tables with one artefact; cheap to pickle (the model loads once per process)."""

    def __init__(
        self,
        settings: Settings,
        *,
        id_columns: Sequence[str] = (),
        cells_are_text: bool = False,
        run_id: str = "",
    ) -> None:
        path = settings.require_artefact()
        manifest, sha256 = read_manifest(path)
        if settings.expected_sha256 is not None and settings.expected_sha256 != sha256:
            raise ArtefactHashError(found=sha256, expected=settings.expected_sha256)
        self.settings = replace(settings, expected_sha256=sha256)
        self.sha256 = sha256
        self.model = {
            "name": manifest.model.name,
            "version": manifest.model.version,
            "sha256": sha256,
        }
        self.features = list(manifest.input.features)
        self.feature_names = [f.name for f in self.features]
        self.id_columns = list(id_columns)
        self.cells_are_text = cells_are_text
        self.run_id = run_id or uuid.uuid4().hex

    def at(self, artefact: Path) -> Scorer:
        """This scorer reading a copy of its artefact at ``artefact`` (shipped to a worker);
        the pinned hash refuses a copy that differs."""
        return self._with(replace(self.settings, artefact=Path(artefact)))

    def sharing_cores(self, processes: int) -> Scorer:
        """This scorer in one of ``processes`` scoring processes on a machine: the model's
        OpenMP and BLAS threads are its cores shared out (``DEPLOYML_MODEL_THREADS``, when
        set, wins), as each gunicorn worker's are."""
        if self.settings.model_threads is not None:
            return self
        return self._with(replace(self.settings, workers=max(1, processes)))

    def _with(self, settings: Settings) -> Scorer:
        changed = object.__new__(Scorer)
        changed.__dict__.update(self.__dict__)
        changed.settings = settings
        return changed

    @property
    def runtime(self) -> Runtime:
        """The loaded, self-tested model of this process (loaded on first use)."""
        return self._loaded()[0]

    @property
    def output_dtypes(self) -> dict[str, str]:
        """The columns :meth:`score` adds after the id columns, with their pandas dtypes."""
        return dict(self._loaded()[1])

    def _loaded(self) -> tuple[Runtime, dict[str, str], AuditLog | None]:
        with _LOADING:
            found = _LOADED.get(self.settings)
            if found is None:
                runtime = load_runtime(self.settings)
                if runtime.not_ready is not None:
                    raise ModelNotReadyError(str(self.settings.artefact), runtime.not_ready)
                found = (runtime, output_dtypes(runtime), open_audit_log(self.settings))
                _LOADED[self.settings] = found
            return found

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The id columns as given, then the added columns: one row per row of ``frame``."""
        missing = [name for name in self.feature_names if name not in frame.columns]
        if missing:
            raise MissingColumnsError("the table", missing)
        absent = [name for name in self.id_columns if name not in frame.columns]
        if absent:
            raise MissingColumnsError("the table", absent, "id")
        runtime, dtypes, audit = self._loaded()
        ids = frame[self.id_columns]
        if not len(frame):
            empty = pd.DataFrame(
                {name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()},
                index=frame.index,
            )
            return pd.concat([ids, empty], axis=1)
        started = time.perf_counter()
        payload = feature_payload(frame, self.features, cells_are_text=self.cells_are_text)
        scored = score(runtime, payload, SKIP, every=True)
        added = output_frame(scored, runtime, dtypes, frame.index)
        if audit is not None:
            audit.write(self._audited(runtime, payload, scored, started), self.model)
        return pd.concat([ids, added], axis=1)

    def _audited(
        self, runtime: Runtime, payload: Payload, scored: Scored, started: float
    ) -> AuditRequest:
        """The audit line of one scored table: as /predict's, the rows as keyed hashes."""
        outputs = scored.outputs
        probabilities = None
        if runtime.labels is not None and outputs.probabilities is not None:
            probabilities = scored.per_row(keyed(runtime.labels, outputs.probabilities))
        profile = scored.profile
        return AuditRequest(
            request_id=f"{self.run_id}/{uuid.uuid4().hex[:12]}",
            endpoint=AUDIT_ENDPOINT,
            method=AUDIT_METHOD,
            status=200,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            rows=rows_of(
                None, payload.columns, map(list, zip(*payload.by_column or (), strict=True))
            ),
            predictions=scored.per_row(outputs.predictions),
            probabilities=probabilities,
            warnings=scored.batch.warnings,
            profile=None if profile is None else profile.name,
            threshold=None if profile is None else profile.threshold,
            decisions=None if scored.decisions is None else scored.per_row(scored.decisions),
            imputed=scored.per_row(scored.batch.imputed, []),
            refused_rows=scored.batch.refused_rows,
        )


def _rows(by_column: list[list[Any]]) -> Iterator[list[Any]]:
    """A table's rows as lists (for the audit line's hashes, as a columnar body's rows)."""
    return map(list, zip(*by_column, strict=True))
