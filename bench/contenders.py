"""Every server bench/peers.py measures: how each starts, which bodies it takes, how it answers.

A contender is one server with 2 workers on 127.0.0.1: deployml, the minimal Flask app (with
and without ``OMP_NUM_THREADS=1``), the hello-world floor (deployml's worker settings, and
sync workers), and the peers users would pick instead (bench/peer_servers.py). Each gets the
same rows in its own natural body; ``decode`` takes the predictions out of its answer so the
bench can check them against the model's own before measuring it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import artefacts
import models

HERE = Path(__file__).resolve().parent
DEPLOYML, MINIMAL, FLOOR, PEER = "deployml", "minimal", "floor", "peer"
# deployml serving the same model compiled with --compile onnx (its own role: not a peer).
COMPILED = "deployml-onnx"
# --compile onnx's proof: within 1e-5 of scikit-learn, relative above one (packager.compile).
COMPILE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Request:
    """Where a body is POSTed, and the body file."""

    path: str
    body: Path


@dataclass
class Contender:
    """One server: its command (for a port), environment, bodies and answer decoder."""

    name: str
    role: str  # DEPLOYML, MINIMAL, FLOOR or PEER
    argv_for: Callable[[int], list[str]]
    env: dict[str, str]
    one_row: Request
    # The 10,000-row bodies it takes, by label ("instances", "columnar", "natural").
    batches: dict[str, Request] = field(default_factory=dict)
    decode: Callable[[Any], Any] | None = None  # JSON answer -> predictions; None: no check
    cwd: Path | None = None
    describe: str = ""
    # How close a number must be to the model's own (a compiled model answers within the
    # tolerance its compile proof recorded, not to the last bit).
    tolerance: tuple[float, float] = (1e-9, 1e-12)  # (relative, absolute)


@dataclass(frozen=True)
class Workspace:
    """One reference model's files for every contender: the model, its rows, bodies."""

    ref: models.Reference
    directory: Path
    joblib_path: Path
    pickle_path: Path
    rows_csv: Path

    def body(self, shape: str, rows: str) -> Path:
        """The body of ``shape`` for the single row (``rows="one"``) or the 10,000 rows."""
        path = self.directory / "bodies" / f"{shape}-{rows}.json"
        if not path.exists():
            frame = self.ref.one_row() if rows == "one" else self.ref.batch()
            models.write_body(shape, frame, path)
        return path


def workspace(ref: models.Reference, directory: Path) -> Workspace:
    """Write the model (joblib for the peers, pickle for the minimal app) and its rows."""
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    rows_csv = directory / "train_rows.csv"
    ref.x_train.head(50).to_csv(rows_csv, index=False)
    joblib_path = directory / "model.joblib"
    joblib.dump(ref.estimator, joblib_path)
    pickle_path = models.write_pickle(ref, directory / "model.pkl")
    return Workspace(ref, directory, joblib_path, pickle_path, rows_csv)


def gunicorn_argv(app: str, port: int, *options: str) -> list[str]:
    """This Python's gunicorn, 2 workers, serving ``app`` from bench/ on 127.0.0.1:``port``."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        *options,
        "--chdir",
        str(HERE),
        "--bind",
        f"127.0.0.1:{port}",
        app,
    ]


def minimal_argv(pickle_path: Path, port: int) -> list[str]:
    """The minimal Flask app as a hand-written deployment serves it (sync workers)."""
    return gunicorn_argv(f"minimal_app:create_app({str(pickle_path)!r})", port)


def deployml_worker_options() -> list[str]:
    """gunicorn options for deployml's default worker settings (gthread, threads, keep-alive)."""
    from server.gunicorn_app import KEEPALIVE_SECONDS
    from server.settings import Settings

    threads = str(Settings.worker_threads)
    return [
        "--worker-class",
        "gthread",
        "--threads",
        threads,
        "--keep-alive",
        str(KEEPALIVE_SECONDS),
    ]


def predictions(answer: Any) -> Any:
    """The ``predictions`` of a deployml, minimal-app or MLflow answer."""
    return answer["predictions"]


def ours(space: Workspace, artefact: Path) -> list[Contender]:
    """deployml, the minimal app with and without OMP_NUM_THREADS=1, and the two floors."""
    one = Request("/predict", space.body("instances", "one"))
    instances = Request("/predict", space.body("instances", "batch"))
    columnar = Request("/predict", space.body("columnar", "batch"))
    plain = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    pickle_path = space.pickle_path
    return [
        Contender(
            DEPLOYML,
            DEPLOYML,
            lambda port: artefacts.serve_argv(artefact, port),
            artefacts.env(),
            one,
            {"instances": instances, "columnar": columnar},
            predictions,
            describe="deployml serve ARTEFACT --workers 2",
        ),
        Contender(
            "minimal",
            MINIMAL,
            lambda port: minimal_argv(pickle_path, port),
            plain,
            one,
            {"instances": instances},
            predictions,
            describe="bench/minimal_app.py, gunicorn --workers 2 (sync)",
        ),
        Contender(
            "minimal-omp1",
            MINIMAL,
            lambda port: minimal_argv(pickle_path, port),
            {**plain, "OMP_NUM_THREADS": "1"},
            one,
            {"instances": instances},
            predictions,
            describe="the same with OMP_NUM_THREADS=1",
        ),
        Contender(
            "floor-gthread",
            FLOOR,
            lambda port: gunicorn_argv("floor_app:app", port, *deployml_worker_options()),
            plain,
            one,
            describe="bench/floor_app.py, gunicorn --workers 2 with deployml's worker settings",
        ),
        Contender(
            "floor-sync",
            FLOOR,
            lambda port: gunicorn_argv("floor_app:app", port),
            plain,
            one,
            describe="bench/floor_app.py, gunicorn --workers 2 (sync)",
        ),
    ]


def compiled(space: Workspace, artefact: Path) -> Contender:
    """deployml serving the artefact packaged with ``--compile onnx``."""
    return Contender(
        COMPILED,
        COMPILED,
        lambda port: artefacts.serve_argv(artefact, port),
        artefacts.env(),
        Request("/predict", space.body("instances", "one")),
        {"instances": Request("/predict", space.body("instances", "batch"))},
        predictions,
        describe="deployml serve ARTEFACT --workers 2, the artefact packaged with --compile onnx",
        tolerance=(COMPILE_TOLERANCE, COMPILE_TOLERANCE),
    )


def check(contender: Contender, answer: bytes, expected: Any) -> str | None:
    """None if ``answer`` carries ``expected`` predictions (or, for a floor, any JSON)."""
    import numpy as np

    try:
        decoded = json.loads(answer)
    except ValueError:
        return "the answer is not JSON"
    if contender.decode is None:
        return None
    try:
        got = np.asarray(contender.decode(decoded)).ravel()
    except (KeyError, IndexError, TypeError) as error:
        return f"no predictions in the answer ({type(error).__name__}: {error})"
    want = np.asarray(expected).ravel()
    if got.shape != want.shape:
        return f"{got.size} predictions for {want.size} rows"
    if want.dtype.kind == "f":
        rtol, atol = contender.tolerance
        same = np.allclose(got.astype(float), want, rtol=rtol, atol=atol)
    else:
        same = bool((got.astype(want.dtype) == want).all())
    return None if same else "predictions differ from the model's own"
