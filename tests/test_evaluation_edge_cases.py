"""Edge cases: read against the schema, run at capture, stored, re-run by verify and the server."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from packager import capture, load_artefact, package, summarise, train, verify
from packager.artefact import EDGE_CASES_FILE
from packager.errors import EdgeCaseFileError, EdgeCasesFailedError
from packager.evaluation import EvaluationPlan

Cancer = tuple[Pipeline, pd.DataFrame, pd.Series]
PatientData = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]
SECRET = 987654.321  # a feature value no error may quote


@pytest.fixture(scope="module")
def cancer() -> Cancer:
    """A binary classifier on five breast-cancer columns (0 malignant, 1 benign)."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :5]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(X.iloc[:400], y.iloc[:400]), X, y


def confident_rows(model: Any, X: pd.DataFrame, label: int, n: int) -> pd.DataFrame:
    """``n`` rows the model gives ``label`` with a probability over 0.9."""
    proba = model.predict_proba(X)[:, label]
    return X[proba > 0.9].head(n).reset_index(drop=True)


def passing_cases(cancer: Cancer) -> pd.DataFrame:
    """Two cases by label and one by a range of the score (the probability of class 1)."""
    model, X, _ = cancer
    rows = pd.concat([confident_rows(model, X, 0, 2), confident_rows(model, X, 1, 1)])
    rows = rows.reset_index(drop=True)
    rows["expected_label"] = ["0", "0", ""]
    rows["expected_min"] = ["", "", "0.5"]
    rows["expected_max"] = ["", "", ""]
    rows["note"] = ["large tumour", "large tumour, second", "small, regular cells"]
    rows["case"] = ["big-1", "big-2", ""]
    return rows


def write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_a_passing_suite_is_stored_hashed_summarised_and_rerun_by_verify(
    cancer: Cancer, tmp_path: Path
) -> None:
    model, X, y = cancer
    cases = write(passing_cases(cancer), tmp_path / "cases.csv")
    captured = capture(model, X, y, edge_cases=cases)
    path = package(captured, tmp_path / "artefact")
    artefact = load_artefact(path)
    summary = artefact.manifest.edge_cases
    assert summary is not None and (summary.total, summary.passed, summary.failing) == (3, 3, [])
    assert EDGE_CASES_FILE in artefact.manifest.files
    stored = json.loads((path / EDGE_CASES_FILE).read_text())["cases"]
    assert [c["id"] for c in stored] == ["big-1", "big-2", "case-3"]
    assert stored[0]["expected"] == {"label": 0}
    assert stored[2]["expected"] == {"min": 0.5, "max": None}
    score = model.predict_proba(pd.DataFrame([stored[2]["inputs"]]))[0, 1]
    assert stored[2]["outcome"] == {"prediction": 1, "score": pytest.approx(score), "passed": True}
    report = verify(path)
    assert report.ok, report.checks
    assert [c.detail for c in report.checks if c.name == "edge cases"] == [
        "3 cases re-run as recorded; 3 of 3 pass"
    ]
    assert "Edge cases: 3 cases, 3 pass" in summarise(artefact)
    # MODEL_CARD.md lists them case by case, as the HTML card and a derived artefact's card do.
    assert "| big-1 | large tumour | label 0 |" in (path / "MODEL_CARD.md").read_text()


def test_a_failing_case_blocks_packaging_a_capture_file_unless_failing_cases_are_allowed(
    cancer: Cancer, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    model, X, y = cancer
    capture(model, X, y).save(tmp_path / "model.joblib")
    frame = passing_cases(cancer)
    frame.loc[1, "expected_label"] = "1"
    cases = write(frame, tmp_path / "cases.csv")
    command = ("package", tmp_path / "model.joblib", "-o", tmp_path / "out", "--edge-cases", cases)
    result = runner(*command)
    assert result.exit_code == 1
    assert "1 edge case(s) fail, so nothing was written" in result.output
    assert "big-2 (large tumour, second): expected label 1, got 0 (score " in result.output
    assert not (tmp_path / "out").exists()
    allowed = runner(*command, "--allow-failing-edge-cases")
    assert allowed.exit_code == 0, allowed.output
    assert "Edge cases: 2 of 3 pass; failing (allowed): big-2" in allowed.output


@pytest.fixture(scope="module")
def allowed_failing(cancer: Cancer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An artefact packaged with one failing case, allowed."""
    tmp_path = tmp_path_factory.mktemp("failing")
    frame = passing_cases(cancer)
    frame.loc[1, "expected_label"] = "1"
    model, X, y = cancer
    plan = {"edge_cases": write(frame, tmp_path / "cases.csv"), "allow_failing_edge_cases": True}
    return package(capture(model, X, y, **plan), tmp_path / "artefact")


def test_an_allowed_failing_case_is_shown_as_failing_by_inspect_verify_and_metadata(
    allowed_failing: Path, runner: Callable[..., Result], client: Callable[..., Any]
) -> None:
    inspected = runner("inspect", allowed_failing)
    assert "Edge cases: 3 cases, 2 pass; FAILING (allowed at packaging): big-2" in inspected.output
    verified = runner("verify", allowed_failing)
    assert verified.exit_code == 0, verified.output
    assert "failing (allowed at packaging): big-2 (large tumour, second)" in verified.output
    metadata = client(allowed_failing).get("/metadata").get_json()
    assert metadata["ready"] is True
    shown = metadata["edge_cases"]
    assert (shown["failing"], shown["allowed_failing"], shown["passed"]) == (["big-2"], True, 2)
    assert shown["cases"][1]["outcome"]["passed"] is False and "inputs" not in shown["cases"][1]
    # MODEL_CARD.md, written at packaging, lists them case by case, as the page does.
    card = (allowed_failing / "MODEL_CARD.md").read_text()
    assert "| big-2 | large tumour, second | label 1 | label 0, score " in card
    assert re.search(r"\| big-2 \|[^\n]*\| FAIL \|\n", card)


def test_a_tampered_edge_case_file_fails_verification_by_its_hash(
    allowed_failing: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(allowed_failing, tmp_path / "copy"))
    cases = json.loads((copy / EDGE_CASES_FILE).read_text())
    cases["cases"][1]["outcome"]["passed"] = True
    (copy / EDGE_CASES_FILE).write_text(json.dumps(cases))
    report = verify(copy)
    assert not report.ok
    assert [c.detail for c in report.checks if c.name == "files"] == [
        f"{EDGE_CASES_FILE} differs from its SHA-256"
    ]


def rehashed_with_a_changed_outcome(artefact: Path, tmp_path: Path) -> Path:
    """A copy whose recorded outcome of case big-1 differs, with the hashes made consistent
    (as a model changed behind its records would look)."""
    copy = Path(shutil.copytree(artefact, tmp_path / "changed"))
    cases = json.loads((copy / EDGE_CASES_FILE).read_text())
    cases["cases"][0]["outcome"]["score"] = 0.5
    data = json.dumps(cases).encode()
    (copy / EDGE_CASES_FILE).write_bytes(data)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"][EDGE_CASES_FILE] = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_an_outcome_other_than_the_recorded_one_fails_verify_and_leaves_the_server_not_ready(
    allowed_failing: Path, tmp_path: Path, client: Callable[..., Any]
) -> None:
    changed = rehashed_with_a_changed_outcome(allowed_failing, tmp_path)
    report = verify(changed)
    failed = [c.detail for c in report.checks if c.status == "fail"]
    assert len(failed) == 1 and failed[0].startswith("edge case big-1: the model now gives 0")
    ready = client(changed).get("/readyz")
    assert ready.status_code == 503
    message = ready.get_json()["reason"]
    assert (
        "edge case big-1: the model now gives 0" in message and "recorded 0 (score 0.5)" in message
    )


def test_a_positive_class_changes_which_probability_a_range_bounds(
    cancer: Cancer, tmp_path: Path
) -> None:
    model, X, y = cancer
    rows = confident_rows(model, X, 0, 1)
    rows["expected_min"], rows["note"] = 0.9, "malignant is positive"
    suite = capture(model, X, y, positive_class=0, edge_cases=rows).edge_cases
    assert suite is not None and suite.cases[0].outcome is not None
    outcome = suite.cases[0].outcome
    assert outcome.passed and outcome.score == pytest.approx(
        model.predict_proba(rows.iloc[:, :5])[0, 0]
    )


def test_multiclass_cases_expect_a_label(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    rows = X.iloc[[0, 50, 100]].reset_index(drop=True)
    predicted = model.predict(rows)
    rows["expected_label"] = [str(predicted[0]), str(predicted[1]), str((predicted[2] + 1) % 3)]
    rows["note"] = "one of each species"
    suite = capture(model, X, y, edge_cases=rows, allow_failing_edge_cases=True).edge_cases
    assert suite is not None
    assert [c.outcome.passed for c in suite.cases if c.outcome] == [True, True, False]
    assert [c.outcome.score for c in suite.cases if c.outcome] == [None, None, None]
    assert suite.failing == ["case-3"]


def test_regression_cases_expect_a_range_of_the_prediction_either_bound_open(
    tmp_path: Path,
) -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = Ridge().fit(X, y)
    rows = X.iloc[:3].reset_index(drop=True)
    predicted = model.predict(rows)
    rows["expected_min"] = [predicted[0] - 1, None, predicted[2] + 1]
    rows["expected_max"] = [predicted[0] + 1, predicted[1] + 1, None]
    rows["note"] = "a narrow band, an upper bound, a bound missed"
    path = write(rows, tmp_path / "cases.csv")
    with pytest.raises(EdgeCasesFailedError) as raised:
        capture(model, X, y, edge_cases=path)
    assert raised.value.failures == [
        f"case-3 (a narrow band, an upper bound, a bound missed): expected at least "
        f"{predicted[2] + 1:.4g}, got {predicted[2]:.4g}"
    ]
    suite = capture(model, X, y, edge_cases=path, allow_failing_edge_cases=True).edge_cases
    assert suite is not None and suite.failing == ["case-3"]
    assert suite.cases[1].expected == {"min": None, "max": pytest.approx(predicted[1] + 1)}


def patient_cases(**changes: Any) -> pd.DataFrame:
    """One good case for the pipeline model (age, bmi, sex, ward, smoker), then ``changes``."""
    row = {"age": "60", "bmi": "", "sex": "F", "ward": "b", "smoker": "true"}
    row |= {"expected_label": "yes", "note": "an older smoker"}
    frame = pd.DataFrame([row])
    for column, value in changes.items():
        if value is None:
            frame = frame.drop(columns=[column])
        else:
            frame[column] = value
    return frame


BAD_FILES = [
    ({"bmi": None}, "lacks the feature column(s) bmi"),
    ({"height": "2"}, "column 'height': is neither a feature nor one of expected_label"),
    ({"expected_label": None}, "no expectation: give expected_label, or expected_min/"),
    ({"expected_label": ""}, "case case-1 (row 1): no expectation"),
    ({"expected_label": "maybe"}, "column 'expected_label': not a class of the model (no, yes)"),
    ({"expected_label": "", "expected_min": "0.8", "expected_max": "0.2"}, "expected_min is above"),
    ({"expected_min": "0.3"}, "give expected_label or a range, not both"),
    ({"expected_label": "", "expected_max": "1.5"}, "must be a probability from 0 to 1"),
    ({"note": " "}, "column 'note': the note is empty"),
    ({"note": None}, "column 'note': every case needs a note"),
    ({"age": str(SECRET)}, "column 'age': is not a whole number"),
    ({"bmi": "heavy"}, "column 'bmi': is not a finite number"),
    ({"sex": "X"}, "column 'sex': is not one of the categories the model was trained on"),
    ({"smoker": "sometimes"}, "column 'smoker': is not true or false"),
    ({"age": ""}, "column 'age': is empty, and this feature may not be missing"),
    ({"age": "1e30"}, "column 'age': is outside the range of this feature's type"),
    ({"age": "130"}, "column 'age': is outside the plausible limits for this feature (0 to 120 y"),
]
# Whole numbers, never missing, 0 to 120: what the data dictionary says of age here (the
# pipeline alone would let age be fractional, and missing, since it imputes it).
AGE = {"age": {"unit": "years", "min": 0, "max": 120, "integer": True, "nullable": False}}


@pytest.mark.parametrize(("changes", "expected"), BAD_FILES)
def test_a_bad_case_file_is_refused_in_one_line_naming_file_case_and_column(
    pipeline_model: Pipeline,
    patient_data: PatientData,
    tmp_path: Path,
    changes: dict[str, Any],
    expected: str,
) -> None:
    X, y, _, _ = patient_data
    path = write(patient_cases(**changes), tmp_path / "cases.csv")
    with pytest.raises(EdgeCaseFileError) as raised:
        capture(pipeline_model, X, y, edge_cases=path, features=AGE)
    message = raised.value.message
    assert message.startswith(f"edge cases {path}") and expected in message
    assert "\n" not in message and str(SECRET) not in message and "heavy" not in message


def test_a_good_patient_case_reads_each_kind_as_a_request_would_send_it(
    pipeline_model: Pipeline, patient_data: PatientData, tmp_path: Path
) -> None:
    X, y, _, _ = patient_data
    path = write(patient_cases(), tmp_path / "cases.csv")
    suite = capture(pipeline_model, X, y, edge_cases=path, allow_failing_edge_cases=True).edge_cases
    assert suite is not None
    inputs = suite.cases[0].inputs
    assert inputs == {"age": 60, "bmi": None, "sex": "F", "ward": "b", "smoker": True}
    row = pd.DataFrame([{**inputs, "bmi": np.nan}]).astype({"age": X["age"].dtype})
    assert suite.cases[0].outcome is not None
    assert suite.cases[0].outcome.prediction == pipeline_model.predict(row)[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "is empty"), ("age,bmi,sex,ward,smoker,note,expected_label\n", "holds no cases")],
)
def test_an_empty_case_file_is_refused(
    pipeline_model: Pipeline, patient_data: PatientData, tmp_path: Path, text: str, expected: str
) -> None:
    X, y, _, _ = patient_data
    path = tmp_path / "cases.csv"
    path.write_text(text)
    with pytest.raises(EdgeCaseFileError, match=expected):
        capture(pipeline_model, X, y, edge_cases=path)


HEAD = "age,bmi,sex,ward,smoker,expected_label,note\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # A trailing comma on every row: pandas would take the first column as an index and
        # shift each value into the next feature.
        (
            (HEAD + "60,,F,b,true,yes,a note,\n").encode(),
            "has rows longer than its header (a trailing comma?)",
        ),
        (
            (HEAD + "60,,F,b,true,yes,a note\n61,,F,b,true,yes,a note,\n").encode(),
            "is not a readable CSV file (Expected 7 fields in line 3, saw 8)",
        ),
        (
            (HEAD + "60,,F,b,true,yes,caf\xe9\n").encode("latin-1"),
            "is not UTF-8 text; save it as UTF-8 CSV",
        ),
    ],
    ids=["trailing comma", "a longer row", "latin-1"],
)
def test_a_file_of_the_wrong_shape_or_encoding_is_refused_in_one_line(
    pipeline_model: Pipeline, patient_data: PatientData, tmp_path: Path, data: bytes, expected: str
) -> None:
    X, y, _, _ = patient_data
    path = tmp_path / "cases.csv"
    path.write_bytes(data)
    with pytest.raises(EdgeCaseFileError) as raised:
        capture(pipeline_model, X, y, edge_cases=path)
    assert raised.value.message == f"edge cases {path}: {expected}"


def test_a_byte_order_mark_crlf_and_a_quoted_comma_are_read_as_a_spreadsheet_writes_them(
    pipeline_model: Pipeline, patient_data: PatientData, tmp_path: Path
) -> None:
    X, y, _, _ = patient_data
    path = tmp_path / "cases.csv"
    path.write_bytes(
        ("\ufeff" + HEAD + '60,,F,b,TRUE,yes,"old, smoker"\n').replace("\n", "\r\n").encode()
    )
    suite = capture(pipeline_model, X, y, edge_cases=path, allow_failing_edge_cases=True).edge_cases
    assert suite is not None
    assert suite.cases[0].inputs == {
        "age": 60,
        "bmi": None,
        "sex": "F",
        "ward": "b",
        "smoker": True,
    }
    assert suite.cases[0].note == "old, smoker"


def test_a_range_is_refused_for_a_multiclass_model_and_a_label_for_a_regressor(
    tmp_path: Path,
) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    rows = X.iloc[:1].assign(expected_min=0.5, note="ranged")
    with pytest.raises(EdgeCaseFileError, match="column 'expected_min': a multiclass"):
        capture(LogisticRegression(max_iter=1000).fit(X, y), X, y, edge_cases=rows)
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    rows = X.iloc[:1].assign(expected_label=1, note="labelled")
    with pytest.raises(EdgeCaseFileError, match="column 'expected_label': a regressor's cases"):
        capture(Ridge().fit(X, y), X, y, edge_cases=rows)


@pytest.mark.filterwarnings("ignore:column '(Pclass|SibSp)' holds")  # may be codes
def test_train_refuses_a_bad_case_file_before_fitting(
    passengers: pd.DataFrame, tmp_path: Path
) -> None:
    cases = passengers.drop(columns=["Survived"]).head(1).assign(note="no expectation")
    steps: list[str] = []
    with pytest.raises(EdgeCaseFileError, match="no expectation"):
        train(
            passengers,
            "Survived",
            cv=3,
            plots=False,
            progress=lambda step, done, total: steps.append(step),
            evaluation=EvaluationPlan(edge_cases=write(cases, tmp_path / "cases.csv")),
        )
    assert steps == []


def test_train_packages_passing_cases_from_the_command_line(
    passengers_csv: Path, tmp_path: Path, runner: Callable[..., Result]
) -> None:
    table = pd.read_csv(passengers_csv)
    women = table[(table["Sex"] == "female") & (table["Pclass"] == 1)].head(1)
    cases = women.drop(columns=["Survived", "PassengerId", "Name", "Cabin"])
    cases = cases.assign(expected_min=0.5, note="a first-class woman")
    path = write(cases, tmp_path / "cases.csv")
    out = tmp_path / "artefact"
    dropped = ("--drop", "PassengerId", "--drop", "Name", "--drop", "Cabin")
    options = ("--target", "Survived", "--no-plots", "--edge-cases", path, *dropped)
    result = runner("train", passengers_csv, *options, "-o", out)
    assert result.exit_code == 0, result.output
    assert "Edge cases: 1 of 1 pass" in result.output
    assert "Edge cases: 1 cases, 1 pass" in runner("inspect", out).output
