"""The peers: MLServer, BentoML, vetiver and MLflow, each from its own environment.

Each serves the same joblib file (fitted and written by this environment; setup pins the
same scikit-learn, numpy, scipy and joblib in every peer's) with 2 workers on 127.0.0.1,
and takes its natural body:

- MLServer 1.7 + mlserver-sklearn: ``mlserver start DIR`` with settings.json
  (``parallel_workers: 2``) and model-settings.json written here; V2 ``infer`` with one FP64
  tensor [rows, features].
- BentoML 1.4: ``bentoml serve`` of peer_apps/bentoml_service.py (``workers=2``);
  ``{"input_data": [[...], ...]}``.
- vetiver 0.2.6: peer_apps/vetiver_app.py (vetiver's FastAPI app) under ``uvicorn
  --workers 2``; a list of records, checked against the prototype.
- MLflow 3: ``mlflow models serve --workers 2`` of a model saved with
  ``mlflow.sklearn.save_model`` and a signature; ``dataframe_split``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peer_envs
import servers
from contenders import PEER, Contender, Request, Workspace, predictions

APPS = Path(__file__).resolve().parent / "peer_apps"
NAMES = ("mlserver", "bentoml", "vetiver", "mlflow")
# Keep the peers' usage reporting quiet (this machine may not reach the internet anyway).
_QUIET = {"BENTOML_DO_NOT_TRACK": "True", "DO_NOT_TRACK": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}


def _env(peer: str, **extra: str) -> dict[str, str]:
    """This environment without deployml's path, with ``peer``'s programs first on PATH."""
    plain = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OMP_NUM_THREADS")}
    # mlflow models serve starts `uvicorn` by name; it must be the peer's own.
    path = f"{peer_envs.bin_path(peer, '')}{os.pathsep}{plain.get('PATH', '')}"
    return {**plain, **_QUIET, "PATH": path, "VIRTUAL_ENV": str(peer_envs.VENVS / peer), **extra}


def mlserver(space: Workspace) -> Contender:
    """MLServer with its scikit-learn runtime and 2 parallel inference workers."""
    home = space.directory / "mlserver"
    model_dir = home / "bench"
    model_dir.mkdir(parents=True, exist_ok=True)
    name = f"bench-{space.ref.key}"
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": name,
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": str(space.joblib_path)},
            }
        )
    )

    def argv_for(port: int) -> list[str]:
        settings = {
            "host": "127.0.0.1",
            "http_port": port,
            "grpc_port": servers.free_port(),
            "metrics_port": servers.free_port(),
            "parallel_workers": 2,
        }
        (home / "settings.json").write_text(json.dumps(settings))
        return [str(peer_envs.bin_path("mlserver", "mlserver")), "start", str(home)]

    path = f"/v2/models/{name}/infer"
    return Contender(
        "mlserver",
        PEER,
        argv_for,
        _env("mlserver"),
        Request(path, space.body("tensor", "one")),
        {"natural": Request(path, space.body("tensor", "batch"))},
        lambda answer: answer["outputs"][0]["data"],
        cwd=home,  # MLServer keeps its metrics in ./.metrics
        describe="mlserver start (mlserver_sklearn.SKLearnModel), parallel_workers 2",
    )


def bentoml(space: Workspace) -> Contender:
    """BentoML serving peer_apps/bentoml_service.py with 2 workers."""

    def argv_for(port: int) -> list[str]:
        program = str(peer_envs.bin_path("bentoml", "bentoml"))
        target = "bentoml_service:BenchModel"
        return [program, "serve", target, "--host", "127.0.0.1", "--port", str(port)]

    return Contender(
        "bentoml",
        PEER,
        argv_for,
        _env(
            "bentoml",
            BENCH_MODEL=str(space.joblib_path),
            BENTOML_HOME=str(space.directory / "bentoml"),
        ),
        Request("/predict", space.body("input_data", "one")),
        {"natural": Request("/predict", space.body("input_data", "batch"))},
        lambda answer: answer,
        cwd=APPS,
        describe="bentoml serve of a service with workers=2 (peer_apps/bentoml_service.py)",
    )


def vetiver(space: Workspace) -> Contender:
    """vetiver's FastAPI app under uvicorn with 2 workers."""

    def argv_for(port: int) -> list[str]:
        python = str(peer_envs.bin_path("vetiver", "python"))
        return [
            *(python, "-m", "uvicorn", "vetiver_app:app", "--workers", "2"),
            *("--host", "127.0.0.1", "--port", str(port), "--app-dir", str(APPS)),
        ]

    return Contender(
        "vetiver",
        PEER,
        argv_for,
        _env("vetiver", BENCH_MODEL=str(space.joblib_path), BENCH_PROTOTYPE=str(space.rows_csv)),
        Request("/predict", space.body("records", "one")),
        {"natural": Request("/predict", space.body("records", "batch"))},
        lambda answer: answer["predict"],
        describe="vetiver VetiverAPI app, uvicorn --workers 2 (peer_apps/vetiver_app.py)",
    )


def mlflow(space: Workspace) -> Contender:
    """``mlflow models serve`` of the model saved as an MLflow model, 2 workers."""
    model_dir = space.directory / "mlflow-model"
    if not (model_dir / "MLmodel").exists():
        shutil.rmtree(model_dir, ignore_errors=True)  # what a failed save left
        python = str(peer_envs.bin_path("mlflow", "python"))
        argv = [python, str(APPS / "mlflow_save.py"), str(space.joblib_path)]
        argv += [str(space.rows_csv), str(model_dir)]
        done = subprocess.run(argv, capture_output=True, text=True, env=_env("mlflow"), check=False)
        if done.returncode != 0:
            raise servers.ServerError(f"saving the MLflow model failed: {done.stderr[-800:]}")

    def argv_for(port: int) -> list[str]:
        program = str(peer_envs.bin_path("mlflow", "mlflow"))
        return [
            *(program, "models", "serve", "-m", str(model_dir), "--env-manager", "local"),
            *("--workers", "2", "--host", "127.0.0.1", "--port", str(port)),
        ]

    return Contender(
        "mlflow",
        PEER,
        argv_for,
        _env("mlflow", MLFLOW_TRACKING_URI=(space.directory / "mlruns").as_uri()),
        Request("/invocations", space.body("dataframe_split", "one")),
        {"natural": Request("/invocations", space.body("dataframe_split", "batch"))},
        predictions,
        describe="mlflow models serve --workers 2 of mlflow.sklearn.save_model(...)",
    )


BUILDERS: dict[str, Callable[[Workspace], Contender]] = {
    "mlserver": mlserver,
    "bentoml": bentoml,
    "vetiver": vetiver,
    "mlflow": mlflow,
}


def versions(names: list[str]) -> dict[str, Any]:
    """What setup installed for each of ``names`` (or why it is missing)."""
    found: dict[str, Any] = {}
    for name in names:
        try:
            found[name] = peer_envs.installed(name)["versions"]
        except peer_envs.PeerMissing as error:
            found[name] = str(error)
    return found
