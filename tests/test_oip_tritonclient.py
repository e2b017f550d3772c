"""The Open Inference Protocol driven by Triton's own HTTP client (``tritonclient.http``)
against a real gunicorn, in JSON and binary modes, on a model of numbers and text: the same
answers as /predict, the probes, the metadata, and the errors a client sees. Then the client's
own request and response codecs over the test client, on models with every other datatype."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from test_oip_protocol import SECRET_TEXT, example_rows, penguins  # noqa: F401
from test_serve_end_to_end import DEPLOYML, clean_env, free_port, post, running

from packager import ModelDetails, capture, package
from packager.artefact import load_artefact

# tritonclient.http imports gevent: imported in the fixtures, not at collection.
Served = tuple[Any, str, Path]  # the client, the base URL, the artefact


@pytest.fixture(scope="module")
def served(
    penguins: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    import tritonclient.http as httpclient

    port = free_port()
    log = tmp_path_factory.mktemp("oip") / "serve.log"
    command = [*DEPLOYML, "serve", str(penguins), "--port", str(port), "--workers", "2"]
    with running(command, port, log, clean_env()) as base:
        triton = httpclient.InferenceServerClient(url=f"127.0.0.1:{port}")
        yield triton, base, penguins
        triton.close()
    assert SECRET_TEXT not in log.read_text()


def rows_to_send(artefact: Path) -> list[dict[str, Any]]:
    """The example rows with text recorded (a BYTES tensor cannot hold a missing string): the
    first row's bill length missing (sent as NaN), the second unlike training in two ways."""
    rows = [row for row in example_rows(artefact) if row["sex"] and row["island"]]
    unlike = {**rows[1], "body_mass_g": 9000.0, "island": "Atlantis"}
    return [{**rows[0], "bill_length_mm": None}, unlike, *rows[2:]]


def inputs(triton: Any, name: str, rows: list[dict[str, Any]], binary: bool) -> list[Any]:
    import tritonclient.http as httpclient

    found = []
    for tensor in triton.get_model_metadata(name)["inputs"]:
        values = [row[tensor["name"]] for row in rows]
        if tensor["datatype"] == "BYTES":
            array = np.array(values, dtype=np.object_)
        else:
            array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        given = httpclient.InferInput(tensor["name"], [len(rows)], tensor["datatype"])
        given.set_data_from_numpy(array, binary_data=binary)
        found.append(given)
    return found


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_gets_the_answers_predict_gives_in_both_modes(
    served: Served, binary: bool
) -> None:
    import tritonclient.http as httpclient

    triton, base, artefact = served
    name = _name(base)
    rows = rows_to_send(artefact)
    status, expected, _ = post(base, {"instances": rows})
    assert status == 200, expected
    wanted = [
        httpclient.InferRequestedOutput(output, binary_data=binary)
        for output in ("predict", "predict_proba", "warnings", "imputed")
    ]
    result = triton.infer(
        name, inputs(triton, name, rows, binary), outputs=wanted, request_id="r-7"
    )
    assert result.get_response()["id"] == "r-7"
    predicted = result.as_numpy("predict")
    assert [p.decode() if isinstance(p, bytes) else p for p in predicted] == expected["predictions"]
    labels = result.get_output("predict_proba")["parameters"]["labels"]
    proba = result.as_numpy("predict_proba")
    assert proba.shape == (len(rows), len(labels))
    assert proba.tolist() == [[p[label] for label in labels] for p in expected["probabilities"]]
    imputed = [json.loads(i) for i in result.as_numpy("imputed")]
    assert imputed == expected["imputed"] and imputed[0] == ["bill_length_mm"]
    warnings = [json.loads(w) for w in result.as_numpy("warnings")]
    assert [w for per_row in warnings for w in per_row] == expected["warnings"]
    assert [w["feature"] for w in warnings[1]] == ["body_mass_g", "island"]
    assert all(w["row"] == 1 for w in warnings[1]) and warnings[0] == []


def test_tritonclient_default_request_gets_every_output_in_binary(served: Served) -> None:
    triton, base, artefact = served
    name = _name(base)
    rows = rows_to_send(artefact)[:3]
    result = triton.infer(name, inputs(triton, name, rows, True))
    assert result.get_output("predict")["parameters"]["binary_data_size"] > 0
    assert result.as_numpy("predict_proba").shape == (3, 3)
    assert len(result.as_numpy("warnings")) == 3


def test_tritonclient_sees_a_live_ready_server_and_its_model(served: Served) -> None:
    triton, base, _ = served
    name = _name(base)
    assert triton.is_server_live() and triton.is_server_ready()
    assert "binary_tensor_data" in triton.get_server_metadata()["extensions"]
    metadata = triton.get_model_metadata(name)
    assert metadata["platform"] == "scikit-learn"
    assert {t["name"] for t in metadata["outputs"]} >= {"predict", "predict_proba", "warnings"}
    assert triton.is_model_ready(name) and triton.is_model_ready(name, metadata["versions"][0])


def test_tritonclient_gets_404_for_another_model_and_400_for_bad_input_without_values(
    served: Served,
) -> None:
    from tritonclient.utils import InferenceServerException

    triton, base, artefact = served
    name = _name(base)
    rows = rows_to_send(artefact)[:2]
    with pytest.raises(InferenceServerException) as unknown:
        triton.get_model_metadata(SECRET_TEXT)
    assert unknown.value.status() == "404" and SECRET_TEXT not in str(unknown.value)
    assert not triton.is_model_ready(SECRET_TEXT)
    sent = inputs(triton, name, rows, True)
    import tritonclient.http as httpclient

    text = httpclient.InferInput("body_mass_g", [2], "BYTES")
    text.set_data_from_numpy(np.array(["4000", SECRET_TEXT], dtype=np.object_))
    sent = [t for t in sent if t.name() != "body_mass_g"] + [text]
    with pytest.raises(InferenceServerException) as refused:
        triton.infer(name, sent)
    assert refused.value.status() == "400"
    assert "feature body_mass_g" in str(refused.value) and SECRET_TEXT not in str(refused.value)


def _name(base: str) -> str:
    _, metadata, _ = post(base, None, path="/metadata")
    found: str = metadata["model"]["name"]
    return found


def make_staged(n: int = 400, seed: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    """Every datatype but FP64 in one frame: an integer with limits from a dictionary, a
    boolean, a category coded as numbers and text that is not ASCII; the outcome a grade 0-2."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.integers(18, 95, n),
            "bmi": rng.normal(27, 4, n).round(1),
            "smoker": rng.random(n) < 0.3,
            "stage": rng.choice([1, 2, 3, 4], n),
            "ward": rng.choice(["süd", "nord", "östlich"], n),
        }
    )
    X.loc[X.index % 9 == 2, "bmi"] = np.nan
    risk = (X.age - 55) / 15 + X.smoker + (X.stage - 2.5) / 2 + rng.normal(0, 1, n)
    return X, pd.Series(np.digitize(risk, [-0.5, 0.7]), name="grade")


@pytest.fixture(scope="module", params=["multiclass", "regression"])
def staged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pipeline on make_staged: int labels 0-2, or the same outcome as a regression."""
    X, y = make_staged()
    columns = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "bmi"]),
            ("codes", OneHotEncoder(handle_unknown="ignore"), ["smoker", "stage", "ward"]),
        ]
    )
    last = LogisticRegression(max_iter=2000) if request.param == "multiclass" else Ridge()
    model = make_pipeline(columns, last).fit(X, y)
    features = {"age": {"min": 18, "max": 100, "integer": True}, "stage": {"categorical": True}}
    captured = capture(model, X, y, details=ModelDetails(name="staged"), features=features)
    return package(captured, tmp_path_factory.mktemp(request.param) / "staged")


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_sends_every_datatype_as_predict_and_the_model_read_them(
    staged: Path, client: Callable[..., FlaskClient], binary: bool
) -> None:
    import tritonclient.http as httpclient

    http = client(staged)
    X = make_staged(30, seed=9)[0]
    meta = http.get("/v2/models/staged").get_json()
    types = {t["name"]: t["datatype"] for t in meta["inputs"]}
    expected_types = {"age": "INT64", "bmi": "FP64", "smoker": "BOOL", "stage": "INT64"}
    assert types == {**expected_types, "ward": "BYTES"}
    sent = []
    for name, datatype in types.items():
        # A [N, 1] column, in INT32 for the integer: any integer type is read.
        given = httpclient.InferInput(name, [len(X), 1], "INT32" if name == "age" else datatype)
        values = X[name].to_numpy(object if datatype == "BYTES" else None)
        values = values.astype(np.int32) if name == "age" else values
        given.set_data_from_numpy(values.reshape(-1, 1), binary_data=binary)
        sent.append(given)
    wanted = [
        httpclient.InferRequestedOutput(o["name"], binary_data=binary) for o in meta["outputs"]
    ]
    body, length = httpclient.InferenceServerClient.generate_request_body(sent, outputs=wanted)
    headers = {"Inference-Header-Content-Length": str(length)} if length else {}
    answer = http.post("/v2/models/staged/infer", data=body, headers=headers)
    assert answer.status_code == 200, answer.get_data()
    size = answer.headers.get("Inference-Header-Content-Length")
    assert (size is not None) == binary
    result = httpclient.InferenceServerClient.parse_response_body(
        answer.get_data(), header_length=None if size is None else int(size)
    )
    model = load_artefact(staged).model
    rows = X.astype(object).where(X.notna(), None).to_dict("records")
    expected = http.post("/predict", json={"instances": rows}).get_json()
    assert result.as_numpy("predict").tolist() == expected["predictions"]
    assert result.as_numpy("predict").tolist() == model.predict(X).tolist()
    if hasattr(model, "predict_proba"):
        assert result.get_output("predict_proba")["parameters"]["labels"] == [0, 1, 2]
        assert result.as_numpy("predict").dtype == np.int64
        assert np.array_equal(result.as_numpy("predict_proba"), model.predict_proba(X))
    imputed = [json.loads(i) for i in result.as_numpy("imputed")]
    assert imputed == expected["imputed"] and imputed[2] == ["bmi"]
