"""Prometheus /metrics and /drift on the Flask test client (one process, the app's own
registry): what is counted, with which labels, and that metrics can be turned off."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from test_serve_end_to_end import example_rows, free_port

from packager.errors import ConfigError
from server import Settings
from server.http import EXTENSION
from server.metrics import Metrics, process, use_directory
from server.metrics.drift import live_counts

DISTINCTIVE = "QZX-PATIENT-VALUE-9917"


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and sorted labels."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], metric: str, **labels: str) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def test_predict_is_counted_by_route_method_status_rows_labels_and_score(
    client: Callable[..., FlaskClient], pipeline_artefact: Path
) -> None:
    app = client(pipeline_artefact)
    rows = example_rows(pipeline_artefact)
    for _ in range(3):
        assert app.post("/predict", json={"instances": rows}).status_code == 200
    assert app.post("/predict", json={"instances": [{"age": "x"}]}).status_code == 422
    assert app.get("/nowhere/at/all").status_code == 404
    samples = scrape(app)
    total = "deployml_requests_total"
    assert value(samples, total, endpoint="/predict", method="POST", status="200") == 3
    assert value(samples, total, endpoint="/predict", method="POST", status="422") == 1
    assert value(samples, total, endpoint="unmatched", method="GET", status="404") == 1
    assert value(samples, "deployml_rows_total", outcome="scored") == 3 * len(rows)
    assert value(samples, "deployml_rows_total", outcome="refused") == 1
    predicted = sum(value(samples, "deployml_predictions_total", label=x) for x in ("no", "yes"))
    assert predicted == 3 * len(rows)
    assert value(samples, "deployml_prediction_score_count") == 3 * len(rows)
    assert value(samples, "deployml_request_duration_seconds_count", endpoint="/predict") == 4
    model = app.application.extensions[EXTENSION].model
    assert value(samples, "deployml_model_info", **model) == 1


def test_warnings_are_counted_by_feature_and_kind_and_no_request_value_appears(
    client: Callable[..., FlaskClient], pipeline_artefact: Path
) -> None:
    app = client(pipeline_artefact)
    row = {**example_rows(pipeline_artefact)[0], "ward": DISTINCTIVE, "age": 1000}
    response = app.post("/predict", json={"instances": [row]})
    assert response.status_code == 200, response.get_json()
    text = app.get("/metrics").get_data(as_text=True)
    assert DISTINCTIVE not in text
    samples = scrape(app)
    # The number sent is in no label (a sample's value, such as a _created time, may hold
    # its digits).
    assert all("1000" not in v for _, labels in samples for _, v in labels)
    warned = "deployml_input_warnings_total"
    assert value(samples, warned, feature="ward", kind="unseen_category") == 1
    assert value(samples, warned, feature="age", kind="above_range") == 1


def test_metrics_off_answers_404_for_metrics_and_drift(
    client: Callable[..., FlaskClient], pipeline_artefact: Path
) -> None:
    app = client(pipeline_artefact, metrics=False)
    assert app.post("/predict", json=example_rows(pipeline_artefact)[0]).status_code == 200
    assert app.get("/metrics").status_code == 404
    assert app.get("/drift").status_code == 404


@pytest.mark.parametrize("fixture", ["regressor_artefact", "multiclass_artefact"])
def test_regressors_and_multiclass_models_are_counted_too(
    client: Callable[..., FlaskClient], fixture: str, request: pytest.FixtureRequest
) -> None:
    artefact: Path = request.getfixturevalue(fixture)
    app = client(artefact)
    rows = example_rows(artefact)
    assert app.post("/predict", json={"instances": rows}).status_code == 200
    samples = scrape(app)
    assert value(samples, "deployml_rows_total", outcome="scored") == len(rows)
    scored = value(samples, "deployml_prediction_score_count")
    assert scored == (0 if fixture == "regressor_artefact" else len(rows))


def test_a_serve_that_fails_to_load_its_model_leaves_metrics_in_process(
    runner: Callable[..., Any], binary_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    port = free_port()
    result = runner("serve", binary_artefact, "--port", port, "--profile", "no-such-profile")
    assert result.exit_code == 1 and "no-such-profile" in result.output
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    app = client(binary_artefact)
    assert app.post("/predict", json=example_rows(binary_artefact)[0]).status_code == 200
    assert value(scrape(app), "deployml_rows_total", outcome="scored") == 1


def test_a_metrics_directory_that_cannot_be_written_stops_start_up_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(process.tempfile, "TemporaryFile", read_only)
    with pytest.raises(ConfigError) as caught:
        use_directory(Settings(metrics_dir=tmp_path))
    assert caught.value.variable == "DEPLOYML_METRICS_DIR"
    assert f"cannot write in {tmp_path} (Read-only file system)" in caught.value.message
    assert process.ENVIRONMENT not in os.environ


def test_no_writable_place_for_a_private_metrics_directory_stops_start_up_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "_SHARED_MEMORY", tmp_path / "no-shm")
    monkeypatch.setattr(process.tempfile, "tempdir", str(tmp_path / "no-tmp"))
    with pytest.raises(ConfigError) as caught:
        use_directory(Settings())
    assert caught.value.variable == "DEPLOYML_METRICS_DIR"
    assert "no private directory can be made" in caught.value.message
    assert "DEPLOYML_METRICS=false" in caught.value.message
    assert process.ENVIRONMENT not in os.environ


def test_a_flush_returns_only_once_the_flushing_threads_batches_are_counted(
    client: Callable[..., FlaskClient], pipeline_artefact: Path
) -> None:
    # A stopping worker's last flush (gunicorn's worker_exit) must not return while the
    # flushing thread is still counting the batches it took: the process exits after it.
    app = client(pipeline_artefact)
    assert app.post("/predict", json=example_rows(pipeline_artefact)[0]).status_code == 200
    metrics: Metrics = app.application.extensions[EXTENSION].metrics
    count, taken = metrics.bins.count, threading.Event()

    def slow_count(batches: Any) -> None:
        taken.set()
        time.sleep(0.3)
        count(batches)

    metrics.bins.count = slow_count  # type: ignore[method-assign]
    thread = threading.Thread(target=metrics.flush)
    thread.start()
    assert taken.wait(5)
    metrics.flush()
    assert sum(live_counts(metrics.registry)["age"].values()) == 1
    thread.join()


def test_an_answer_the_audit_trail_refuses_is_counted_with_its_503_and_its_rows_refused(
    client: Callable[..., FlaskClient], pipeline_artefact: Path
) -> None:
    # The audit trail fails closed after the rows were scored: the client gets a 503, and so
    # must /metrics (the share of 5xx answers is what shows the outage).
    app = client(pipeline_artefact, audit_log=Path("/dev/full"), audit_key="k" * 32)
    rows = example_rows(pipeline_artefact)
    assert app.post("/predict", json={"instances": rows}).status_code == 503
    body = {"dataframe_records": rows}
    assert app.post("/invocations", json=body).status_code == 503
    samples = scrape(app)
    total = "deployml_requests_total"
    for endpoint in ("/predict", "/invocations"):
        assert value(samples, total, endpoint=endpoint, method="POST", status="503") == 1
        assert value(samples, total, endpoint=endpoint, method="POST", status="200") == 0
    assert value(samples, "deployml_rows_total", outcome="scored") == 0
    assert value(samples, "deployml_rows_total", outcome="refused") == 2 * len(rows)
    assert value(samples, "deployml_prediction_score_count") == 0
