"""Issue 11 from the outside: each problem found on clinical tables, trained with the real
command line, served, and asked about over HTTP (the Flask app, and once a real gunicorn).

The tables imitate Mayo PBC, MASS biopsy and birthwt, and the penguins (``conftest``): codes
stored as numbers, a sample ID, whole-number weights, labs without gaps behind an imputer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from conftest import make_biopsy, make_birthwt, make_pbc, make_penguins
from flask.testing import FlaskClient
from test_serve_end_to_end import DEPLOYML, clean_env, free_port, post, running

from packager import load_artefact, read_manifest

PBC_DICTIONARY = """\
age: {unit: years, description: Age at registration, min: 18, max: 100}
bili: {unit: mg/dL, description: Serum bilirubin, min: 0, max: 50}
albumin: {unit: g/dL, min: 0.5, max: 7}
edema: {description: "0 none, 0.5 untreated or resolved, 1 despite diuretics"}
"""


def _train(runner: Callable[..., Result], *args: Any) -> Result:
    result = runner("train", *args, "--no-plots", "--model", "logistic-regression")
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def pbc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """PBC trained with its dictionary and its codes named: the artefact and train's output."""
    from click.testing import CliRunner

    from deployml.cli import cli

    folder = tmp_path_factory.mktemp("pbc")
    make_pbc(400, seed=11).to_csv(folder / "pbc.csv", index=False)
    (folder / "pbc.yaml").write_text(PBC_DICTIONARY)
    args = ["train", folder / "pbc.csv", "--target", "status", "--categorical", "edema"]
    args += ["--categorical", "stage", "--date", "diagnosed", "--features", folder / "pbc.yaml"]
    args += ["--no-plots", "--model", "logistic-regression", "-o", folder / "artefact"]
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"DEPLOYML_ARTEFACT": None})
    assert result.exit_code == 0, result.output
    return folder / "artefact", result.output


def _row(artefact: Path, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = json.loads((artefact / "self_test.json").read_text())["inputs"][0]
    return {**row, **changes}


def _features(artefact: Path) -> dict[str, Any]:
    manifest, _ = read_manifest(artefact)
    return {f.name: f for f in manifest.input.features}


def test_train_leaves_out_the_record_number_and_says_how_to_keep_it(pbc: tuple[Path, str]) -> None:
    artefact, output = pbc
    assert "id" not in _features(artefact)
    assert "'id'" in output and "--keep id" in output


def test_codes_stored_as_numbers_are_categories_and_an_unseen_code_is_flagged(
    pbc: tuple[Path, str], client: Callable[..., FlaskClient]
) -> None:
    artefact, _ = pbc
    edema = _features(artefact)["edema"]
    assert (edema.kind, edema.categories) == ("category", [0.0, 0.5, 1.0])
    answer = client(artefact).post("/predict", json=_row(artefact, edema=0.25))
    assert answer.status_code == 200, answer.get_json()
    warned = [(w["feature"], w["problem"]) for w in answer.get_json()["warnings"]]
    assert ("edema", "a category not seen in training") in warned
    strict = client(artefact, strict_categories=True).post(
        "/predict", json=_row(artefact, edema=0.25)
    )
    assert strict.status_code == 422
    assert strict.get_json()["error"]["code"] == "unseen_category"
    # A code the model saw, sent as 1 rather than 1.0, is that code.
    assert (
        client(artefact, strict_categories=True)
        .post("/predict", json=_row(artefact, edema=1))
        .status_code
        == 200
    )


def test_the_dictionary_is_recorded_and_shown_where_the_schema_is(
    pbc: tuple[Path, str], client: Callable[..., FlaskClient], runner: Callable[..., Result]
) -> None:
    artefact, _ = pbc
    age = _features(artefact)["age"]
    assert (age.unit, age.plausible_min, age.plausible_max) == ("years", 18, 100)
    assert "unit" in age.declared and "min" in age.declared
    published = {
        f["name"]: f for f in client(artefact).get("/metadata").get_json()["input"]["features"]
    }
    assert published["age"]["description"] == "Age at registration"
    assert published["bili"]["unit"] == "mg/dL"
    card = (artefact / "MODEL_CARD.md").read_text()
    assert "Serum bilirubin" in card and "mg/dL" in card
    inspected = runner("inspect", artefact)
    assert inspected.exit_code == 0 and "years" in inspected.output


def test_plausible_limits_refuse_impossible_ages_while_the_training_range_only_warns(
    pbc: tuple[Path, str], client: Callable[..., FlaskClient]
) -> None:
    artefact, _ = pbc
    api = client(artefact)
    for impossible in (-5, 1e30):
        answer = api.post("/predict", json=_row(artefact, age=impossible))
        assert answer.status_code == 422
        (detail,) = answer.get_json()["error"]["details"]
        assert detail["feature"] == "age" and "plausible limits" in detail["problem"]
        assert "18 to 100 years" in detail["problem"]
        assert "1e+30" not in answer.get_data(as_text=True)
    unusual = api.post("/predict", json=_row(artefact, age=95))  # above training, plausible
    assert unusual.status_code == 200
    assert [w["feature"] for w in unusual.get_json()["warnings"]] == ["age"]


def test_a_lab_without_gaps_behind_an_imputer_accepts_null_and_the_answer_says_so(
    pbc: tuple[Path, str], client: Callable[..., FlaskClient]
) -> None:
    artefact, _ = pbc
    albumin = _features(artefact)["albumin"]
    assert albumin.missing_rate == 0 and albumin.nullable and albumin.imputed
    answer = client(artefact).post(
        "/predict", json={"instances": [_row(artefact, albumin=None), _row(artefact)]}
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["imputed"] == [["albumin"], []]


def test_every_problem_of_every_row_is_reported_not_only_the_first_kind(
    pbc: tuple[Path, str], client: Callable[..., FlaskClient]
) -> None:
    artefact, _ = pbc
    rows = [_row(artefact, edema=0.25), _row(artefact), _row(artefact, bili="high")]
    answer = client(artefact, strict_categories=True).post("/predict", json={"instances": rows})
    assert answer.status_code == 422
    found = [(d["row"], d["feature"]) for d in answer.get_json()["error"]["details"]]
    assert found == [(0, "edema"), (2, "bili")]
    assert "high" not in answer.get_data(as_text=True)


def test_on_error_skip_scores_the_valid_rows_as_they_would_be_scored_alone(
    pbc: tuple[Path, str], client: Callable[..., FlaskClient]
) -> None:
    artefact, _ = pbc
    api = client(artefact)
    good = [_row(artefact), _row(artefact, bili=3.0)]
    rows = [good[0], _row(artefact, age=-5), good[1]]
    answer = api.post("/predict", json={"instances": rows, "on_error": "skip"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    alone = api.post("/predict", json={"instances": good}).get_json()
    assert body["predictions"] == [alone["predictions"][0], None, alone["predictions"][1]]
    assert body["probabilities"][1] is None
    assert body["refused_rows"] == [1]
    assert [(e["row"], e["feature"]) for e in body["errors"]] == [(1, "age")]


def test_a_batch_with_a_key_the_api_does_not_define_is_refused_with_the_allowed_keys(
    pbc: tuple[Path, str], client: Callable[..., FlaskClient]
) -> None:
    artefact, _ = pbc
    answer = client(artefact).post("/predict", json={"instances": [_row(artefact)], "id": 1})
    assert answer.status_code == 400
    message = answer.get_json()["error"]["message"]
    assert '"instances"' in message and '"on_error"' in message


def test_a_sample_id_is_left_out_by_its_values_and_kept_only_when_asked(
    runner: Callable[..., Result], tmp_path: Path
) -> None:
    make_biopsy().rename(columns={"ID": "sample"}).to_csv(tmp_path / "biopsy.csv", index=False)
    out = _train(runner, tmp_path / "biopsy.csv", "--target", "class", "-o", tmp_path / "a")
    assert "sample" not in _features(tmp_path / "a")
    assert "645 distinct values in 699 rows" in out.output and "--keep sample" in out.output
    kept = tmp_path / "b"
    _train(runner, tmp_path / "biopsy.csv", "--target", "class", "--keep", "sample", "-o", kept)
    assert _features(kept)["sample"].identifier


def test_a_fractional_weight_is_scored_as_sent_though_training_weights_were_whole(
    runner: Callable[..., Result], client: Callable[..., FlaskClient], tmp_path: Path
) -> None:
    make_birthwt().to_csv(tmp_path / "birthwt.csv", index=False)
    _train(runner, tmp_path / "birthwt.csv", "--target", "low", "-o", tmp_path / "a")
    artefact = tmp_path / "a"
    assert _features(artefact)["lwt"].kind == "number"
    row = _row(artefact, lwt=155.5)
    answer = client(artefact).post("/predict", json=row)
    assert answer.status_code == 200, answer.get_json()
    model = load_artefact(artefact).model
    frame = pd.DataFrame([row]).astype({"lwt": "float64"})
    expected = model.predict_proba(frame[list(model.feature_names_in_)])[0]
    got = answer.get_json()["probabilities"][0]
    assert [got[str(c)] for c in model.classes_] == pytest.approx(list(expected))
    whole = client(artefact).post("/predict", json=_row(artefact, lwt=155)).get_json()
    assert whole["probabilities"][0] != got


def test_a_penguin_measured_without_a_bill_is_scored_and_the_answer_says_it_was_filled_in(
    runner: Callable[..., Result], client: Callable[..., FlaskClient], tmp_path: Path
) -> None:
    make_penguins().to_csv(tmp_path / "penguins.csv", index=False)
    _train(runner, tmp_path / "penguins.csv", "--target", "species", "-o", tmp_path / "a")
    artefact = tmp_path / "a"
    answer = client(artefact).post(
        "/predict", json={"instances": [_row(artefact, bill_length_mm=None, body_mass_g=None)]}
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["imputed"] == [["bill_length_mm", "body_mass_g"]]


def test_a_semicolon_latin1_file_with_decimal_commas_and_dates_trains_with_its_options(
    runner: Callable[..., Result], tmp_path: Path
) -> None:
    table = make_pbc(200, seed=5).drop(columns=["id"]).rename(columns={"bili": "bilirubine_µmol"})
    table["ward"] = np.where(table.index % 2, "hôpital nord", "hôpital sud")
    path = tmp_path / "pbc_fr.csv"
    table.to_csv(path, sep=";", decimal=",", index=False, encoding="latin-1")
    refused = runner("train", path, "--target", "status", "--no-plots", "-o", tmp_path / "x")
    assert refused.exit_code != 0 and "--encoding" in refused.output
    refused = runner(
        "train",
        path,
        "--target",
        "status",
        "--encoding",
        "latin-1",
        "--no-plots",
        "-o",
        tmp_path / "x",
    )
    assert refused.exit_code != 0 and "--sep" in refused.output
    options = ["--sep", ";", "--decimal", ",", "--encoding", "latin-1"]
    undated = _train(runner, path, "--target", "status", *options, "-o", tmp_path / "u")
    assert "--date diagnosed" in undated.output and "free text" not in undated.output
    _train(
        runner, path, "--target", "status", *options, "--date", "diagnosed", "-o", tmp_path / "a"
    )
    features = _features(tmp_path / "a")
    assert features["bilirubine_µmol"].kind == "number"
    assert features["diagnosed_days"].unit == "days since 1970-01-01"
    assert (
        features["diagnosed_weekday"].plausible_min,
        features["diagnosed_weekday"].plausible_max,
    ) == (0, 6)


def test_served_by_gunicorn_the_contract_holds_and_the_access_log_counts_without_values(
    pbc: tuple[Path, str], tmp_path: Path
) -> None:
    artefact, _ = pbc
    port = free_port()
    env = clean_env(DEPLOYML_ON_ERROR="skip")
    command = [*DEPLOYML, "serve", str(artefact), "--port", str(port), "--workers", "2"]
    log = tmp_path / "serve.log"
    with running(command, port, log, env) as base:
        rows = [_row(artefact, albumin=None), _row(artefact, age=-5.4321), _row(artefact, age=95)]
        status, body, _ = post(base, {"instances": rows})
        assert status == 200, body
        assert body["refused_rows"] == [1] and body["predictions"][1] is None
        assert body["imputed"] == [["albumin"], [], []]
        assert [w["row"] for w in body["warnings"]] == [2]
        status, body, _ = post(base, {"instances": rows, "on_error": "fail"})
        assert status == 422 and body["error"]["details"][0]["row"] == 1
        status, body, _ = post(base, None, path="/nowhere")
        assert status == 404 and "POST /predict" in body["error"]["message"]
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    predicted = [line for line in lines if line.get("route") == "/predict"]
    assert predicted[0]["imputed"] == {"albumin": 1} and predicted[0]["refused"] == 1
    assert "5.4321" not in log.read_text()
