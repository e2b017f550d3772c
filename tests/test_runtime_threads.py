"""Model threads are capped in every thread that predicts (OpenMP's setting is per thread)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from threadpoolctl import threadpool_info


def openmp_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"]


@pytest.mark.parametrize("limit", [1, 2])
def test_predicting_thread_gets_the_configured_model_thread_limit(
    binary_artefact: Path, limit: int, client: Callable[..., FlaskClient]
) -> None:
    if not openmp_threads():
        pytest.skip("no OpenMP runtime loaded")
    api = client(binary_artefact, model_threads=limit)
    row = json.loads((binary_artefact / "self_test.json").read_text())["inputs"][0]
    seen: dict[str, Any] = {}

    def serve_one() -> None:
        seen["status"] = api.post("/predict", json=row).status_code
        seen["threads"] = openmp_threads()

    worker = threading.Thread(target=serve_one)
    worker.start()
    worker.join(timeout=30)
    assert seen["status"] == 200
    assert set(seen["threads"]) == {limit}
