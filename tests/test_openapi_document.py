"""GET /openapi.json: an OpenAPI 3.1 document made from the served model's own schema."""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import make_pbc, make_penguins, train_table
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from deployml.cli import cli
from packager import capture, package

PBC_DICTIONARY = """\
age: {unit: years, description: Age at registration, min: 18, max: 100}
bili: {unit: mg/dL, description: Serum bilirubin, min: 0, max: 50}
albumin: {unit: g/dL, min: 0.5, max: 7}
"""


def train_pbc(folder: Path) -> Path:
    """A PBC model trained with its data dictionary (units, descriptions, limits) and its
    codes named as categories: a binary classifier with profiles, strings and numbers."""
    make_pbc(300, seed=11).to_csv(folder / "pbc.csv", index=False)
    (folder / "pbc.yaml").write_text(PBC_DICTIONARY)
    args = ["train", folder / "pbc.csv", "--target", "status", "--categorical", "edema"]
    args += ["--categorical", "stage", "--features", folder / "pbc.yaml", "--drop", "diagnosed"]
    args += ["--no-plots", "--model", "logistic-regression", "-o", folder / "artefact"]
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"DEPLOYML_ARTEFACT": None})
    assert result.exit_code == 0, result.output
    return folder / "artefact"


@pytest.fixture(scope="module")
def pbc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_pbc(tmp_path_factory.mktemp("pbc"))


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Penguins' species (three classes) from measurements with gaps and strings."""
    return train_table(tmp_path_factory.mktemp("penguins"), make_penguins(), "species")


def _document(client: FlaskClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    document: dict[str, Any] = answer.get_json()
    return document


@pytest.mark.parametrize(
    "fixture", ["pbc", "penguins", "binary_artefact", "regressor_artefact", "contract_artefact"]
)
def test_the_document_is_valid_openapi_3_1_and_its_docs_rendition_valid_3_0(
    fixture: str, request: pytest.FixtureRequest, client: Callable[..., FlaskClient]
) -> None:
    served = client(request.getfixturevalue(fixture))
    document = _document(served)
    assert document["openapi"] == "3.1.0"
    validate(document)
    rendition = served.get("/docs/openapi-3.0.json").get_json()
    assert rendition["openapi"] == "3.0.3"
    validate(rendition)


def _features(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"]["Features"]
    return found


def test_each_feature_has_its_type_limits_unit_description_and_example(
    pbc: Path, client: Callable[..., FlaskClient]
) -> None:
    document = _document(client(pbc))
    features = _features(document)
    assert list(features["properties"]) == [
        "age",
        "sex",
        "edema",
        "stage",
        "ascites",
        "bili",
        "albumin",
    ]
    assert sorted(features["required"]) == sorted(features["properties"])
    assert features["additionalProperties"] is False
    age = features["properties"]["age"]
    assert (age["minimum"], age["maximum"], age["x-unit"]) == (18, 100, "years")
    assert "Age at registration" in age["description"] and "years" in age["description"]
    low, high = age["x-training-range"]
    assert 18 <= low < high <= 100 and low <= age["examples"][0] <= high
    assert features["properties"]["bili"]["type"] == ["number", "null"]
    # Unseen categories are only warned of: listed, not an enum.
    sex = features["properties"]["sex"]
    assert sex["type"] == "string" and "enum" not in sex
    assert "f, m" in sex["description"] and "unseen values are warned of" in sex["description"]
    assert features["properties"]["edema"]["type"] == "number"
    assert document["info"]["version"] == "1.0.0"
    assert document["info"]["title"].startswith("pbc-logistic-regression")
    sha = client(pbc).get("/metadata").get_json()["artefact"]["sha256"]
    assert document["info"]["x-artefact-sha256"] == sha


def test_refused_categories_are_an_enum(pbc: Path, client: Callable[..., FlaskClient]) -> None:
    features = _features(_document(client(pbc, strict_categories=True)))
    assert features["properties"]["sex"]["enum"] == ["f", "m"]
    assert features["properties"]["edema"]["enum"] == [0.0, 0.5, 1.0]


def test_a_refused_category_that_takes_null_has_null_in_its_enum(
    pipeline_artefact: Path, patient_data: Any, client: Callable[..., FlaskClient]
) -> None:
    served = client(pipeline_artefact, strict_categories=True)
    document = _document(served)
    ward = _features(document)["properties"]["ward"]
    assert ward["type"] == ["string", "null"] and ward["enum"] == ["a", "b", "c", None]
    row = {k: None if v != v else v for k, v in patient_data[2].iloc[0].to_dict().items()}
    row["ward"] = None
    assert served.post("/predict", json={"instances": [row]}).status_code == 200
    features = {"$ref": "#/components/schemas/Features", "components": document["components"]}
    Draft202012Validator(features).validate(row)
    rendition = served.get("/docs/openapi-3.0.json").get_json()["components"]["schemas"]
    said = rendition["Features"]["properties"]["ward"]
    assert (said["type"], said["nullable"], said["enum"]) == ("string", True, ward["enum"])


def test_the_predict_examples_are_the_typical_synthetic_row_and_pass_the_server(
    pbc: Path, client: Callable[..., FlaskClient]
) -> None:
    served = client(pbc)
    operation = _document(served)["paths"]["/predict"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    typical = json.loads((pbc / "self_test.json").read_text())["inputs"][0]
    assert examples["one"]["value"] == typical
    for example in examples.values():
        assert served.post("/predict", json=example["value"]).status_code == 200
    answer = served.post("/predict", json=examples["batch"]["value"]).get_json()
    schema = _document(served)["components"]["schemas"]["PredictAnswer"]
    assert set(schema["required"]) <= set(answer)
    assert set(schema["properties"]["probabilities"]["items"]["required"]) == set(
        answer["probabilities"][0]
    )
    assert {"decisions", "profile"} <= set(schema["properties"])


def test_a_multiclass_answer_keys_its_probabilities_by_its_three_labels(
    penguins: Path, client: Callable[..., FlaskClient]
) -> None:
    schemas = _document(client(penguins))["components"]["schemas"]
    keyed = schemas["PredictAnswer"]["properties"]["probabilities"]["items"]
    assert keyed["required"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert "decisions" not in schemas["PredictAnswer"]["properties"]
    assert "profile" not in schemas["Batch"]["properties"]
    assert schemas["Features"]["properties"]["sex"]["type"] == ["string", "null"]


def test_a_regressor_answers_numbers_without_probabilities(
    regressor_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    answer = _document(client(regressor_artefact))["components"]["schemas"]["PredictAnswer"]
    assert "probabilities" not in answer["properties"]
    assert answer["properties"]["predictions"]["items"]["type"] == ["number", "null"]


def test_every_route_of_the_app_is_documented_with_its_errors(
    pbc: Path, client: Callable[..., FlaskClient]
) -> None:
    served = client(pbc)
    document = _document(served)
    routes = {
        re.sub(r"<[^>]*>", "{}", rule.rule) for rule in served.application.url_map.iter_rules()
    }
    documented = {re.sub(r"\{[^}]*\}", "{}", path) for path in document["paths"]}
    assert routes == documented
    responses = document["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "405", "413", "415", "422", "500", "503"} <= set(responses)
    error = {"$ref": "#/components/schemas/Error"}
    assert responses["422"]["content"]["application/json"]["schema"] == error
    card = document["paths"]["/"]["get"]["responses"]["200"]["content"]
    assert list(card) == ["text/html"]


def keyed(
    artefact: Path, client: Callable[..., FlaskClient], folder: Path
) -> tuple[FlaskClient, dict[str, Any]]:
    """The artefact served with one API key, and its OpenAPI document read with that key."""
    keys = folder / "keys.txt"
    keys.write_text(f"ward-a {hashlib.sha256(b'a-key-of-thirty-two-characters-00').hexdigest()}\n")
    served = client(artefact, api_keys_file=keys)
    bearer = {"Authorization": "Bearer a-key-of-thirty-two-characters-00"}
    return served, served.get("/openapi.json", headers=bearer).get_json()


def test_the_probes_are_documented_open_as_the_server_leaves_them(
    pbc: Path, client: Callable[..., FlaskClient], tmp_path: Path
) -> None:
    from server.http.auth import OPEN_PATHS

    served, document = keyed(pbc, client, tmp_path)
    open_operations = {
        path
        for path, operations in document["paths"].items()
        if any(operation.get("security") == [] for operation in operations.values())
    }
    assert open_operations == OPEN_PATHS & set(document["paths"])
    for path in open_operations:
        assert served.get(path).status_code == 200


def test_with_api_keys_every_other_route_documents_its_401_in_the_shape_it_answers(
    pbc: Path, client: Callable[..., FlaskClient], tmp_path: Path
) -> None:
    served, document = keyed(pbc, client, tmp_path)
    name = document["info"]["x-model-name"]
    checked = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") == []:
                continue
            url = path.replace("{name}", name).replace("{version}", "1.0.0")
            refused = served.open(url.replace("{asset}", "index.css"), method=method)
            assert refused.status_code == 401, url
            content = operation["responses"]["401"]["content"]["application/json"]
            schema = {**content["schema"], "components": document["components"]}
            Draft202012Validator(schema).validate(refused.get_json())
            checked.add(path)
    assert {"/predict", "/invocations", "/v2/models/{name}/infer", "/v2"} <= checked


def test_the_invocations_body_documented_is_the_body_the_server_scores(
    pipeline_artefact: Path, patient_data: Any, client: Callable[..., FlaskClient]
) -> None:
    served = client(pipeline_artefact)
    document = _document(served)
    content = document["paths"]["/invocations"]["post"]["requestBody"]["content"]
    schema = {**content["application/json"]["schema"], "components": document["components"]}
    answer = document["paths"]["/invocations"]["post"]["responses"]["200"]["content"]
    answered = {**answer["application/json"]["schema"], "components": document["components"]}
    frame = patient_data[2].iloc[:3].astype(object).where(patient_data[2].iloc[:3].notna(), None)
    rows = frame.to_dict(orient="records")
    row = {**rows[0], "ward": None}
    bodies = [
        ({"dataframe_split": frame.to_dict(orient="split")}, True),
        ({"dataframe_records": rows, "params": {"on_error": "skip"}}, True),
        ({"instances": rows}, True),
        ({"instances": frame.to_dict(orient="list")}, True),
        ({"inputs": frame.to_dict(orient="list"), "params": None}, True),
        ({"inputs": row}, True),
        ({}, False),
        ({"inputs": rows, "instances": rows}, False),
        ({"inputs": rows, "id": 1}, False),
        ({"inputs": rows, "params": {"threshold": 1}}, False),
        ({"inputs": [list(row.values())]}, False),
        ({"dataframe_split": {"data": [list(row.values())]}}, False),
        ({"dataframe_split": {"columns": ["age"], "data": [[50]]}}, False),
        ({"dataframe_records": []}, False),
    ]
    for body, scored in bodies:
        said = not list(Draft202012Validator(schema).iter_errors(body))
        response = served.post("/invocations", json=body)
        assert (response.status_code == 200) is scored is said, body
        if scored:
            Draft202012Validator(answered).validate(response.get_json())


def test_a_columnar_batch_is_documented_with_every_feature_as_the_server_requires(
    pbc: Path, client: Callable[..., FlaskClient]
) -> None:
    served = client(pbc)
    document = _document(served)
    content = document["paths"]["/predict"]["post"]["requestBody"]["content"]
    schema = {**content["application/json"]["schema"], "components": document["components"]}
    columnar = content["application/json"]["examples"]["columnar"]["value"]
    short = {"columns": columnar["columns"][:1], "data": [columnar["data"][0][:1]]}
    narrow = {**columnar, "data": [columnar["data"][0][:-1]]}
    for body, scored in ((columnar, True), (short, False), (narrow, False)):
        said = not list(Draft202012Validator(schema).iter_errors(body))
        assert (served.post("/predict", json=body).status_code == 200) is scored is said


def test_the_oip_infer_example_scores_with_the_datatypes_the_model_metadata_gives(
    pbc: Path, client: Callable[..., FlaskClient]
) -> None:
    # PBC's edema and stage are categories of numbers: FP64 and INT64 tensors, not BYTES.
    served = client(pbc)
    document = _document(served)
    operation = document["paths"]["/v2/models/{name}/infer"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    name = document["info"]["x-model-name"]
    metadata = served.get(f"/v2/models/{name}").get_json()
    given = {t["name"]: t["datatype"] for t in metadata["inputs"]}
    assert {t["name"]: t["datatype"] for t in example["inputs"]} == given
    assert {given["edema"], given["stage"]} == {"FP64", "INT64"}
    assert served.post(f"/v2/models/{name}/infer", json=example).status_code == 200
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    tensor = schema["properties"]["inputs"]["items"]["properties"]
    assert {"UINT16", "FP16", "INT16"} <= set(tensor["datatype"]["enum"])
    one = {"inputs": example["inputs"][:1]}
    assert served.post(f"/v2/models/{name}/infer", json=one).status_code == 400
    assert list(Draft202012Validator(schema).iter_errors(one))


def test_oip_binary_tensor_data_is_documented_as_the_server_reads_and_answers_it(
    regressor_artefact: Path, client: Callable[..., FlaskClient]
) -> None:
    served = client(regressor_artefact)
    document = _document(served)
    operation = document["paths"]["/v2/models/{name}/infer"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    inputs = [
        {**{k: t[k] for k in ("name", "shape", "datatype")}, "parameters": {"binary_data_size": 8}}
        for t in example["inputs"]
    ]
    outputs = [{"name": "predict", "parameters": {"binary_data": True}}]
    header = json.dumps({"inputs": inputs, "outputs": outputs}).encode()
    raw = b"".join(struct.pack("<d", t["data"][0]) for t in example["inputs"])
    length = "Inference-Header-Content-Length"
    answered = served.post(
        f"/v2/models/{document['info']['x-model-name']}/infer",
        data=header + raw,
        headers={length: str(len(header)), "Content-Type": "application/octet-stream"},
    )
    assert answered.status_code == 200
    assert answered.mimetype in operation["responses"]["200"]["content"]
    assert length in operation["responses"]["200"]["headers"] and answered.headers[length]
    assert "application/octet-stream" in operation["requestBody"]["content"]
    assert length in [p["name"] for p in operation["parameters"] if p["in"] == "header"]


def test_a_stored_row_is_the_example_only_where_real_examples_were_chosen(
    patient_data: Any, pipeline_model: Any, tmp_path: Path, client: Callable[..., FlaskClient]
) -> None:
    X, y, X_test, y_test = patient_data
    captured = capture(
        pipeline_model, X, y, X_test=X_test, y_test=y_test, examples="real", n_examples=2
    )
    artefact = package(captured, tmp_path / "real")
    operation = _document(client(artefact))["paths"]["/predict"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["examples"]["one"]
    stored = json.loads((artefact / "examples.json").read_text())["inputs"][0]
    assert example["value"] == stored
