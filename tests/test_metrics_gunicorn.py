"""Prometheus under a real gunicorn of two workers: /metrics adds every worker's counts up,
keeps a killed worker's, and starts from an emptied directory."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import make_patients
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from test_metrics_drift import rows_of
from test_serve_end_to_end import (
    CONTAINER_COMMAND,
    DEPLOYML,
    clean_env,
    example_rows,
    free_port,
    post,
    running,
)

from server.metrics.observer import FLUSH_SECONDS

REQUESTS = 24
SCRAPES = 12
SHIFTED = 1000
DISTINCTIVE = "QZX-PATIENT-VALUE-9917"


def scrape(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one /metrics answer, keyed by name and sorted labels."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def predicted(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    key = (
        "deployml_requests_total",
        (("endpoint", "/predict"), ("method", "POST"), ("status", "200")),
    )
    return samples.get(key, 0.0)


def scored(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return samples.get(("deployml_rows_total", (("outcome", "scored"),)), 0.0)


def settled(base: str, rows: float) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A scrape once every worker has counted its waiting rows (within FLUSH_SECONDS)."""
    deadline = time.monotonic() + 10 * FLUSH_SECONDS
    while True:
        samples = scrape(base)
        if scored(samples) >= rows or time.monotonic() > deadline:
            return samples
        time.sleep(0.1)


def workers_up(base: str, workers: int) -> None:
    """Wait until every worker has started (gunicorn answers once the first one has)."""
    deadline = time.monotonic() + 30
    while scrape(base).get(("deployml_workers", ()), 0) < workers:
        assert time.monotonic() < deadline, f"fewer than {workers} workers started"
        time.sleep(0.1)


def drifted(base: str, rows: int) -> dict[str, Any]:
    """/drift once every worker has handed on its live bin counts (within FLUSH_SECONDS)."""
    deadline = time.monotonic() + 10 * FLUSH_SECONDS
    while True:
        status, report, _ = post(base, None, path="/drift")
        assert status == 200
        if report["features"]["age"]["live_rows"] >= rows or time.monotonic() > deadline:
            assert report["features"]["age"]["live_rows"] == rows
            return dict(report)
        time.sleep(0.1)


def workers(directory: Path) -> dict[int, float]:
    """Each process's /predict answers, read from its own counter file."""
    found = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for metric in MultiProcessCollector.merge([str(path)])
            for s in metric.samples
        }
        found[pid] = predicted(samples)
    return found


def answered_by_worker(directory: Path, requests: int) -> dict[int, float]:
    """Each busy worker's /predict answers once every worker has counted its own (each
    flushes its waiting requests within FLUSH_SECONDS)."""
    deadline = time.monotonic() + 10 * FLUSH_SECONDS
    while True:
        busy = {pid: count for pid, count in workers(directory).items() if count}
        if sum(busy.values()) >= requests or time.monotonic() > deadline:
            return busy
        time.sleep(0.1)


def test_two_workers_are_summed_a_killed_workers_counts_stay_and_stale_files_go(
    pipeline_artefact: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    stale = directory / "counter_999999.db"
    stale.write_bytes(b"left by a previous run")
    port = free_port()
    env = clean_env(DEPLOYML_METRICS_DIR=str(directory))
    command = [*DEPLOYML, "serve", str(pipeline_artefact), "--port", str(port), "--workers", "2"]
    rows = example_rows(pipeline_artefact)
    with running(command, port, tmp_path / "serve.log", env) as base:
        assert not stale.exists()
        workers_up(base, 2)
        # Concurrent clients, each request on its own connection, so both workers answer.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: post(base, {"instances": rows}), range(REQUESTS)))
        assert {status for status, _, _ in answers} == {200}
        busy = answered_by_worker(directory, REQUESTS)
        assert len(busy) == 2 and sum(busy.values()) == REQUESTS, busy
        settled(base, REQUESTS * len(rows))
        for _ in range(SCRAPES):
            samples = scrape(base)
            assert predicted(samples) == REQUESTS
            assert scored(samples) == REQUESTS * len(rows)
            assert samples[("deployml_workers", ())] == 2
        # Shifted ages and a ward never seen, spread over both workers: /drift adds them up.
        live, _ = make_patients(SHIFTED, seed=21)
        live["age"] = live["age"].clip(upper=94) // 2 + 47
        live["ward"] = [DISTINCTIVE if i % 10 == 0 else w for i, w in enumerate(live["ward"])]
        batches = [rows_of(live.iloc[i : i + 50]) for i in range(0, SHIFTED, 50)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda b: post(base, {"instances": b}), batches))
        assert {status for status, _, _ in answers} == {200}
        total = REQUESTS * len(rows) + SHIFTED
        drift = drifted(base, total)
        assert drift["features"]["age"]["status"] == "major"
        assert all(drift["features"][name]["psi"] < 0.1 for name in ("sex", "smoker"))
        ward = {b["bin"]: b["live"] for b in drift["features"]["ward"]["bins"]}
        assert ward["other"] == pytest.approx(0.1, abs=0.02)
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
            assert DISTINCTIVE not in response.read().decode()
        victim = max(busy, key=lambda pid: busy[pid])
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (directory / f"gauge_livesum_{victim}.db").exists() or len(
            list(directory.glob("gauge_livesum_*.db"))
        ) < 3:  # the master's (0) and two workers'
            assert time.monotonic() < deadline, "the killed worker was not replaced"
            time.sleep(0.2)
        samples = scrape(base)
        assert (directory / f"counter_{victim}.db").exists()
        assert predicted(samples) == REQUESTS + len(batches)
        assert scored(samples) == total
        assert samples[("deployml_workers", ())] == 2
        assert drifted(base, total)["features"]["age"]["live_rows"] == total


def test_the_container_command_counts_every_worker_in_a_fresh_private_directory(
    regressor_artefact: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = clean_env(
        DEPLOYML_ARTEFACT=str(regressor_artefact), DEPLOYML_PORT=str(port), DEPLOYML_WORKERS="2"
    )
    rows = example_rows(regressor_artefact)
    with running(list(CONTAINER_COMMAND), port, tmp_path / "gunicorn.log", env) as base:
        workers_up(base, 2)
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: post(base, {"instances": rows}), range(REQUESTS)))
        assert {status for status, _, _ in answers} == {200}
        settled(base, REQUESTS * len(rows))
        for _ in range(4):
            samples = scrape(base)
            assert samples[("deployml_workers", ())] == 2
            assert scored(samples) == REQUESTS * len(rows)
            # Set once in the master before the fork, seen through every worker's scrape.
            info = [v for (name, _), v in samples.items() if name == "deployml_model_info"]
            assert info == [1]
            shares = [
                v
                for (name, labels), v in samples.items()
                if name == "deployml_feature_bin_expected_ratio" and ("feature", "bmi") in labels
            ]
            assert len(shares) > 2 and sum(shares) == pytest.approx(1.0)


def test_metrics_off_under_gunicorn_answers_404_and_counts_nothing(
    regressor_artefact: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = clean_env(DEPLOYML_METRICS="false")
    command = [*DEPLOYML, "serve", str(regressor_artefact), "--port", str(port)]
    with running(command, port, tmp_path / "serve.log", env) as base:
        assert post(base, example_rows(regressor_artefact)[0])[0] == 200
        assert post(base, None, path="/metrics")[0] == 404
        assert post(base, None, path="/drift")[0] == 404
