"""The per-site flow of docs/clinical.md, end to end with the real command line and gunicorn.

A model is trained with a threshold profile chosen on its test data; a second hospital, whose
patients are sicker (a higher prevalence and a shifted case mix), gets its own profile from
its own labelled data with ``deployml threshold``, without retraining; the derived artefact
is served with ``DEPLOYML_PROFILE=site-b``, and every served decision must equal
``P(positive) >= threshold`` computed in this process with the same model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_http_profiles import positive_proba
from test_serve_end_to_end import DEPLOYML, clean_env, free_port, post, running

from packager import load_artefact, read_manifest

POSITIVE = "yes"


def hospital(n: int, seed: int, shift: float) -> pd.DataFrame:
    """Patients whose outcome rises with ``marker`` and ``age``; ``shift`` makes them sicker."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(20, 90, n).round() + 10 * shift
    marker = rng.normal(shift, 1.0, n).round(3)
    risk = 1.4 * marker + (age - 55) / 20 - 1.2 + shift + rng.logistic(size=n) * 0.8
    outcome = np.where(risk > 0, POSITIVE, "no")
    return pd.DataFrame({"age": age, "marker": marker, "outcome": outcome})


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sites")
    paths = {"a": folder / "site_a.csv", "b": folder / "site_b.csv"}
    hospital(1600, seed=1, shift=0.0).to_csv(paths["a"], index=False)
    hospital(900, seed=2, shift=0.8).to_csv(paths["b"], index=False)
    return paths


@pytest.fixture(scope="module")
def flow(sites: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from click.testing import CliRunner

    from deployml.cli import cli

    folder = tmp_path_factory.mktemp("flow")
    model, site_b = folder / "model", folder / "model-site-b"

    def run(*args: Any) -> str:
        result = CliRunner().invoke(cli, [str(a) for a in args], env={"DEPLOYML_ARTEFACT": ""})
        assert result.exit_code == 0, result.output
        return result.output

    run(
        "train", sites["a"], "--target", "outcome", "--model", "logistic-regression",
        "--positive-class", POSITIVE, "--threshold", "default:sensitivity>=0.9",
        "--no-plots", "-o", model,
    )  # fmt: skip
    run(
        "threshold", model, "--name", "site-b", "--data", sites["b"], "--target", "outcome",
        "--rule", "sensitivity>=0.9", "-o", site_b,
    )  # fmt: skip
    return {"model": model, "site_b": site_b}


def profiles(artefact: Path) -> dict[str, Any]:
    manifest, _ = read_manifest(artefact)
    return {p.name: p for p in manifest.profiles}


def test_a_site_with_higher_prevalence_gets_its_own_threshold_and_a_parent(
    flow: dict[str, Path], sites: dict[str, Path]
) -> None:
    original, derived = profiles(flow["model"]), profiles(flow["site_b"])
    default, site_b = derived["default"], derived["site-b"]
    assert default == original["default"]  # the original profile travels unchanged
    site_prevalence = float(np.mean(pd.read_csv(sites["b"])["outcome"] == POSITIVE))
    assert site_b.chosen_on.prevalence == pytest.approx(site_prevalence)
    assert site_prevalence > default.chosen_on.prevalence + 0.1  # sicker patients, truly
    assert site_b.threshold != default.threshold
    assert site_b.metrics["sensitivity"] >= 0.9
    manifest, _ = read_manifest(flow["site_b"])
    _, original_sha = read_manifest(flow["model"])
    assert manifest.parent is not None and manifest.parent.sha256 == original_sha
    assert (flow["site_b"] / "model.skops").read_bytes() == (
        flow["model"] / "model.skops"
    ).read_bytes()


def test_the_served_site_profile_decides_exactly_as_its_threshold_does_in_process(
    flow: dict[str, Path], sites: dict[str, Path], tmp_path: Path
) -> None:
    artefact = flow["site_b"]
    thresholds = {name: p.threshold for name, p in profiles(artefact).items()}
    # All of them: the site threshold is one of their scores, so ">" for ">=" would show.
    rows = pd.read_csv(sites["b"]).drop(columns="outcome").to_dict("records")
    proba = positive_proba(load_artefact(artefact).model, rows, POSITIVE)
    # Both profiles must disagree on some of these rows, or the test could not tell them apart.
    low, high = sorted(thresholds.values())
    assert np.any((proba >= low) & (proba < high))
    assert np.any(proba == thresholds["site-b"])
    port = free_port()
    command = [*DEPLOYML, "serve", str(artefact), "--port", str(port), "--workers", "1"]
    env = clean_env(DEPLOYML_PROFILE="site-b")
    with running(command, port, tmp_path / "serve.log", env) as base:
        for body, name in (
            ({"instances": rows}, "site-b"),
            ({"instances": rows, "profile": "default"}, "default"),
        ):
            status, answer, _ = post(base, body)
            assert status == 200, answer
            assert answer["profile"]["name"] == name
            assert answer["profile"]["threshold"] == thresholds[name]
            expected = [POSITIVE if p >= thresholds[name] else "no" for p in proba.tolist()]
            assert answer["decisions"] == expected
            served = [row[POSITIVE] for row in answer["probabilities"]]
            assert served == proba.tolist()
    log = (tmp_path / "serve.log").read_text()
    assert "profile site-b" in log
    # The row's value as a whole number token (a latency such as 10.887 may contain its digits).
    marker = re.escape(json.dumps(rows[0]["marker"]))
    assert re.search(rf"(?<![\d.]){marker}(?![\d])", log) is None


def test_an_unknown_profile_is_refused_naming_the_known_ones_without_echoing(
    flow: dict[str, Path], client: Callable[..., Any]
) -> None:
    api = client(flow["site_b"])
    row = {"age": 50, "marker": 0.1}
    response = api.post("/predict", json={"instances": [row], "profile": "site-zebra"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "site-b" in text and "default" in text and "zebra" not in text
