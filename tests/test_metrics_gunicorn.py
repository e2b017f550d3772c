"""Prometheus under a real gunicorn of two workers: /metrics adds every worker's counts up,
keeps a killed worker's, and starts from an emptied directory."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from test_serve_end_to_end import DEPLOYML, clean_env, example_rows, free_port, post, running

REQUESTS = 24
SCRAPES = 12


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
        # Concurrent clients, each request on its own connection, so both workers answer.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: post(base, {"instances": rows}), range(REQUESTS)))
        assert {status for status, _, _ in answers} == {200}
        busy = {pid: count for pid, count in workers(directory).items() if count}
        assert len(busy) == 2 and sum(busy.values()) == REQUESTS, busy
        for _ in range(SCRAPES):
            samples = scrape(base)
            assert predicted(samples) == REQUESTS
            assert scored(samples) == REQUESTS * len(rows)
            assert samples[("deployml_workers", ())] == 2
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
        assert predicted(samples) == REQUESTS
        assert scored(samples) == REQUESTS * len(rows)
        assert samples[("deployml_workers", ())] == 2
