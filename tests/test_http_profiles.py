"""Threshold profiles over HTTP: which profile decides, its decisions, and its refusals;
the last tests start a real gunicorn, as ``deployml serve`` and the container do.

The profiled artefact is breast-cancer data with the positive class named ``0`` (malignant,
the first class, so a server that assumed the second class would decide the wrong way round).
Its profiles are written into the manifest by hand, as ``deployml threshold`` would: a
default, a stricter site's, and two on either side of one row's probability.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_serve_end_to_end import (
    CONTAINER_COMMAND,
    DEPLOYML,
    clean_env,
    free_port,
    post,
    run_failing,
    running,
)

from packager import ModelDetails, capture, load_artefact, package
from packager.artefact import DataRecord, ThresholdProfile
from packager.errors import ConfigError, ManifestError
from server import Settings, create_app

SECRET_TEXT = "ZQXJ-SECRET-7731"
POSITIVE = 0  # malignant
EDGE_ROW = 3  # the row whose probability the "edge" profiles sit on
ROWS = 20
RULES = {"screening": "sensitivity>=0.95", "site-b": "ppv>=0.95"}


@dataclasses.dataclass(frozen=True)
class Profiled:
    """The artefact, the rows posted to it, and what the model gives them in this process."""

    path: Path
    rows: pd.DataFrame
    proba: np.ndarray  # P(positive) of ``rows``, scored as one batch
    thresholds: dict[str, float]


def profile(name: str, threshold: float, rule: str) -> ThresholdProfile:
    chosen_on = DataRecord(source="test", rows=169, sha256=None, prevalence=0.37, date="2026-11-30")
    metrics = {"sensitivity": 0.95, "specificity": 0.8, "ppv": 0.74, "npv": 0.96}
    return ThresholdProfile(name, threshold, rule, chosen_on, {**metrics, "alerts_per_100": 47.0})


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> Profiled:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, y_train, X_test, y_test = X.iloc[:400], y.iloc[:400], X.iloc[400:], y.iloc[400:]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    rows = X_test.iloc[:ROWS].reset_index(drop=True)
    proba = positive_proba(model, instances(rows))
    edge = float(proba[EDGE_ROW])
    thresholds = {
        "screening": 0.1,
        "site-b": 0.9,
        "edge": edge,
        "above-edge": float(np.nextafter(edge, np.inf)),
    }
    captured = capture(
        model,
        X_train,
        y_train,
        X_test=X_test,
        y_test=y_test,
        details=ModelDetails(name="cancer-profiles"),
        positive_class=POSITIVE,
    )
    manifest = dataclasses.replace(
        captured.manifest,
        profiles=[
            profile(name, threshold, RULES.get(name, f"fixed:{threshold!r}"))
            for name, threshold in thresholds.items()
        ],
        default_profile="screening",
    )
    path = package(
        dataclasses.replace(captured, manifest=manifest),
        tmp_path_factory.mktemp("profiled") / "profiled",
    )
    return Profiled(path, rows, proba, thresholds)


def instances(rows: pd.DataFrame) -> list[dict[str, Any]]:
    # Python floats: JSON carries them to the server to the last bit.
    return [{k: float(v) for k, v in row.items()} for row in rows.to_dict(orient="records")]


def positive_proba(model: Any, rows: list[dict[str, Any]], positive: Any = POSITIVE) -> np.ndarray:
    """P(positive) of ``rows`` as the server computes it: the rows read into one float matrix,
    row after row. (A DataFrame built from the dicts holds its columns apart, and its product
    with the coefficients can differ from the server's in the last bit.)"""
    columns = list(rows[0])
    matrix = np.array([[row[name] for name in columns] for row in rows], dtype=np.float64)
    frame = pd.DataFrame(matrix, columns=columns, copy=False)
    proba: np.ndarray = model.predict_proba(frame)[:, list(model.classes_).index(positive)]
    return proba


def decided(profiled: Profiled, name: str) -> list[int]:
    """The decisions ``name``'s threshold gives the rows' in-process probabilities."""
    return [POSITIVE if p >= profiled.thresholds[name] else 1 for p in profiled.proba.tolist()]


def predict(api: FlaskClient, body: Any) -> dict[str, Any]:
    response = api.post("/predict", json=body)
    answer: dict[str, Any] = response.get_json()
    assert response.status_code == 200, answer
    return answer


def test_a_request_without_a_profile_decides_with_the_manifests_default(
    profiled: Profiled, client: Callable[..., FlaskClient]
) -> None:
    answer = predict(client(profiled.path), {"instances": instances(profiled.rows)})
    assert answer["profile"] == {
        "name": "screening",
        "threshold": 0.1,
        "rule": "sensitivity>=0.95",
        "positive_class": POSITIVE,
    }
    assert answer["decisions"] == decided(profiled, "screening")
    # A low threshold flags rows the model's own argmax does not.
    assert answer["decisions"] != answer["predictions"]


@pytest.mark.parametrize("shape", ["instances", "columns"])
def test_a_request_naming_a_profile_decides_with_it(
    profiled: Profiled, client: Callable[..., FlaskClient], shape: str
) -> None:
    rows = instances(profiled.rows)
    body: dict[str, Any] = (
        {"profile": "site-b", "instances": rows}
        if shape == "instances"
        else {
            "profile": "site-b",
            "columns": list(rows[0]),
            "data": [list(row.values()) for row in rows],
        }
    )
    answer = predict(client(profiled.path), body)
    assert answer["profile"]["name"] == "site-b" and answer["profile"]["threshold"] == 0.9
    assert answer["decisions"] == decided(profiled, "site-b")
    assert answer["decisions"] != decided(profiled, "screening")


def test_deployml_profile_replaces_the_default_and_a_request_still_overrides_it(
    profiled: Profiled, client: Callable[..., FlaskClient]
) -> None:
    api = client(profiled.path, profile="site-b")
    rows = instances(profiled.rows)
    assert predict(api, {"instances": rows})["decisions"] == decided(profiled, "site-b")
    named = predict(api, {"profile": "screening", "instances": rows})
    assert named["profile"]["name"] == "screening"
    assert named["decisions"] == decided(profiled, "screening")


def test_a_decision_is_the_served_probability_at_or_above_the_threshold_to_the_last_bit(
    profiled: Profiled, client: Callable[..., FlaskClient]
) -> None:
    api = client(profiled.path)
    rows = instances(profiled.rows)
    # In this process, from the artefact as loaded: the model the server scores with.
    proba = positive_proba(load_artefact(profiled.path).model, rows)
    for name in ("edge", "above-edge"):
        answer = predict(api, {"profile": name, "instances": rows})
        served = [p[str(POSITIVE)] for p in answer["probabilities"]]
        assert served == proba.tolist()
        threshold = answer["profile"]["threshold"]
        assert threshold == profiled.thresholds[name]
        assert answer["decisions"] == [POSITIVE if p >= threshold else 1 for p in proba.tolist()]
    # The row sitting exactly on the threshold is positive; one ulp above it, it is not.
    edge = predict(api, {"profile": "edge", "instances": rows})["decisions"]
    above = predict(api, {"profile": "above-edge", "instances": rows})["decisions"]
    assert edge[EDGE_ROW] == POSITIVE and above[EDGE_ROW] == 1
    assert [i for i, (a, b) in enumerate(zip(edge, above, strict=True)) if a != b] == [EDGE_ROW]


def test_an_artefact_without_profiles_decides_with_an_implicit_default_at_one_half(
    binary_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    api = client(binary_artefact)
    rows = json.loads((binary_artefact / "self_test.json").read_text())["inputs"]
    answer = predict(api, {"instances": rows})
    assert answer["profile"] == {
        "name": "default",
        "threshold": 0.5,
        "rule": "fixed:0.5",
        "positive_class": 1,
    }
    assert answer["decisions"] == [1 if p["1"] >= 0.5 else 0 for p in answer["probabilities"]]
    assert (
        predict(api, {"profile": "default", "instances": rows})["decisions"] == answer["decisions"]
    )
    described = api.get("/metadata").get_json()["profiles"]
    assert (described["default"], described["default_from"], described["implicit"]) == (
        "default",
        "implicit",
        True,
    )
    assert described["profiles"][0]["chosen_on"] is None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN, on purpose
def test_a_row_without_a_probability_gets_no_decision_rather_than_the_other_class(
    tmp_path: Path, client: Callable[..., FlaskClient]
) -> None:
    # GaussianNB's probabilities are NaN (null in the answer) for extreme, accepted inputs.
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = GaussianNB().fit(X, y)
    path = package(capture(model, X, y, details=ModelDetails(name="nb")), tmp_path / "nb")
    rows = instances(X.iloc[:1])
    extreme = {name: 1e300 for name in rows[0]}
    answer = predict(client(path), {"instances": [extreme, *rows]})
    assert answer["probabilities"][0] == {"0": None, "1": None}
    expected = 1 if answer["probabilities"][1]["1"] >= 0.5 else 0
    assert answer["decisions"] == [None, expected]


@pytest.mark.parametrize("sent", [SECRET_TEXT, "Site-B", 7, None, ["site-b"], {"name": "site-b"}])
def test_an_unknown_profile_is_a_422_naming_the_known_ones_without_echoing_it(
    profiled: Profiled,
    client: Callable[..., FlaskClient],
    logs: pytest.LogCaptureFixture,
    sent: Any,
) -> None:
    response = client(profiled.path).post(
        "/predict", json={"profile": sent, "instances": instances(profiled.rows)}
    )
    error = response.get_json()["error"]
    assert response.status_code == 422 and error["code"] == "unknown_profile"
    assert error["message"].endswith("its profiles are: screening, site-b, edge, above-edge")
    if isinstance(sent, str):
        assert sent not in response.get_data(as_text=True)
    assert SECRET_TEXT not in logs.text


def test_profile_is_a_feature_of_a_single_instance_not_a_profile(
    profiled: Profiled, client: Callable[..., FlaskClient]
) -> None:
    row = {"profile": "site-b", **instances(profiled.rows)[0]}
    response = client(profiled.path).post("/predict", json=row)
    error = response.get_json()["error"]
    # One instance with an extra feature: the profile is not looked up.
    assert response.status_code == 422 and error["code"] == "invalid_input"


@pytest.mark.parametrize("fixture", ["multiclass_artefact", "regressor_artefact"])
def test_a_profile_for_a_model_that_makes_no_binary_decision_is_a_422(
    fixture: str, request: pytest.FixtureRequest, client: Callable[..., FlaskClient]
) -> None:
    artefact: Path = request.getfixturevalue(fixture)
    api = client(artefact)
    rows = json.loads((artefact / "self_test.json").read_text())["inputs"]
    response = api.post("/predict", json={"profile": "default", "instances": rows})
    error = response.get_json()["error"]
    assert response.status_code == 422 and error["code"] == "profile_not_applicable"
    assert "profiles apply to binary classifiers" in error["message"]
    # Without a profile, the answer is as it always was: no decisions.
    answer = predict(api, {"instances": rows})
    assert "decisions" not in answer and "profile" not in answer
    described = api.get("/metadata").get_json()
    assert described["profiles"] is None
    assert "batch_with_profile" not in described["input"]["payloads"]


def test_an_unknown_deployml_profile_stops_start_up_naming_the_known_ones(
    profiled: Profiled,
) -> None:
    with pytest.raises(ConfigError) as raised:
        create_app(Settings(artefact=profiled.path, profile="site-c"))
    assert raised.value.message == (
        "DEPLOYML_PROFILE: no profile 'site-c' in this artefact; "
        "its profiles are: screening, site-b, edge, above-edge"
    )


@pytest.mark.parametrize("fixture", ["multiclass_artefact", "regressor_artefact"])
def test_deployml_profile_for_a_model_that_makes_no_binary_decision_stops_start_up(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(ConfigError, match="DEPLOYML_PROFILE: profiles apply to binary"):
        create_app(Settings(artefact=request.getfixturevalue(fixture), profile="default"))


def test_metadata_lists_the_profiles_and_the_default_in_force(
    profiled: Profiled, client: Callable[..., FlaskClient]
) -> None:
    document = client(profiled.path).get("/metadata").get_json()
    assert document["input"]["payloads"]["batch_with_profile"]["profile"] == "<profile>"
    described = document["profiles"]
    assert (described["default"], described["default_from"], described["implicit"]) == (
        "screening",
        "manifest",
        False,
    )
    assert described["positive_class"] == POSITIVE
    listed = {p["name"]: p for p in described["profiles"]}
    assert list(listed) == ["screening", "site-b", "edge", "above-edge"]
    assert listed["site-b"]["threshold"] == 0.9
    assert listed["site-b"]["chosen_on"]["prevalence"] == 0.37
    assert listed["site-b"]["metrics"]["alerts_per_100"] == 47.0
    chosen = client(profiled.path, profile="site-b").get("/metadata").get_json()["profiles"]
    assert (chosen["default"], chosen["default_from"]) == ("site-b", "DEPLOYML_PROFILE")


def test_the_audit_line_names_the_profile_and_records_each_decision(
    profiled: Profiled,
    client: Callable[..., FlaskClient],
    logs: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit.jsonl"
    api = client(profiled.path, audit_log=audit, audit_key="k" * 32)
    logs.clear()
    answer = predict(api, {"profile": "site-b", "instances": instances(profiled.rows)})
    line = json.loads(audit.read_text().splitlines()[-1])
    assert (line["profile"], line["threshold"]) == ("site-b", 0.9)
    assert [o["decision"] for o in line["outputs"]] == answer["decisions"]
    access = [json.loads(r.getMessage()) for r in logs.records if r.name == "deployml.access"]
    assert access[-1]["profile"] == "site-b"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"default_profile": "gone"}, "default_profile 'gone' is not one of its profiles"),
        ({"positive_class": 7}, "target.positive_class 7 is not one of the model's classes"),
    ],
)
def test_profiles_that_contradict_the_model_stop_start_up(
    profiled: Profiled, tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    import shutil

    artefact = Path(shutil.copytree(profiled.path, tmp_path / "changed"))
    manifest = json.loads((artefact / "manifest.json").read_text())
    if "positive_class" in change:
        manifest["target"]["positive_class"] = change["positive_class"]
    else:
        manifest.update(change)
    (artefact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match=problem):
        create_app(Settings(artefact=artefact))


@pytest.mark.parametrize("how", ["serve --profile", "container DEPLOYML_PROFILE"])
def test_a_real_server_decides_with_the_profile_it_was_started_with(
    profiled: Profiled, tmp_path: Path, how: str
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    if how == "serve --profile":
        command = [*DEPLOYML, "serve", str(profiled.path), "--port", str(port), "--profile"]
        command, env = [*command, "site-b", "--workers", "1"], clean_env()
    else:
        command = [*CONTAINER_COMMAND]
        env = clean_env(
            DEPLOYML_ARTEFACT=str(profiled.path),
            DEPLOYML_PORT=str(port),
            DEPLOYML_WORKERS="1",
            DEPLOYML_PROFILE="site-b",
        )
    rows = instances(profiled.rows)
    with running(command, port, log, env) as base:
        status, answer, _ = post(base, {"instances": rows}, {"X-Request-ID": "site-b-1"})
        assert status == 200 and answer["profile"]["name"] == "site-b"
        assert answer["decisions"] == decided(profiled, "site-b")
        status, answer, _ = post(base, {"profile": "edge", "instances": rows})
        assert status == 200 and answer["decisions"] == decided(profiled, "edge")
        status, answer, _ = post(base, {"profile": SECRET_TEXT, "instances": rows})
        assert status == 422 and answer["error"]["code"] == "unknown_profile"
        status, answer, _ = post(base, None, path="/metadata")
        assert answer["profiles"]["default"] == "site-b"
    output = log.read_text()
    access = [json.loads(line) for line in output.splitlines() if line.startswith('{"time"')]
    assert [line["profile"] for line in access if line["request_id"] == "site-b-1"] == ["site-b"]
    assert (
        "decisions: profile site-b (threshold 0.9, rule ppv>=0.95, from DEPLOYML_PROFILE)" in output
    )
    assert SECRET_TEXT not in output


@pytest.mark.parametrize(
    ("how", "named"),
    [
        ("serve --profile", "--profile"),
        ("serve DEPLOYML_PROFILE", "DEPLOYML_PROFILE"),
        ("container DEPLOYML_PROFILE", "DEPLOYML_PROFILE"),
    ],
)
def test_a_real_server_refuses_an_unknown_profile_in_one_line(
    profiled: Profiled, how: str, named: str
) -> None:
    port = str(free_port())
    if how == "serve --profile":
        command = [*DEPLOYML, "serve", str(profiled.path), "--port", port, "--profile", "site-c"]
        env = clean_env()
    elif how == "serve DEPLOYML_PROFILE":
        command = [*DEPLOYML, "serve", str(profiled.path), "--port", port]
        env = clean_env(DEPLOYML_PROFILE="site-c")
    else:
        command = [*CONTAINER_COMMAND]
        env = clean_env(
            DEPLOYML_ARTEFACT=str(profiled.path), DEPLOYML_PORT=port, DEPLOYML_PROFILE="site-c"
        )
    lines, _ = run_failing(command, env)
    assert lines == [
        f"Error: {named}: no profile 'site-c' in this artefact; "
        "its profiles are: screening, site-b, edge, above-edge"
    ]
