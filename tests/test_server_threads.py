"""Model threads are capped in every thread that predicts (OpenMP's setting is per thread)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from threadpoolctl import threadpool_info

from server import Settings, create_app


def openmp_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"]


@pytest.mark.parametrize("limit", [1, 2])
def test_predicting_thread_gets_the_configured_model_thread_limit(
    binary_artefact: Path, limit: int
) -> None:
    if not openmp_threads():
        pytest.skip("no OpenMP runtime loaded")
    client = create_app(Settings(artefact=binary_artefact, model_threads=limit)).test_client()
    row = json.loads((binary_artefact / "examples.json").read_text())["inputs"][0]
    seen: dict[str, Any] = {}

    def serve_one() -> None:
        seen["status"] = client.post("/predict", json=row).status_code
        seen["threads"] = openmp_threads()

    worker = threading.Thread(target=serve_one)
    worker.start()
    worker.join(timeout=30)
    assert seen["status"] == 200
    assert set(seen["threads"]) == {limit}
