"""MLflow's scoring protocol: MLflow's own request bodies score as /predict scores the same rows.

The bodies are MLflow's: those its ``mlflow models serve --help`` documents (mlflow/models/cli.py,
the ``serve`` command's docstring), and those its client builds from a DataFrame
(mlflow/utils/proto_json_utils.py, ``dump_input_data``: ``{"dataframe_split":
df.to_dict(orient="split")}`` written by Python's ``json``, NaN for a missing value). Errors
are MLflow's ``{"error_code", "message"}``, and never repeat what was sent.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import make_pbc, make_penguins, train_table
from flask.testing import FlaskClient
from sklearn.linear_model import LogisticRegression
from test_serve_end_to_end import DEPLOYML, clean_env, free_port, running

from packager import ModelDetails, capture, package
from server.api_keys import add_client

SECRET = "ZQXJ-SECRET-7731"
Client = Callable[..., FlaskClient]


@pytest.fixture(scope="module")
def ab_artefact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A binary classifier of two numbers named as in MLflow's documented bodies: a and b."""
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"a": rng.normal(3, 2, 200), "b": rng.normal(3, 2, 200)})
    y = pd.Series(np.where(X["a"] - X["b"] + rng.normal(0, 1, 200) > 0, 1, 0), name="y")
    model = LogisticRegression().fit(X, y)
    out = tmp_path_factory.mktemp("ab") / "ab"
    return package(capture(model, X, y, details=ModelDetails(name="ab")), out)


@pytest.fixture(scope="module")
def penguins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three species (string labels) from measurements with gaps, an island and a sex."""
    return train_table(tmp_path_factory.mktemp("penguins"), make_penguins(), "species")


@pytest.fixture(scope="module")
def pbc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Numbers, a string category, codes stored as numbers, and bilirubin with gaps."""
    table = make_pbc(300, seed=4).drop(columns=["id", "diagnosed"])
    table.loc[table.index % 9 == 2, "bili"] = np.nan
    folder = tmp_path_factory.mktemp("pbc")
    return train_table(folder, table, "status", "--categorical", "edema", "--categorical", "stage")


def _frame(artefact: Path, table: pd.DataFrame, n: int = 6) -> pd.DataFrame:
    """Rows of ``table`` with the artefact's features only, a missing value among them."""
    manifest = json.loads((artefact / "manifest.json").read_text())
    names = [f["name"] for f in manifest["input"]["features"]]
    rows = table[names].iloc[:n].copy()
    nullable = [f["name"] for f in manifest["input"]["features"] if f["nullable"]]
    if nullable:
        missing = "bili" if "bili" in nullable else nullable[0]
        rows.loc[rows.index[1], missing] = None
    return rows


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as /predict takes them: a missing value as null."""
    return [
        {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _as_mlflow_client_sends(body: Any) -> bytes:
    # Python's json, as MLflow's client: NaN for a missing value.
    return json.dumps(body).encode()


def _invoke(http: FlaskClient, body: Any, **kw: Any) -> Any:
    return http.post(
        "/invocations", data=_as_mlflow_client_sends(body), content_type="application/json", **kw
    )


SCORED = ("predictions", "probabilities", "imputed", "warnings")


def _same_as_predict(http: FlaskClient, frame: pd.DataFrame, answered: Any) -> None:
    assert answered.status_code == 200, answered.get_json()
    expected = http.post("/predict", json={"instances": _records(frame)}).get_json()
    got = answered.get_json()
    assert {k: got.get(k) for k in SCORED} == {k: expected.get(k) for k in SCORED}
    assert got["model"] == expected["model"] and got["request_id"]


# The bodies of `mlflow models serve --help` (mlflow/models/cli.py), verbatim.
DOCUMENTED_RECORDS = '{"dataframe_records": [{"a":1, "b":2}, {"a":3, "b":4}, {"a":5, "b":6}]}'
DOCUMENTED_SPLIT = (
    '{"dataframe_split": {"columns": ["a", "b"], "index": [0, 1, 2], '
    '"data": [[1, 2], [3, 4], [5, 6]]}}'
)
DOCUMENTED_ROWS = [{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]


@pytest.mark.parametrize("body", [DOCUMENTED_RECORDS, DOCUMENTED_SPLIT])
def test_the_bodies_mlflow_documents_score_as_predict_scores_their_rows(
    ab_artefact: Path, client: Client, body: str
) -> None:
    http = client(ab_artefact)
    answered = http.post("/invocations", data=body, content_type="application/json")
    assert answered.status_code == 200, answered.get_json()
    expected = http.post("/predict", json={"instances": DOCUMENTED_ROWS}).get_json()
    assert answered.get_json()["predictions"] == expected["predictions"]
    assert answered.get_json()["probabilities"] == expected["probabilities"]
    assert all(p in (0, 1) for p in expected["predictions"])


def test_the_content_type_of_mlflows_documented_curl_is_accepted(
    ab_artefact: Path, client: Client
) -> None:
    # MLflow 2.x "Deploy MLflow Model as a Local Inference Server" page: its curl sends
    # -H "Content-Type:application/json;" (a trailing semicolon, no parameter).
    answered = client(ab_artefact).post(
        "/invocations", data=DOCUMENTED_RECORDS, headers={"Content-Type": "application/json;"}
    )
    assert answered.status_code == 200, answered.get_json()
    assert len(answered.get_json()["predictions"]) == 3


def test_the_documented_positional_inputs_body_is_refused_for_want_of_feature_names(
    ab_artefact: Path, client: Client
) -> None:
    # `mlflow models serve --help`: '{"inputs": [[1, 2], [3, 4], [5, 6]]}'. MLflow too refuses
    # it for a model whose signature names its columns ("Model is missing inputs").
    answered = client(ab_artefact).post(
        "/invocations", data='{"inputs": [[1, 2], [3, 4], [5, 6]]}', content_type="application/json"
    )
    assert answered.status_code == 400
    assert answered.get_json()["error_code"] == "BAD_REQUEST"
    assert "feature names" in answered.get_json()["message"]


@pytest.mark.parametrize("model", ["ab", "penguins", "pbc"])
@pytest.mark.parametrize("shape", ["dataframe_split", "dataframe_records", "instances", "inputs"])
def test_every_input_key_scores_a_dataframe_as_predict_does(
    request: pytest.FixtureRequest, client: Client, model: str, shape: str
) -> None:
    artefact = request.getfixturevalue(f"{model}_artefact" if model == "ab" else model)
    table = {"ab": None, "penguins": make_penguins(), "pbc": make_pbc(20, seed=9)}[model]
    if table is None:
        table = pd.DataFrame({"a": [1.0, 3.0, 5.0, 0.5], "b": [2.0, 4.0, 1.0, 7.0]})
    frame = _frame(artefact, table)
    inputs = {
        "dataframe_split": frame.to_dict(orient="split"),
        "dataframe_records": frame.to_dict(orient="records"),
        "instances": frame.to_dict(orient="records"),
        "inputs": frame.to_dict(orient="list"),
    }[shape]
    http = client(artefact)
    _same_as_predict(http, frame, _invoke(http, {shape: inputs}))


@pytest.mark.parametrize("index", [True, False])
def test_a_csv_body_scores_as_predict_does_an_empty_cell_as_null(
    pbc: Path, client: Client, index: bool
) -> None:
    frame = _frame(pbc, make_pbc(20, seed=9))
    http = client(pbc)
    for content_type in ("text/csv", "text/csv; charset=UTF-8"):
        answered = http.post(
            "/invocations", data=frame.to_csv(index=index), content_type=content_type
        )
        _same_as_predict(http, frame, answered)
    assert answered.get_json()["imputed"][1] == ["bili"]


def test_a_csv_of_penguins_reads_categories_and_labels_as_json_would(
    penguins: Path, client: Client
) -> None:
    frame = _frame(penguins, make_penguins())
    http = client(penguins)
    answered = http.post("/invocations", data=frame.to_csv(index=False), content_type="text/csv")
    _same_as_predict(http, frame, answered)
    assert set(answered.get_json()["predictions"]) <= {"Adelie", "Chinstrap", "Gentoo"}


def test_params_choose_the_skip_mode_and_refused_rows_are_null(pbc: Path, client: Client) -> None:
    frame = _frame(pbc, make_pbc(20, seed=9))
    split = frame.to_dict(orient="split")
    split["data"][2][0] = SECRET
    answered = _invoke(client(pbc), {"dataframe_split": split, "params": {"on_error": "skip"}})
    assert answered.status_code == 200
    body = answered.get_json()
    assert body["predictions"][2] is None and body["refused_rows"] == [2]
    assert body["predictions"][0] is not None and SECRET not in answered.text


def _csv(text: str) -> dict[str, Any]:
    return {"data": text.encode(), "content_type": "text/csv"}


def _json(body: Any) -> dict[str, Any]:
    return {"data": json.dumps(body), "content_type": "application/json"}


ROW = {"a": 1, "b": 2}
REFUSED = [
    ("no input key", _json({"data": [[1, 2]]}), "exactly one of"),
    ("two input keys", _json({"inputs": [ROW], "instances": [ROW]}), "exactly one of"),
    ("a key of its own", _json({"inputs": [ROW], SECRET: 1}), "1 other key"),
    ("a list", _json([ROW]), "the body is an array"),
    ("an unknown param", _json({"inputs": [ROW], "params": {SECRET: 1}}), '"profile" and'),
    ("params not an object", _json({"inputs": [ROW], "params": [SECRET]}), "expected an object"),
    ("a bad on_error", _json({"inputs": [ROW], "params": {"on_error": SECRET}}), '"skip"'),
    ("a profile of no model", _json({"inputs": [ROW], "params": {"profile": SECRET}}), "profile"),
    ("split as a list", _json({"dataframe_split": [[1, 2]]}), "to_dict"),
    (
        "split with a key of its own",
        _json({"dataframe_split": {"columns": ["a"], "data": [[1]], SECRET: 0}}),
        "1 other key",
    ),
    ("split without columns", _json({"dataframe_split": {"data": [[1, 2]]}}), '"columns"'),
    (
        "split with a short index",
        _json({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]], "index": [SECRET, 1]}}),
        "index",
    ),
    (
        "records as an object",
        _json({"dataframe_records": ROW | {"c": SECRET}}),
        "expected an array",
    ),
    (
        "columns of unequal length",
        _json({"inputs": {"a": [1, 2], "b": [SECRET]}}),
        "different numbers",
    ),
    (
        "a string for a number",
        _json({"dataframe_records": [ROW, {"a": SECRET, "b": 2}]}),
        "row 1, a: expected a number",
    ),
    ("a feature of no model", _json({"dataframe_records": [ROW | {SECRET: 1}]}), "unknown feature"),
    ("no rows", _json({"dataframe_records": []}), "no rows"),
    (
        "Infinity",
        {"data": '{"inputs": [{"a": Infinity, "b": 1}]}', "content_type": "application/json"},
        "not valid JSON",
    ),
    (
        "arrays nested deeper than JSON is read",
        {"data": '{"inputs": ' + "[" * 5000 + "]" * 5000 + "}", "content_type": "application/json"},
        "not valid JSON",
    ),
    ("a text cell for a number", _csv(f"a,b\n1,2\n{SECRET},3\n"), "row 1, a: expected a number"),
    ("a CSV column of no model", _csv(f"a,b,{SECRET}\n1,2,3\n"), "unknown feature"),
    ("a CSV row too long", _csv(f"a,b\n1,2,{SECRET}\n"), "row 0: has 3 values"),
    ("a repeated CSV column", _csv("a,a,b\n1,2,3\n"), "repeats 1 name"),
    ("a CSV header alone", _csv("a,b\n"), "no rows"),
    ("a CSV of the index alone", _csv('""\n""\n'), "names no column"),
    ("a CSV not in UTF-8", {"data": b"a,b\n\xff1,2\n", "content_type": "text/csv"}, "not UTF-8"),
]


@pytest.mark.parametrize(("sent", "problem"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_a_bad_request_is_a_400_in_mlflows_shape_that_names_the_problem_not_the_values(
    ab_artefact: Path, client: Client, sent: dict[str, Any], problem: str
) -> None:
    answered = client(ab_artefact).post("/invocations", **sent)
    assert answered.status_code == 400, answered.get_json()
    body = answered.get_json()
    assert body["error_code"] == "BAD_REQUEST" and problem in body["message"]
    assert SECRET not in answered.text


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/json; charset=latin-1", f"application/json; {SECRET}=1", ""],
)
def test_a_body_neither_json_nor_csv_in_utf8_is_a_415(
    ab_artefact: Path, client: Client, content_type: str
) -> None:
    answered = client(ab_artefact).post(
        "/invocations", data=json.dumps({"inputs": [ROW]}), content_type=content_type or None
    )
    assert answered.status_code == 415
    assert answered.get_json()["error_code"] == "BAD_REQUEST" and SECRET not in answered.text


def test_more_rows_than_allowed_is_a_413_in_mlflows_shape(
    ab_artefact: Path, client: Client
) -> None:
    answered = _invoke(client(ab_artefact, max_rows=2), {"inputs": [ROW] * 3})
    assert answered.status_code == 413
    assert answered.get_json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "DEPLOYML_MAX_ROWS" in answered.get_json()["message"]


def test_without_a_key_invocations_is_a_401_and_ping_stays_open(
    ab_artefact: Path, client: Client, tmp_path: Path
) -> None:
    key = add_client(tmp_path / "keys", "ward-3")
    http = client(ab_artefact, api_keys_file=tmp_path / "keys")
    refused = _invoke(http, {"inputs": [ROW]})
    assert refused.status_code == 401 and refused.get_json()["error_code"] == "UNAUTHENTICATED"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert _invoke(http, {"inputs": [ROW]}, headers={"X-API-Key": key}).status_code == 200
    assert http.get("/ping").status_code == 200


def test_ping_answers_as_mlflow_when_ready_and_503_when_not(
    ab_artefact: Path, client: Client, tmp_path: Path
) -> None:
    ready = client(ab_artefact).get("/ping")
    assert (ready.status_code, ready.data, ready.mimetype) == (200, b"\n", "application/json")
    # The audit log cannot be written (its folder is a file): not ready, as /readyz says.
    (tmp_path / "file").write_text("")
    http = client(ab_artefact, audit_log=tmp_path / "file" / "audit.jsonl", audit_key="k" * 32)
    not_ready = http.get("/ping")
    assert not_ready.status_code == 503 == http.get("/readyz").status_code
    assert not_ready.get_json()["status"] == "not ready"


def test_each_invocation_gets_an_audit_line_with_deploymls_error_code(
    ab_artefact: Path, client: Client, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    http = client(ab_artefact, audit_log=log, audit_key="ZQXJ-AUDIT-KEY-7731-0123456789")
    scored = _invoke(http, {"dataframe_records": DOCUMENTED_ROWS}).get_json()
    assert _invoke(http, {"dataframe_records": [{"a": SECRET, "b": 1}]}).status_code == 400
    assert http.post("/invocations", data="x", content_type="text/plain").status_code == 415
    http.get("/ping")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["endpoint"] for line in lines] == ["/invocations"] * 3
    assert [o["prediction"] for o in lines[0]["outputs"]] == scored["predictions"]
    assert [line["error"] for line in lines] == [None, "invalid_input", "unsupported_media_type"]
    assert [line["status"] for line in lines] == [200, 400, 415]
    assert SECRET not in log.read_text()


def _mlflow_script_call(base: str, data: bytes, content_type: str) -> tuple[int, Any]:
    """What a script written for `mlflow models serve` does: POST to /invocations, read JSON."""
    request = urllib.request.Request(
        f"{base}/invocations", data=data, headers={"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_served_by_gunicorn_an_mlflow_script_scores_and_each_call_is_audited(
    pbc: Path, tmp_path: Path
) -> None:
    port, log, audit = free_port(), tmp_path / "serve.log", tmp_path / "audit.jsonl"
    env = clean_env(DEPLOYML_AUDIT_LOG=str(audit), DEPLOYML_AUDIT_KEY="k" * 32)
    command = [*DEPLOYML, "serve", str(pbc), "--port", str(port), "--workers", "2"]
    frame = _frame(pbc, make_pbc(20, seed=9))
    with running(command, port, log, env) as base:
        with urllib.request.urlopen(f"{base}/ping", timeout=5) as ping:
            assert ping.status == 200
        split = _as_mlflow_client_sends({"dataframe_split": frame.to_dict(orient="split")})
        status, body = _mlflow_script_call(base, split, "application/json")
        assert status == 200 and len(body["predictions"]) == len(frame)
        assert set(body["predictions"]) <= {"alive", "died"} and body["imputed"][1] == ["bili"]
        status, csv_body = _mlflow_script_call(base, frame.to_csv().encode(), "text/csv")
        assert status == 200 and csv_body["predictions"] == body["predictions"]
        bad = _as_mlflow_client_sends({"dataframe_records": [{"age": SECRET}]})
        status, refused = _mlflow_script_call(base, bad, "application/json")
        assert status == 400 and refused["error_code"] == "BAD_REQUEST"
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line["endpoint"], line["status"]) for line in lines] == [
        ("/invocations", 200),
        ("/invocations", 200),
        ("/invocations", 400),
    ]
    assert lines[2]["error"] == "invalid_input"
    assert SECRET not in audit.read_text() + log.read_text()


def test_a_csv_of_booleans_and_nullable_categories_scores_as_predict_does(
    pipeline_artefact: Path, patient_data: Any, client: Client
) -> None:
    # pandas writes booleans as True/False and a missing category or number as an empty cell.
    frame = patient_data[2].iloc[:12]
    assert frame["ward"].isna().any() or frame["bmi"].isna().any()
    http = client(pipeline_artefact)
    answered = http.post("/invocations", data=frame.to_csv(), content_type="text/csv")
    _same_as_predict(http, frame, answered)


def test_every_mlflow_body_gives_the_models_own_predictions_for_the_dataframe(
    pipeline_artefact: Path, pipeline_model: Any, patient_data: Any, client: Client
) -> None:
    # Independent of /predict: the fitted pipeline's own predict on the DataFrame sent, with
    # its missing numbers (NaN) and categories (None), booleans and integers.
    frame = patient_data[2].iloc[:40]
    assert frame["bmi"].isna().any() and frame["ward"].isna().any()
    expected = pipeline_model.predict(frame).tolist()
    probabilities = pipeline_model.predict_proba(frame)
    http = client(pipeline_artefact)
    bodies = [
        {"dataframe_split": frame.to_dict(orient="split")},
        {"dataframe_records": frame.to_dict(orient="records")},
        {"instances": frame.to_dict(orient="records")},
        {"inputs": frame.to_dict(orient="list")},
    ]
    answers = [_invoke(http, body) for body in bodies]
    for csv in (frame.to_csv(), frame.to_csv(index=False, lineterminator="\r\n")):
        for text in (csv.encode(), csv.encode("utf-8-sig")):
            answers.append(http.post("/invocations", data=text, content_type="text/csv"))
    for answered in answers:
        assert answered.status_code == 200, answered.get_json()
        body = answered.get_json()
        assert body["predictions"] == expected
        got = [[row[label] for label in ("no", "yes")] for row in body["probabilities"]]
        assert np.allclose(got, probabilities, rtol=0, atol=1e-12)
