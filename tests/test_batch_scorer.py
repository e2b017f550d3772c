"""The batch Scorer: tables scored as /predict scores the same rows, every row kept."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient

from packager.artefact import file_sha256
from packager.errors import ArtefactHashError
from server import Settings
from server.audit import find_records, row_hmac, verify_chain
from server.batch import AUDIT_ENDPOINT, MissingColumnsError, ModelNotReadyError, Scorer
from tests.conftest import make_patients

AUDIT_KEY = "k" * 32


def _plain(value: Any) -> Any:
    """A frame's cell as JSON would carry it: numpy scalars unwrapped, missing as None."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    return [_plain(v) for v in frame[name]]


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    """Unseen patients with a refused row (a number for a category), a value below the
    training range, an unseen ward and the frame's own missing values."""
    frame, _ = make_patients(150, 11)
    frame["sex"] = frame["sex"].astype(object)
    frame.loc[4, "sex"] = 12
    frame.loc[3, "age"] = -5
    frame.loc[5, "ward"] = "zz"
    frame.insert(0, "patient_id", [f"p{i:03d}" for i in range(len(frame))])
    return frame


def test_a_table_is_scored_as_predict_scores_the_same_rows(
    pipeline_artefact: Path, patients: pd.DataFrame, client: Callable[..., FlaskClient]
) -> None:
    scored = Scorer(Settings(artefact=pipeline_artefact), id_columns=["patient_id"]).score(patients)
    features = patients.drop(columns="patient_id")
    body = (
        client(pipeline_artefact)
        .post("/predict", json={"instances": _records(features), "on_error": "skip"})
        .get_json()
    )
    assert _column(scored, "patient_id") == patients["patient_id"].tolist()
    assert _column(scored, "prediction") == body["predictions"]
    for label in ("no", "yes"):
        expected = [None if p is None else p[label] for p in body["probabilities"]]
        assert _column(scored, f"probability_{label}") == expected
    assert _column(scored, "decision") == body["decisions"]
    refused = [i for i, status in enumerate(scored["status"]) if status == "refused"]
    assert refused == body["refused_rows"] == [4]
    errors = json.loads(scored["errors"][4])
    assert errors == [{k: v for k, v in e.items() if k != "row"} for e in body["errors"]]
    warnings = {
        i: json.loads(w)
        for i, w in enumerate(_column(scored, "warnings"))
        if w is not None and w != "[]"
    }
    expected_warnings: dict[int, list[dict[str, object]]] = {}
    for warning in body["warnings"]:
        row = warning.pop("row")
        expected_warnings.setdefault(row, []).append(warning)
    assert warnings == expected_warnings and {3, 5} <= warnings.keys()
    imputed = [None if i is None else json.loads(i) for i in _column(scored, "imputed")]
    assert imputed == [None if i == 4 else names for i, names in enumerate(body["imputed"])]
    assert scored.loc[0, "profile"] == body["profile"]["name"]
    assert scored.loc[0, "threshold"] == body["profile"]["threshold"]


def test_a_refused_row_keeps_every_problem_and_null_outputs(pipeline_artefact: Path) -> None:
    frame, _ = make_patients(300, 5)
    frame["sex"] = 7
    scored = Scorer(Settings(artefact=pipeline_artefact)).score(frame)
    # More problems than an HTTP error lists (100): each row still has its own.
    assert (scored["status"] == "refused").all()
    assert all(json.loads(e)[0]["feature"] == "sex" for e in scored["errors"])
    assert scored["prediction"].isna().all() and scored["probability_yes"].isna().all()
    assert scored["warnings"].isna().all() and scored["imputed"].isna().all()


def test_every_chunk_has_the_same_columns_and_dtypes_whatever_its_rows(
    pipeline_artefact: Path, patients: pd.DataFrame
) -> None:
    scorer = Scorer(Settings(artefact=pipeline_artefact), id_columns=["patient_id"])
    all_refused = scorer.score(patients.iloc[[4]])
    all_scored = scorer.score(patients.iloc[[0, 1]])
    empty = scorer.score(patients.iloc[[]])
    assert list(all_scored.columns) == ["patient_id", *scorer.output_dtypes]
    for frame in (all_refused, empty):
        assert frame.dtypes.to_dict() == all_scored.dtypes.to_dict()
    assert empty.empty


@pytest.mark.parametrize(
    ("artefact", "dtypes"),
    [
        ("multiclass_artefact", {"prediction": "Int64", "probability_0": "Float64"}),
        ("regressor_artefact", {"prediction": "Float64"}),
        ("binary_artefact", {"prediction": "Int64", "decision": "Int64", "threshold": "Float64"}),
    ],
)
def test_the_output_columns_follow_the_model(
    artefact: str, dtypes: dict[str, str], request: pytest.FixtureRequest
) -> None:
    scorer = Scorer(Settings(artefact=request.getfixturevalue(artefact)))
    assert {name: scorer.output_dtypes[name] for name in dtypes} == dtypes
    assert list(scorer.output_dtypes)[-4:] == ["status", "errors", "warnings", "imputed"]
    if artefact == "regressor_artefact":
        assert not any(name.startswith("probability_") for name in scorer.output_dtypes)


def test_csv_text_cells_score_as_their_typed_values(
    pipeline_artefact: Path, patients: pd.DataFrame, tmp_path: Path
) -> None:
    # A number for a category reads as its text in CSV; text for a number is refused in both.
    patients = patients.astype({"age": object})
    patients.loc[4, "sex"] = "F"
    patients.loc[6, "age"] = "about 60"
    path = tmp_path / "patients.csv"
    patients.to_csv(path, index=False)
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    settings = Settings(artefact=pipeline_artefact)
    typed = Scorer(settings, id_columns=["patient_id"]).score(patients)
    read = Scorer(settings, id_columns=["patient_id"], cells_are_text=True).score(text)
    pd.testing.assert_frame_equal(read, typed, check_dtype=False)
    assert read["status"].tolist().count("refused") == 1


def test_a_missing_feature_column_is_named_before_anything_is_scored(
    pipeline_artefact: Path, patients: pd.DataFrame
) -> None:
    scorer = Scorer(Settings(artefact=pipeline_artefact), id_columns=["mrn"])
    with pytest.raises(MissingColumnsError, match=r"the table lacks 2 feature columns: bmi, ward"):
        scorer.score(patients.drop(columns=["bmi", "ward"]))
    with pytest.raises(MissingColumnsError, match=r"lacks 1 id column: mrn"):
        scorer.score(patients)


def test_the_scorer_pickles_without_its_model_and_loads_once_per_process(
    pipeline_artefact: Path, patients: pd.DataFrame
) -> None:
    scorer = Scorer(Settings(artefact=pipeline_artefact))
    sent = pickle.dumps(scorer)
    assert len(sent) < 20_000  # names and settings, no model
    first, second = pickle.loads(sent), pickle.loads(sent)
    first.score(patients.head(3))
    assert second.runtime is first.runtime
    # Another process unpickles it and scores the same.
    code = (
        "import io, pickle, sys, pandas as pd\n"
        "scorer = pickle.loads(sys.stdin.buffer.read())\n"
        "frame = pd.read_json(io.StringIO(sys.argv[1]), orient='split')\n"
        "print(scorer.score(frame)['prediction'].tolist())\n"
    )
    frame = patients.drop(columns="patient_id").head(20)
    result = subprocess.run(
        [sys.executable, "-c", code, frame.to_json(orient="split")],
        input=sent,
        capture_output=True,
        check=True,
    )
    assert result.stdout.decode().strip() == str(scorer.score(frame)["prediction"].tolist())


def test_a_scorer_pointed_at_a_different_artefact_refuses_it(
    pipeline_artefact: Path, binary_artefact: Path, tmp_path: Path
) -> None:
    scorer = Scorer(Settings(artefact=pipeline_artefact))
    moved = scorer.at(Path(shutil.copytree(binary_artefact, tmp_path / "other")))
    with pytest.raises(ArtefactHashError):
        moved.runtime  # noqa: B018
    copy = scorer.at(Path(shutil.copytree(pipeline_artefact, tmp_path / "copy")))
    assert copy.runtime.artefact.sha256 == scorer.sha256


def test_a_model_failing_its_self_test_scores_nothing(
    binary_artefact: Path, tmp_path: Path
) -> None:
    artefact = Path(shutil.copytree(binary_artefact, tmp_path / "broken"))
    examples_path = artefact / "self_test.json"
    examples = json.loads(examples_path.read_text())
    examples["predictions"][0] = 1 - examples["predictions"][0]
    examples_path.write_text(json.dumps(examples))
    manifest_path = artefact / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["self_test.json"].update(
        sha256=file_sha256(examples_path), bytes=examples_path.stat().st_size
    )
    manifest_path.write_text(json.dumps(manifest))
    scorer = Scorer(Settings(artefact=artefact))
    with pytest.raises(ModelNotReadyError, match=r"self-test failed.*no row was scored"):
        scorer.score(pd.DataFrame([examples["inputs"][0]]))


def test_each_scored_table_writes_an_audit_line_that_hashes_rows_as_predict_does(
    pipeline_artefact: Path, patients: pd.DataFrame, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"
    settings = Settings(artefact=pipeline_artefact, audit_log=log, audit_key=AUDIT_KEY)
    scorer = Scorer(settings, id_columns=["patient_id"], run_id="run-1")
    scorer.score(patients.head(10))
    scorer.score(patients.iloc[10:25])
    report = verify_chain(log)
    assert report.lines == 2
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["rows"] for line in lines] == [10, 15]
    assert {line["endpoint"] for line in lines} == {AUDIT_ENDPOINT}
    assert all(line["request_id"].startswith("run-1/") for line in lines)
    # No id column and no value is written; each row is its keyed hash, as /predict writes it.
    text = log.read_text()
    assert "p003" not in text and "patient_id" not in text
    row = _records(patients.drop(columns="patient_id").iloc[[3]])[0]
    found = list(find_records(log, input_hash=row_hmac(AUDIT_KEY.encode(), row)))
    assert len(found) == 1 and found[0]["rows"] == 10


def test_a_worker_unpickling_a_scorer_imports_no_web_stack() -> None:
    code = (
        "import sys, server.batch\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'gunicorn')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert result.stdout.decode().strip() == "[]"


def test_processes_sharing_a_machine_share_its_cores_unless_threads_are_set(
    pipeline_artefact: Path,
) -> None:
    scorer = Scorer(Settings(artefact=pipeline_artefact))
    cores = os.cpu_count() or 1
    assert scorer.sharing_cores(1).settings.model_thread_limit == cores
    assert scorer.sharing_cores(cores * 4).settings.model_thread_limit == 1
    pinned = Scorer(Settings(artefact=pipeline_artefact, model_threads=3))
    assert pinned.sharing_cores(64).settings.model_thread_limit == 3
