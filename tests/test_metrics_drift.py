"""GET /drift: the population stability index of live rows against the training bins."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import make_patients
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from test_serve_end_to_end import example_rows

from packager import read_manifest
from server.metrics import MIN_LIVE_ROWS
from server.metrics.observer import SMALL_BATCH

FORMAT_4_0 = Path(__file__).parent / "data" / "artefact-format-4.0"


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON rows, with null for missing values."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def test_rows_from_a_shifted_distribution_show_a_major_psi_for_the_shifted_feature_only(
    client: Callable[..., FlaskClient], pipeline_artefact: Path
) -> None:
    app = client(pipeline_artefact)
    live, _ = make_patients(2000, seed=21)
    live["age"] = live["age"].clip(upper=94) // 2 + 47  # the old half of the ages only
    for start in range(0, len(live), 500):
        body = {"instances": rows_of(live.iloc[start : start + 500])}
        assert app.post("/predict", json=body).status_code == 200
    response = app.get("/drift")
    assert response.status_code == 200
    report = response.get_json()
    features = report["features"]
    assert report["recorded"] is True and report["model"]["name"]
    assert features["age"]["status"] == "major" and features["age"]["psi"] > 0.25
    for name in ("bmi", "sex", "ward", "smoker"):
        assert features[name]["psi"] < 0.1 and features[name]["status"] == "stable", name
    age = features["age"]
    assert age["live_rows"] == 2000 and age["training_rows"] == 220
    assert sum(b["live"] for b in age["bins"]) == pytest.approx(1.0, abs=1e-5)
    assert sum(b["training"] for b in age["bins"]) == pytest.approx(1.0, abs=1e-5)
    missing = features["ward"]["bins"][-1]
    assert missing["bin"] == "missing" and missing["live"] > 0 and missing["training"] > 0


def test_the_live_bins_reach_metrics_with_their_training_shares(
    client: Callable[..., FlaskClient], pipeline_artefact: Path
) -> None:
    app = client(pipeline_artefact)
    live, _ = make_patients(50, seed=5)
    assert app.post("/predict", json={"instances": rows_of(live)}).status_code == 200
    text = app.get("/metrics").get_data(as_text=True)
    sex = [line for line in text.splitlines() if line.startswith("deployml_feature_bin_total{")]
    counted = sum(float(line.split()[-1]) for line in sex if 'feature="sex"' in line)
    assert counted == 50
    assert 'deployml_feature_bin_expected_ratio{bin="F",feature="sex"}' in text


def test_the_exposed_series_give_drifts_psi_as_the_documented_promql_computes_it(
    client: Callable[..., FlaskClient], pipeline_artefact: Path
) -> None:
    # docs/http-api.md's PromQL: each bin's live and training counts smoothed by 0.5, the
    # training counts from the training shares times the training rows. An unseen ward puts
    # live rows in "other", empty in training, where an unsmoothed index would be far off.
    app = client(pipeline_artefact)
    live, _ = make_patients(300, seed=9)
    live["ward"] = ["zz" if i % 8 == 0 else w for i, w in enumerate(live["ward"])]
    assert app.post("/predict", json={"instances": rows_of(live)}).status_code == 200
    series: dict[str, dict[tuple[str, ...], float]] = {}
    for family in text_string_to_metric_families(app.get("/metrics").get_data(as_text=True)):
        for sample in family.samples:
            labels = (sample.labels.get("feature", ""), sample.labels.get("bin", ""))
            series.setdefault(sample.name, {})[labels] = sample.value
    counts = series["deployml_feature_bin_total"]
    shares = series["deployml_feature_bin_expected_ratio"]
    training_rows = series["deployml_feature_training_rows"]
    report = app.get("/drift").get_json()["features"]
    for feature, answer in report.items():
        bins = [label for name, label in shares if name == feature]
        rows, smoothing = training_rows[(feature, "")], 0.5 * len(bins)
        seen = sum(counts[(feature, label)] for label in bins)
        psi = 0.0
        for label in bins:
            a = (counts[(feature, label)] + 0.5) / (seen + smoothing)
            e = (shares[(feature, label)] * rows + 0.5) / (rows + smoothing)
            psi += (a - e) * math.log(a / e)
        assert psi == pytest.approx(answer["psi"], abs=1e-6), feature
    assert report["ward"]["bins"][-2]["bin"] == "other" and report["ward"]["psi"] > 0.1


def test_below_the_minimum_of_live_rows_the_status_says_too_few_rows(
    client: Callable[..., FlaskClient], pipeline_artefact: Path
) -> None:
    app = client(pipeline_artefact)
    report = app.get("/drift").get_json()
    assert report["features"]["age"] == {**report["features"]["age"], "psi": None, "live_rows": 0}
    assert report["features"]["age"]["status"] == "too few rows"
    live, _ = make_patients(MIN_LIVE_ROWS - 1, seed=9)
    assert app.post("/predict", json={"instances": rows_of(live)}).status_code == 200
    age = app.get("/drift").get_json()["features"]["age"]
    assert age["live_rows"] == MIN_LIVE_ROWS - 1 and age["status"] == "too few rows"
    assert isinstance(age["psi"], float)


def test_an_artefact_packaged_before_drift_bins_answers_that_they_were_not_recorded(
    client: Callable[..., FlaskClient],
) -> None:
    response = client(FORMAT_4_0).get("/drift")
    assert response.status_code == 200
    report = response.get_json()
    assert report["recorded"] is False and report["features"] == {}
    assert "not recorded" in report["message"]


@pytest.mark.parametrize("fixture", ["binary_artefact", "pipeline_artefact"])
def test_one_row_requests_reach_the_bins_as_the_same_rows_sent_in_one_batch(
    client: Callable[..., FlaskClient], fixture: str, request: pytest.FixtureRequest
) -> None:
    artefact: Path = request.getfixturevalue(fixture)
    rows = example_rows(artefact) * 25
    one_by_one, batched = client(artefact), client(artefact)
    for row in rows:
        assert one_by_one.post("/predict", json={"instances": [row]}).status_code == 200
    assert batched.post("/predict", json={"instances": rows}).status_code == 200
    assert len(rows) > SMALL_BATCH  # the batch is counted at once, the single rows later
    assert bins(one_by_one) == bins(batched)
    assert sum(bins(batched).values()) == len(rows) * len(read_manifest(artefact)[0].drift)


def bins(app: FlaskClient) -> dict[str, float]:
    """The live bin counters of a /metrics answer."""
    text = app.get("/metrics").get_data(as_text=True)
    return {
        line.split()[0]: float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("deployml_feature_bin_total{")
    }
