"""Edge cases: rows a clinician expects the model to get right, checked at packaging and after.

A case file (CSV, or a DataFrame) has one column per model feature, an expectation
(``expected_label``, or ``expected_min``/``expected_max``: a range of the positive class's
probability for a binary classifier, of the prediction for a regressor; either bound may be
empty), a ``note`` saying why the case matters and, optionally, a ``case`` id. Every value is
read against the recorded schema into the JSON value a request would send, so a case is
scored exactly as a request would be. Errors name the file, the case and the column, never a
feature's value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from packager.artefact import (
    EDGE_CASES_FILE,
    EdgeCase,
    EdgeCases,
    InputSpec,
    Label,
    Outcome,
    Outputs,
    TargetSpec,
    describe_expected,
    for_people,
    json_value,
    label_from_text,
    model_input,
    model_outputs,
    records_to_columns,
    same_output,
    value_from_text,
)
from packager.errors import EdgeCaseFileError, EdgeCasesFailedError
from packager.evaluation.plan import EdgeCaseSource, EvaluationPlan

__all__ = [
    "CASE_COLUMNS",
    "changed_outcomes",
    "describe_case",
    "describe_expected",
    "edge_case_suite",
    "judge",
    "parse_edge_cases",
    "rerun_edge_cases",
]

LABEL, LOW, HIGH, NOTE, CASE = "expected_label", "expected_min", "expected_max", "note", "case"
CASE_COLUMNS = (LABEL, LOW, HIGH, NOTE, CASE)
_FIELDS = re.compile(r"Expected \d+ fields in line \d+, saw \d+")


def edge_case_suite(
    model: Any, spec: InputSpec, target: TargetSpec, plan: EvaluationPlan
) -> EdgeCases | None:
    """The plan's edge cases, read and run against ``model``; failing ones raise unless the
    plan allows them. None when the plan gives none."""
    if plan.edge_cases is None:
        return None
    source = _name(plan.edge_cases)
    cases = parse_edge_cases(plan.edge_cases, spec, target)
    try:
        outputs = _outputs(model, spec, target, cases)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        # The estimator's own message may quote values, so only its type is shown.
        raise EdgeCaseFileError(
            source, f"the model could not score the cases ({type(error).__name__})"
        ) from error
    judged = judge(cases, outputs, target, source)
    failing = [case for case in judged.cases if case.outcome and not case.outcome.passed]
    if failing and not plan.allow_failing_edge_cases:
        raise EdgeCasesFailedError([describe_case(case) for case in failing])
    return judged


def rerun_edge_cases(
    model: Any, spec: InputSpec, target: TargetSpec, cases: EdgeCases
) -> list[str]:
    """What differs when ``model`` re-runs the stored ``cases``; empty when every outcome is
    as recorded. A failure to score is itself the finding."""
    try:
        fresh = judge(cases, _outputs(model, spec, target, cases), target, EDGE_CASES_FILE)
    except Exception as error:  # any failure to re-score is itself the finding
        return [f"re-running the edge cases raised {type(error).__name__}"]
    return changed_outcomes(cases, fresh)


def changed_outcomes(recorded: EdgeCases, fresh: EdgeCases) -> list[str]:
    """One line per case whose fresh outcome differs from the recorded one, naming its id."""
    problems = []
    for old, new in zip(recorded.cases, fresh.cases, strict=True):
        was, now = old.outcome, new.outcome
        if was is None or now is None:
            problems.append(f"edge case {old.id} has no recorded outcome")
        elif not (
            same_output(was.prediction, now.prediction)
            and same_output(was.score, now.score)
            and was.passed == now.passed
        ):
            problems.append(
                f"edge case {old.id}: the model now gives {_got(now)}, recorded {_got(was)}"
            )
    return problems


def judge(cases: EdgeCases, outputs: Outputs, target: TargetSpec, source: str) -> EdgeCases:
    """The cases with the outcome ``outputs`` (the model's, row for row) gives each."""
    positive = _positive(target)
    judged = []
    for i, case in enumerate(cases.cases):
        score = None
        if positive is not None and outputs.probabilities is not None:
            score = outputs.probabilities[i][list(target.classes or ()).index(positive)]
        prediction = outputs.predictions[i]
        value = prediction if target.task == "regression" else score
        if "label" not in case.expected and value is None:
            raise EdgeCaseFileError(
                source, "a score range needs probabilities; this model gives none", case.id
            )
        outcome = Outcome(prediction, score, _passed(case.expected, prediction, value))
        judged.append(replace(case, outcome=outcome))
    return EdgeCases(judged)


def _passed(expected: dict[str, Any], prediction: Any, value: Any) -> bool:
    """Whether the prediction is the expected label, or ``value`` lies in the expected range."""
    if "label" in expected:
        return same_output(expected["label"], prediction)
    low, high = expected.get("min"), expected.get("max")
    return (low is None or float(value) >= float(low)) and (
        high is None or float(value) <= float(high)
    )


def parse_edge_cases(source: EdgeCaseSource, spec: InputSpec, target: TargetSpec) -> EdgeCases:
    """Read the cases of ``source`` against the schema and the target; no model is run."""
    name = _name(source)
    frame = _frame(source, name)
    columns = [str(c) for c in frame.columns]
    missing = [f for f in spec.names if f not in columns]
    if missing:
        raise EdgeCaseFileError(name, f"lacks the feature column(s) {', '.join(missing)}")
    unknown = [c for c in columns if c not in spec.names and c not in CASE_COLUMNS]
    if unknown:
        raise EdgeCaseFileError(
            name, "is neither a feature nor one of " + ", ".join(CASE_COLUMNS), column=unknown[0]
        )
    _check_expectation_columns(name, columns, target)
    if NOTE not in columns:
        raise EdgeCaseFileError(name, "every case needs a note saying why it matters", column=NOTE)
    if frame.empty:
        raise EdgeCaseFileError(name, "holds no cases")
    cases: list[EdgeCase] = []
    for row, values in enumerate(frame.to_dict("records"), start=1):
        text = {str(k): _text(v) for k, v in values.items()}
        case = _case(name, row, text, spec, target)
        if any(c.id == case.id for c in cases):
            raise EdgeCaseFileError(name, "this id is given to more than one case", case.id, CASE)
        cases.append(case)
    return EdgeCases(cases)


def _name(source: EdgeCaseSource) -> str:
    return "(a DataFrame)" if isinstance(source, pd.DataFrame) else str(source)


def _frame(source: EdgeCaseSource, name: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    try:
        # Every cell as text: each is then read as its feature's kind, as a request would be.
        frame = pd.read_csv(Path(source), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise EdgeCaseFileError(name, "is empty") from None
    except UnicodeDecodeError:
        raise EdgeCaseFileError(name, "is not UTF-8 text; save it as UTF-8 CSV") from None
    except pd.errors.ParserError as error:
        where = _FIELDS.search(str(error))  # where the shape breaks; pandas quotes no cell
        detail = f" ({where.group(0)})" if where else ""
        raise EdgeCaseFileError(name, f"is not a readable CSV file{detail}") from None
    except OSError as error:
        raise EdgeCaseFileError(name, f"cannot be read: {error.strerror}") from None
    if not isinstance(frame.index, pd.RangeIndex):  # else each value moved to the next feature
        raise EdgeCaseFileError(name, "has rows longer than its header (a trailing comma?)")
    return frame


def _check_expectation_columns(name: str, columns: Sequence[str], target: TargetSpec) -> None:
    ranged = [c for c in (LOW, HIGH) if c in columns]
    if LABEL not in columns and not ranged:
        raise EdgeCaseFileError(name, f"no expectation: give {LABEL}, or {LOW}/{HIGH}")
    if target.task == "regression" and LABEL in columns:
        raise EdgeCaseFileError(name, f"a regressor's cases give {LOW}/{HIGH}", column=LABEL)
    if target.task == "multiclass" and ranged:
        raise EdgeCaseFileError(
            name,
            f"a multiclass classifier's cases give {LABEL}; a range applies to a binary "
            "classifier's score or a regressor's prediction",
            column=ranged[0],
        )


def _text(value: Any) -> str:
    """A cell as text ("" when missing); a typed DataFrame cell as Python would print it."""
    if isinstance(value, str):
        return value
    value = json_value(value)
    return "" if value is None else str(value)


def _case(
    name: str, row: int, text: dict[str, str], spec: InputSpec, target: TargetSpec
) -> EdgeCase:
    case_id = text.get(CASE, "").strip() or f"case-{row}"
    where = f"{case_id} (row {row})"
    note = text.get(NOTE, "").strip()
    if not note:
        raise EdgeCaseFileError(name, "the note is empty; say why the case matters", where, NOTE)
    inputs = {}
    for feature in spec.features:
        try:
            inputs[feature.name] = value_from_text(text[feature.name], feature)
        except ValueError as error:
            raise EdgeCaseFileError(name, str(error), where, feature.name) from None
    return EdgeCase(case_id, note, inputs, _expected(name, where, text, target))


def _expected(name: str, where: str, text: dict[str, str], target: TargetSpec) -> dict[str, Any]:
    label, low, high = (text.get(c, "").strip() for c in (LABEL, LOW, HIGH))
    if label and (low or high):
        raise EdgeCaseFileError(name, f"give {LABEL} or a range, not both", where, LABEL)
    if label:
        classes = target.classes or []
        found = label_from_text(label, classes)
        if found is None:
            known = ", ".join(str(c) for c in classes)
            raise EdgeCaseFileError(name, f"not a class of the model ({known})", where, LABEL)
        return {"label": found}
    if not (low or high):
        raise EdgeCaseFileError(name, f"no expectation: give {LABEL}, or {LOW}/{HIGH}", where)
    bounds = {}
    for key, column, given in (("min", LOW, low), ("max", HIGH, high)):
        bounds[key] = _bound(name, where, column, given, target.task == "binary")
    if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
        raise EdgeCaseFileError(name, f"{LOW} is above {HIGH}", where, LOW)
    return bounds


def _bound(name: str, where: str, column: str, given: str, probability: bool) -> float | None:
    if not given:
        return None
    try:
        value = float(given)
    except ValueError:
        raise EdgeCaseFileError(name, "is not a number", where, column) from None
    if not math.isfinite(value) or (probability and not 0 <= value <= 1):
        within = "a probability from 0 to 1" if probability else "a finite number"
        raise EdgeCaseFileError(name, f"must be {within}", where, column)
    return value


def _outputs(model: Any, spec: InputSpec, target: TargetSpec, cases: EdgeCases) -> Outputs:
    rows = [case.inputs for case in cases.cases]
    return model_outputs(
        model, model_input(records_to_columns(rows, spec.names), spec), target.task
    )


def _positive(target: TargetSpec) -> Label | None:
    if target.task != "binary" or not target.classes:
        return None
    return target.classes[1] if target.positive_class is None else target.positive_class


def _got(outcome: Outcome) -> str:
    score = "" if outcome.score is None else f" (score {for_people(outcome.score)})"
    return f"{for_people(outcome.prediction)}{score}"


def describe_case(case: EdgeCase) -> str:
    """A case for people: its id, note, expectation and what the model gave."""
    got = "nothing" if case.outcome is None else _got(case.outcome)
    return f"{case.id} ({case.note}): expected {describe_expected(case.expected)}, got {got}"
