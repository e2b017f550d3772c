"""The Open Inference Protocol (KServe V2) routes over the Flask test client: the edge cases of
reading tensors (JSON and binary), the errors in the protocol's shape without values, the
outputs a request selects, profiles, and the audit line of an infer request."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from conftest import make_penguins, train_table
from flask.testing import FlaskClient
from test_http_profiles import Profiled, instances, profiled  # noqa: F401

from packager.artefact import FeatureSpec
from server.api_keys import add_client
from server.protocols.oip.signature import feature_datatype
from server.protocols.oip.tensors import encode

Client = Callable[..., FlaskClient]
SECRET_TEXT = "ZQXJ-SECRET-7731"
AUDIT_KEY = "ZQXJ-AUDIT-KEY-7731-0123456789"


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Penguins (numbers with gaps, island and sex as text) trained by the command line."""
    return train_table(tmp_path_factory.mktemp("penguins"), make_penguins(), "species")


def example_rows(artefact: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((artefact / "self_test.json").read_text())["inputs"]
    return rows


def model_of(http: FlaskClient) -> dict[str, Any]:
    meta = http.get("/metadata").get_json()
    return {"name": meta["model"]["name"], "version": meta["model"]["version"]}


def tensors(
    http: FlaskClient, rows: list[dict[str, Any]], key: str | None = None
) -> list[dict[str, Any]]:
    """One JSON input tensor per feature, its datatype from the model's metadata (read with
    ``key`` when the server needs one)."""
    auth = {} if key is None else {"Authorization": f"Bearer {key}"}
    name = http.get("/metadata", headers=auth).get_json()["model"]["name"]
    inputs = http.get(f"/v2/models/{name}", headers=auth).get_json()["inputs"]
    return [
        {
            "name": t["name"],
            "datatype": t["datatype"],
            "shape": [len(rows)],
            "data": [row[t["name"]] for row in rows],
        }
        for t in inputs
    ]


def infer(http: FlaskClient, body: Any, **kw: Any) -> Any:
    name = http.application.extensions["deployml"].model["name"]
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return http.post(f"/v2/models/{name}/infer", data=data, **kw)


def output(answer: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(o for o in answer["outputs"] if o["name"] == name)
    return found


def test_server_metadata_names_deployml_and_the_binary_extension(
    penguins: Path, client: Client
) -> None:
    body = client(penguins).get("/v2").get_json()
    assert body["name"] == "deployml" and "binary_tensor_data" in body["extensions"]
    assert isinstance(body["version"], str)


def test_model_metadata_gives_one_tensor_per_feature_typed_from_the_schema(
    penguins: Path, client: Client
) -> None:
    http = client(penguins)
    model = model_of(http)
    meta = http.get(f"/v2/models/{model['name']}").get_json()
    assert meta["name"] == model["name"] and meta["versions"] == [model["version"]]
    types = {t["name"]: (t["datatype"], t["shape"]) for t in meta["inputs"]}
    assert types["bill_length_mm"] == ("FP64", [-1]) and types["island"] == ("BYTES", [-1])
    outputs = {t["name"]: t for t in meta["outputs"]}
    assert outputs["predict"]["datatype"] == "BYTES"
    assert outputs["predict_proba"]["shape"] == [-1, 3]
    assert outputs["predict_proba"]["parameters"]["labels"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert {"warnings", "imputed"} <= set(outputs) and "decision" not in outputs
    versioned = http.get(f"/v2/models/{model['name']}/versions/{model['version']}")
    assert versioned.get_json() == meta


@pytest.mark.parametrize(
    ("kind", "dtype", "categories", "datatype"),
    [
        ("number", "float64", None, "FP64"),
        ("integer", "int64", None, "INT64"),
        ("boolean", "bool", None, "BOOL"),
        ("string", "object", None, "BYTES"),
        ("category", "object", ["a", "b"], "BYTES"),
        ("category", "float64", [0.0, 0.5, 1.0], "FP64"),
        ("category", "int64", [1, 2, 3], "INT64"),
    ],
)
def test_each_feature_kind_is_sent_as_its_datatype(
    kind: str, dtype: str, categories: list[Any] | None, datatype: str
) -> None:
    feature = FeatureSpec(
        name="f",
        kind=kind,
        nullable=False,
        dtype=dtype,
        categories=categories,  # type: ignore[arg-type]
    )
    assert feature_datatype(feature) == datatype


def test_a_binary_classifier_has_decisions_typed_as_its_labels(
    pipeline_artefact: Path, client: Client
) -> None:
    http = client(pipeline_artefact)
    meta = http.get(f"/v2/models/{model_of(http)['name']}").get_json()
    types = {t["name"]: t["datatype"] for t in meta["inputs"]}
    assert {"FP64", "BYTES"} <= set(types.values())
    outputs = {t["name"]: t["datatype"] for t in meta["outputs"]}
    assert outputs["predict"] == outputs["decision"] == "BYTES"


def test_json_infer_answers_as_predict_does_with_the_id_echoed(
    penguins: Path, client: Client
) -> None:
    http = client(penguins)
    rows = example_rows(penguins)
    expected = http.post("/predict", json={"instances": rows}).get_json()
    answer = infer(http, {"id": "r-1", "inputs": tensors(http, rows)})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["id"] == "r-1" and body["model_name"] == model_of(http)["name"]
    assert output(body, "predict")["data"] == expected["predictions"]
    proba = output(body, "predict_proba")
    labels = proba["parameters"]["labels"]
    assert proba["shape"] == [len(rows), 3]
    assert np.reshape(proba["data"], (len(rows), 3)).tolist() == [
        [p[label] for label in labels] for p in expected["probabilities"]
    ]
    assert [json.loads(w) for w in output(body, "imputed")["data"]] == expected["imputed"]


def test_pd_content_type_and_nested_shapes_read_the_same_columns(
    penguins: Path, client: Client
) -> None:
    http = client(penguins)
    rows = example_rows(penguins)
    plain = infer(http, {"inputs": tensors(http, rows)}).get_json()
    nested = tensors(http, rows)
    for tensor in nested:
        tensor.update(shape=[len(rows), 1], data=[[v] for v in tensor["data"]])
        tensor["parameters"] = {"content_type": "pd"}
    answer = infer(http, {"inputs": nested, "parameters": {"content_type": "pd"}})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["outputs"] == plain["outputs"]


def binary_body(http: FlaskClient, rows: list[dict[str, Any]], **request: Any) -> tuple[bytes, int]:
    """The request with every input's data in binary after the JSON header."""
    header: dict[str, Any] = {"inputs": tensors(http, rows), **request}
    chunks = []
    for tensor in header["inputs"]:
        data = tensor.pop("data")
        if tensor["datatype"] == "BYTES":
            raw = b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in data)
        else:
            raw = np.array([np.nan if v is None else v for v in data], "<f8").tobytes()
        tensor["parameters"] = {"binary_data_size": len(raw)}
        chunks.append(raw)
    encoded = orjson.dumps(header)
    return encoded + b"".join(chunks), len(encoded)


def test_binary_inputs_without_a_content_type_give_binary_outputs_when_asked(
    penguins: Path, client: Client
) -> None:
    http = client(penguins)
    # Text cannot be missing in a binary BYTES tensor: rows with a sex recorded.
    rows = [{**row, "bill_length_mm": None} for row in example_rows(penguins) if row["sex"]]
    expected = http.post("/predict", json={"instances": rows}).get_json()
    body, length = binary_body(http, rows, parameters={"binary_data_output": True})
    answer = infer(http, body, headers={"Inference-Header-Content-Length": str(length)})
    assert answer.status_code == 200, answer.get_data()
    size = int(answer.headers["Inference-Header-Content-Length"])
    header, raw = orjson.loads(answer.data[:size]), answer.data[size:]
    sizes = {o["name"]: o["parameters"]["binary_data_size"] for o in header["outputs"]}
    assert sum(sizes.values()) == len(raw)
    at = {name: sum(list(sizes.values())[:i]) for i, name in enumerate(sizes)}
    chunk = raw[at["predict_proba"] : at["predict_proba"] + sizes["predict_proba"]]
    proba = np.frombuffer(chunk, "<f8").reshape(len(rows), 3)
    labels = output(header, "predict_proba")["parameters"]["labels"]
    assert proba.tolist() == [[p[label] for label in labels] for p in expected["probabilities"]]
    assert expected["imputed"][0] == ["bill_length_mm"]


@pytest.mark.parametrize(
    ("change", "names"),
    [
        (lambda ts: ts.pop(0), "missing input(s): bill_length_mm"),
        (lambda ts: ts[0].update(shape=[1, 2]), "bill_length_mm: shape must be"),
        (lambda ts: ts[1].update(shape=[2], data=[1.0, 2.0]), "bill_depth_mm differ"),
        (lambda ts: ts[0].update(datatype="FP99"), "bill_length_mm: datatype must be"),
        (lambda ts: ts[0].update(datatype=["FP64"]), "bill_length_mm: datatype must be"),
        (lambda ts: ts[0].update(parameters={"content_type": {}}), "of input bill_length_mm"),
        (lambda ts: ts[4].update(data=[7]), "island: BYTES data holds values of another type"),
        (lambda ts: ts[0].update(data=[SECRET_TEXT]), "FP64 data holds values of another"),
    ],
)
def test_a_malformed_tensor_is_a_400_naming_the_feature_never_a_value(
    penguins: Path, client: Client, change: Callable[[list[Any]], Any], names: str
) -> None:
    http = client(penguins)
    inputs = tensors(http, example_rows(penguins)[:1])
    change(inputs)
    answer = infer(http, {"inputs": inputs})
    assert answer.status_code == 400
    assert names in answer.get_json()["error"] and SECRET_TEXT not in answer.get_data(True)


def test_an_unknown_tensor_is_counted_never_named(penguins: Path, client: Client) -> None:
    http = client(penguins)
    inputs = tensors(http, example_rows(penguins)[:1])
    inputs.append({**inputs[0], "name": SECRET_TEXT})
    answer = infer(http, {"inputs": inputs})
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error.startswith("1 input(s) name no feature") and SECRET_TEXT not in error


def test_a_value_the_validator_refuses_is_a_400_by_row_and_feature_without_the_value(
    penguins: Path, client: Client
) -> None:
    http = client(penguins)
    rows = example_rows(penguins)[:2]
    inputs = tensors(http, rows)
    inputs[0].update(datatype="BYTES", data=["41.5", SECRET_TEXT])
    answer = infer(http, {"inputs": inputs})
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert "row 0, feature bill_length_mm:" in error and "row 1, feature bill_length_mm" in error
    assert SECRET_TEXT not in error and "41.5" not in error


@pytest.mark.parametrize(
    ("declared", "extra", "says"),
    [
        (8, b"", "binary_data_size runs past"),
        (8, b"\0" * 16, "bytes of binary data no input"),
        (16, b"\0" * 16, "16 bytes; 1 FP64 values take 8"),
    ],
)
def test_binary_sizes_that_do_not_add_up_are_a_400(
    penguins: Path, client: Client, declared: int, extra: bytes, says: str
) -> None:
    http = client(penguins)
    inputs = tensors(http, example_rows(penguins)[:1])
    inputs[0].pop("data")
    inputs[0]["parameters"] = {"binary_data_size": declared}
    header = orjson.dumps({"inputs": inputs})
    length = {"Inference-Header-Content-Length": str(len(header))}
    answer = infer(http, header + extra, headers=length)
    assert answer.status_code == 400 and says in answer.get_json()["error"]


def test_a_bad_header_length_and_a_body_over_the_limit_are_refused(
    penguins: Path, client: Client
) -> None:
    http = client(penguins, max_request_bytes=200)
    bad = infer(http, b"{}", headers={"Inference-Header-Content-Length": "99"})
    assert bad.status_code == 400 and "Inference-Header-Content-Length" in bad.get_json()["error"]
    for length in ("\u00b2", "9" * 5000, "-1", " 2"):
        odd = infer(http, b"{}", headers={"Inference-Header-Content-Length": length})
        assert odd.status_code == 400, length
    broken = infer(http, b'{"inputs": [' + SECRET_TEXT.encode())
    assert broken.status_code == 400 and "not valid JSON" in broken.get_json()["error"]
    assert SECRET_TEXT not in broken.get_data(True)
    # A lone surrogate, orjson refuses; the standard library (read for NaN) would take it.
    for lone in (b'"id": "\\ud800"', b'"id": "\\ud800", "x": NaN'):
        odd = infer(http, b'{"inputs": [], ' + lone + b"}")
        assert odd.status_code == 400 and "not UTF-8 text" in odd.get_json()["error"], lone
    deep = infer(
        client(penguins), b'{"inputs": [], "id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    )
    assert deep.status_code == 400 and "nested too deeply" in deep.get_json()["error"]
    large = infer(http, {"inputs": tensors(http, example_rows(penguins))})
    assert large.status_code == 413 and "error" in large.get_json()


def test_outputs_select_what_is_returned_and_an_unknown_one_is_counted(
    penguins: Path, client: Client
) -> None:
    http = client(penguins)
    inputs = tensors(http, example_rows(penguins)[:2])
    answer = infer(http, {"inputs": inputs, "outputs": [{"name": "warnings"}]}).get_json()
    assert [o["name"] for o in answer["outputs"]] == ["warnings"]
    assert [json.loads(w) for w in answer["outputs"][0]["data"]] == [[], []]
    unknown = infer(http, {"inputs": inputs, "outputs": [{"name": SECRET_TEXT}]})
    assert unknown.status_code == 400 and SECRET_TEXT not in unknown.get_data(True)


def test_unknown_model_or_version_is_a_404_saying_which_is_served(
    penguins: Path, client: Client
) -> None:
    http = client(penguins)
    model = model_of(http)
    inputs = tensors(http, example_rows(penguins)[:1])
    for path in (
        f"/v2/models/{SECRET_TEXT}",
        f"/v2/models/{SECRET_TEXT}/ready",
        f"/v2/models/{model['name']}/versions/{SECRET_TEXT}/ready",
    ):
        answer = http.get(path)
        assert answer.status_code == 404 and SECRET_TEXT not in answer.get_data(True)
        assert model["name"] in answer.get_json()["error"]
    versioned = f"/v2/models/{model['name']}/versions/{model['version']}/infer"
    assert http.post(versioned, data=orjson.dumps({"inputs": inputs})).status_code == 200
    assert http.get(f"/v2/models/{model['name']}/ready").get_json()["ready"] is True


def test_the_profile_parameter_decides_as_predict_s_profile_does(
    profiled: Profiled,  # noqa: F811
    client: Client,
) -> None:
    http = client(profiled.path)
    rows = instances(profiled.rows)
    for name in ("site-b", "screening"):
        expected = http.post("/predict", json={"instances": rows, "profile": name}).get_json()
        body = {"inputs": tensors(http, rows), "parameters": {"profile": name}}
        answer = infer(http, body).get_json()
        assert output(answer, "decision")["data"] == expected["decisions"]
        assert answer["parameters"]["profile"] == name
    unknown = infer(http, {"inputs": tensors(http, rows), "parameters": {"profile": SECRET_TEXT}})
    assert unknown.status_code == 400 and SECRET_TEXT not in unknown.get_data(True)


def test_an_infer_request_writes_its_audit_line_with_the_oip_endpoint(
    penguins: Path, client: Client, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    http = client(penguins, audit_log=log, audit_key=AUDIT_KEY)
    rows = example_rows(penguins)[:2]
    inputs = tensors(http, rows)
    assert infer(http, {"inputs": inputs}).status_code == 200
    assert infer(http, {"inputs": inputs[1:]}).status_code == 400
    assert http.post("/predict", json={"instances": rows}).status_code == 200
    lines = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    infers = [line for line in lines if line["endpoint"].endswith("/infer")]
    assert [line["endpoint"] for line in infers] == ["/v2/models/<name>/infer"] * 2
    assert infers[0]["rows"] == 2 and infers[0]["status"] == 200
    # The same rows hash alike whichever protocol sent them.
    assert infers[0]["input_hmacs"] == lines[-1]["input_hmacs"]
    assert infers[0]["outputs"] == lines[-1]["outputs"]
    assert (infers[1]["status"], infers[1]["error"]) == (400, "invalid_tensor")


def test_with_api_keys_infer_needs_one_and_the_health_routes_do_not(
    penguins: Path, client: Client, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    key = add_client(keys, "ward-7")
    http = client(penguins, api_keys_file=keys)
    inputs = tensors(http, example_rows(penguins)[:1], key)
    refused = infer(http, {"inputs": inputs})
    assert refused.status_code == 401 and isinstance(refused.get_json()["error"], str)
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    given = infer(http, {"inputs": inputs}, headers={"Authorization": f"Bearer {key}"})
    assert given.status_code == 200
    assert (
        http.get("/v2/health/live").status_code == http.get("/v2/health/ready").status_code == 200
    )


def test_not_ready_is_a_503_on_the_probes_and_on_infer(
    penguins: Path, client: Client, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    http = client(penguins, audit_log=log, audit_key=AUDIT_KEY)
    name = http.application.extensions["deployml"].model["name"]
    assert http.get("/v2/health/ready").status_code == 200
    log.unlink(missing_ok=True)
    log.mkdir()  # the audit log cannot be opened any more: the server fails closed
    ready = http.get("/v2/health/ready")
    assert ready.status_code == 503 and ready.get_json()["ready"] is False
    assert "audit log" in ready.get_json()["error"]
    assert http.get(f"/v2/models/{name}/ready").status_code == 503
    assert http.get("/v2/health/live").status_code == 200
    refused = http.post(f"/v2/models/{name}/infer", data=b"{}")
    assert refused.status_code == 503 and "audit log" in refused.get_json()["error"]


@pytest.mark.parametrize("binary", [False, True])
def test_a_missing_label_is_nan_in_a_float_tensor_or_an_empty_element(binary: bool) -> None:
    tensor, raw = encode("decision", "INT64", [1, None], [2], binary)
    assert tensor["datatype"] == "FP64"
    if binary:
        assert raw is not None and np.isnan(np.frombuffer(raw, "<f8")[1])
    text, raw = encode("decision", "BYTES", ["yes", None], [2], binary)
    if binary:
        assert raw == struct.pack("<I", 3) + b"yes" + struct.pack("<I", 0)
    else:
        assert text["data"] == ["yes", None]
