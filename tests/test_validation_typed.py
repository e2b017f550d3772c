"""Batch bodies decoded against the schema's types answer exactly as the generic path.

Property tests, on all-number and mixed schemas: over generated ``instances`` and columnar
bodies (good rows, nulls, wrong kinds, booleans, numeric strings, numbers beyond a type's
range or the plausible limits, integers beyond 64 bits, unseen categories, missing and
unknown keys, reordered and repeated columns, rows of the wrong length, bad options),
reading a body the typed way then validating it gives the same batch (a matrix bit for bit
and in the same layout; columns value for value and kind for kind), or the same error
(class, code, message and details in order), as parsing and validating it the generic way,
in both modes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packager.artefact.manifest import FeatureSpec, InputSpec
from packager.errors import RequestError
from server.audit import rows_of
from server.validation import Batch, Payload, Validator, parse_body, read_payload, typed

MAX_ROWS = 40

NULLABLE = InputSpec(
    format="dataframe",
    names_generated=False,
    features=(
        FeatureSpec("age", "number", nullable=False, dtype="float64", min=18, max=95),
        FeatureSpec("blood pressure", "number", nullable=True, dtype="float64", min=60, max=200),
        FeatureSpec("ratio", "number", nullable=True, dtype="float32", min=0.0, max=1.0),
        FeatureSpec(
            "weight",
            "number",
            nullable=False,
            dtype="float64",
            min=40,
            max=150,
            plausible_min=1,
            plausible_max=400,
            unit="kg",
        ),
    ),
)
NO_NULLS = InputSpec(
    format="array",
    names_generated=True,
    features=tuple(
        FeatureSpec(f"x{i}", "number", nullable=False, dtype="float64", min=-1, max=1)
        for i in range(3)
    ),
)
MIXED = InputSpec(
    format="dataframe",
    names_generated=False,
    features=(
        FeatureSpec("age", "integer", nullable=False, dtype="int64", min=18, max=95),
        FeatureSpec("bmi", "number", nullable=True, dtype="float64", min=15.0, max=40.0),
        FeatureSpec("sex", "category", nullable=False, dtype="object", categories=["F", "M"]),
        FeatureSpec("ward", "category", nullable=True, dtype="object", categories=["a", "b"]),
        FeatureSpec("stage", "category", nullable=False, dtype="int64", categories=[1, 2, 3]),
        FeatureSpec("smoker", "boolean", nullable=False, dtype="bool"),
        FeatureSpec("note", "string", nullable=True, dtype="object"),
        FeatureSpec("dose", "integer", nullable=True, dtype="int8", plausible_max=100),
    ),
)
VALIDATORS = {
    "nullable": Validator(NULLABLE),
    "no nulls": Validator(NO_NULLS),
    "row path": Validator(NULLABLE, columnwise_from=10**9),
    "mixed": Validator(MIXED, columnwise_from=3),
    "mixed row path": Validator(MIXED, columnwise_from=10**9),
    "mixed strict": Validator(MIXED, columnwise_from=3, strict_categories=True),
}

_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-500, max_value=500, allow_nan=False),
    st.floats(min_value=-500, max_value=500, allow_nan=False),
    st.integers(min_value=-5, max_value=300),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-5, max_value=300),
    st.sampled_from([0.0, -0.0, 3.4e38, 3.5e38, -3.5e38, 1e308, 2**53 + 1, 2**64 - 1]),
)
_odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["1", "2.5", "nan", "", "age"]),
    st.just([1.0]),
    st.just({"v": 1}),
)
_values = st.one_of(_numbers, _numbers, _odd_values, st.none())
# Numbers within every feature's limits.
_fitting = st.one_of(
    st.floats(min_value=1, max_value=1, allow_nan=False),
    st.floats(min_value=1, max_value=400, allow_nan=False),
    st.integers(min_value=1, max_value=400),
)
# Values each kind of a mixed schema accepts (some unseen categories, some out of range).
_FITTING = {
    "number": st.one_of(
        st.floats(-500, 500),
        st.integers(-5, 300),
        st.sampled_from([-0.0, 1e300, 2**64 - 1, 2**64, -(2**63) - 1]),
    ),
    "integer": st.one_of(st.integers(-5, 100), st.integers(-5, 100).map(float)),
    "boolean": st.booleans(),
    "string": st.text(max_size=3),
}


def _fitting_for(feature: FeatureSpec) -> st.SearchStrategy[Any]:
    if feature.kind == "category":
        seen = list(feature.categories or [])
        unseen = st.just("c" if isinstance(seen[0], str) else 4)
        return st.one_of(*[st.sampled_from(seen)] * 9, unseen)
    return _FITTING[feature.kind]


@st.composite
def _bodies(draw: st.DrawFn, features: tuple[FeatureSpec, ...]) -> bytes:
    """A batch body: instances or columnar, sometimes with options or an odd shape; a third
    of them valid batches whose numbers lie within every feature's limits."""
    names = [f.name for f in features]
    valid = draw(st.integers(0, 2)) == 0
    odd = st.just(False) if valid else st.integers(0, 5).map(lambda n: n == 0)
    if valid:
        # All-number schemas: within every limit; mixed: each feature's kinds.
        numbers = all(f.kind == "number" for f in features)
        fitting = {f.name: _fitting if numbers else _fitting_for(f) for f in features}
        present = st.fixed_dictionaries(
            {
                f.name: st.one_of(fitting[f.name], st.none()) if f.nullable else fitting[f.name]
                for f in features
            }
        )
    else:
        values = draw(st.sampled_from([_numbers, _values]))
        present = st.fixed_dictionaries({name: values for name in names})
    rows = draw(st.lists(present, min_size=0, max_size=6))
    if draw(odd) and rows:
        rows[-1] = dict(list(rows[-1].items())[1:])  # a missing key
    if draw(odd) and rows:
        rows[0] = {**rows[0], "extra": 1}  # an unknown key
    if draw(st.booleans()):
        body: dict[str, Any] = {"instances": rows}
        if draw(odd):
            body["instances"] = [*rows, [1, 2]]  # a row that is not an object
    else:
        columns = draw(st.sampled_from([names, names[::-1]]))
        if draw(odd):
            columns = draw(
                st.sampled_from([[*names[:-1], names[0]], names[:-1], [*names, "extra"]])
            )
        data = [[row.get(name) for name in columns] for row in rows]
        if data and draw(odd):
            data[-1] = data[-1][:-1]  # a row of the wrong length
        body = {"columns": columns, "data": data}
    if draw(st.integers(0, 4)) == 0:
        body["on_error"] = draw(st.sampled_from(["fail", "skip", "never", 1]))
    if draw(st.integers(0, 4)) == 0:
        body["profile"] = draw(st.sampled_from(["default", "site-b", 3, None]))
    if draw(odd):
        body["id"] = 1
    # The standard library writes integers beyond 64 bits, which orjson refuses to.
    return json.dumps(body).encode()


def _outcome(
    validator: Validator, body: bytes, mode: str, *, typed: bool, keep_rows: bool = False
) -> tuple[Any, ...]:
    """What reading and validating ``body`` gives: the payload's options and the batch, or
    the error's class, code, message and details; and, with ``keep_rows``, the rows as the
    audit trail hashes them."""
    try:
        payload = validator.read_typed(body, MAX_ROWS, keep_rows=keep_rows) if typed else None
        if payload is None:
            payload = read_payload(parse_body(body), MAX_ROWS, features=validator.known)
        batch = validator.validate(payload, payload.on_error or mode)
    except RequestError as error:
        return type(error), error.code, error.message, error.details
    hashed = _hashed(payload) if keep_rows else None
    return _options(payload), _contents(batch), hashed


def _hashed(payload: Payload) -> list[bytes]:
    """Each row's canonical JSON, which the audit trail hashes (numbers as read: 52 is not
    52.0)."""
    rows = rows_of(payload.records, payload.columns, payload.data)
    return [orjson.dumps(row, option=orjson.OPT_SORT_KEYS) for row in rows]


def _options(payload: Payload) -> tuple[Any, ...]:
    return payload.rows, payload.on_error, payload.profile, payload.names_profile


def _contents(batch: Batch) -> tuple[Any, ...]:
    """A batch as comparable values: the matrix bit for bit (NaN and -0.0 included), the
    columns value for value with each value's kind."""
    if batch.matrix is None:
        assert batch.columns is not None
        bits: Any = None
        layout: Any = None
        columns: Any = {
            name: [(type(v), repr(v)) for v in column] for name, column in batch.columns.items()
        }
    else:
        bits = batch.matrix.view(np.int64).tolist()
        # The layout too: a model's sums may round differently over another one.
        layout = batch.matrix.flags.c_contiguous, batch.matrix.flags.f_contiguous
        columns = batch.columns
    return (bits, layout, columns, batch.rows, batch.warnings, batch.imputed, batch.kept,
            batch.refused_rows, batch.errors)  # fmt: skip


@pytest.mark.parametrize("schema", sorted(VALIDATORS))
@pytest.mark.parametrize("mode", ["fail", "skip"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_typed_batches_answer_as_the_generic_path(
    schema: str, mode: str, data: st.DataObject
) -> None:
    validator = VALIDATORS[schema]
    body = data.draw(_bodies(validator.features))
    keep = data.draw(st.booleans())
    generic = _outcome(validator, body, mode, typed=False, keep_rows=keep)
    assert _outcome(validator, body, mode, typed=True, keep_rows=keep) == generic


@pytest.mark.parametrize(
    "body",
    [
        b'{"instances": [{"x0": 1e400, "x1": 0, "x2": 0}]}',
        b'{"instances": [{"x0": NaN, "x1": 0, "x2": 0}]}',
        b'{"instances": [{"x0": 1, "x1": 0, "x2": 0, "x0": true}]}',
        b'{"instances": [{"x0": 1, "x1": 0, "x2": 0}], "profile": "\\ud800"}',
        b'{"instances": [{"x0": 1, "x1": 0, "x2": 0}], "instances": []}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "columns": ["x2"]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "instances": []}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3], [[4], 5, 6]]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]]} trailing',
        b'\xef\xbb\xbf{"instances": [{"x0": 1, "x1": 0, "x2": 0}]}',
        b'{"instances": [{"x0": 1, "x1": 0, "x2": 0}], "on_error": "skip", "profile": "a"}',
        b'{"instances": [{"x0": 12345678901234567891, "x1": -0, "x2": -0.0}]}',
        b'{"instances": [{"x0": 18446744073709551616, "x1": 52, "x2": 52.0}]}',
        b'{"columns": ["x2", "x1", "x0"], "data": [[52, 52.0, 1e2], [-9223372036854775809, 0, 0]]}',
        # Columnar numbers are read by simdjson where it can: its refusals and its numbers.
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, [2], 3]]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3], {"a": 1, "b": 2, "c": 3}]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3], "abc"]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, null], [4, true, 6]]}',
        b'{"columns": ["x0", "x1", "x2"], "data": {"a": [1, 2, 3]}}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1E+2, -0, 4.9e-324], [1e-400, 0.1e1, -1e-7]]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[2.2250738585072011e-308,9007199254740993,1]]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1.7976931348623157e308, 1, 2]]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1.7976931348623159e308, 1, 2]]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[18446744073709551615, 1, 2]]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[0.30000000000000004, 1, 2e0]]}',
        # A whole columnar body read by simdjson, and what it leaves to msgspec.
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "data": [[4, 5, 6]]}',
        b'{"data": [[1, 2, 3]], "columns": ["x2", "x0", "x1"], "on_error": "skip"}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "profile": "\\u00e9"}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "profile": "\\ud800"}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "profile": null}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "on_error": "x", "on_error": "s"}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "profile": true}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "profile": 3}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "profile": ["a"]}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "profile": {"a": 1}}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "on_error": "never"}',
        b'{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]], "other": 1}',
        b'{"columns": ["x\\u0030", "x1", "x2"], "data": [[1, 2, 3]]}',
        b'{"columns": ["x0", "x1", "x[2"], "data": [[1, 2, 3]]}',
        b'{"columns": ["x0", "x1", "x2", "x0"], "data": [[1, 2, 3, 4]]}',
        b'{"columns": ["x0", "x1", 2], "data": [[1, 2, 3]]}',
        b'{"columns": "x0", "data": [[1, 2, 3]]}',
        b'{"data": [[1, 2, 3]]}',
        b'{"columns": ["x0", "x1", "x2"], "data": []}',
        b'\xef\xbb\xbf {"columns": ["x0", "x1", "x2"],\n "data": [[1, 2, 3]]}\n',
        b'[{"columns": ["x0", "x1", "x2"], "data": [[1, 2, 3]]}]',
    ],
)
def test_typed_reading_of_odd_json_answers_as_the_generic_path(body: bytes) -> None:
    validator = VALIDATORS["no nulls"]
    for mode, keep in [("fail", False), ("skip", False), ("fail", True)]:
        assert _outcome(validator, body, mode, typed=True, keep_rows=keep) == _outcome(
            validator, body, mode, typed=False, keep_rows=keep
        )


def test_typed_reading_takes_valid_instances_and_columns_in_any_order() -> None:
    validator = VALIDATORS["nullable"]
    rows = [
        {"age": 40, "blood pressure": None, "ratio": 0.5, "weight": 70.5},
        {"weight": 500 - 110, "ratio": None, "age": 30.25, "blood pressure": 120},
    ]
    columns = ["weight", "age", "ratio", "blood pressure"]
    bodies = [
        {"instances": rows, "on_error": "skip"},
        {"columns": columns, "data": [[r[c] for c in columns] for r in rows]},
    ]
    for body in bodies:
        payload = validator.read_typed(orjson.dumps(body), MAX_ROWS)
        assert payload is not None and payload.matrix is not None
        expected = [[40, np.nan, 0.5, 70.5], [30.25, 120, np.nan, 390]]
        np.testing.assert_array_equal(payload.matrix, expected)
        assert validator.validate(payload).imputed == [["blood pressure"], ["ratio"]]


def test_names_with_brackets_read_columnar_numbers_by_msgspec_then_simdjson(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = ["dose[mg]", "site{a}", "x"]
    spec = InputSpec(
        format="dataframe",
        names_generated=False,
        features=tuple(
            FeatureSpec(name, "number", nullable=False, dtype="float64", min=-9, max=9)
            for name in names
        ),
    )
    validator = Validator(spec)
    body = orjson.dumps({"columns": names[::-1], "data": [[1.5, -2, 3], [0, 0.25, 7]]})
    # The whole body would fail simdjson's count of brackets: it is not read twice.
    monkeypatch.setattr(typed, "columnar_numbers", lambda *args: pytest.fail("read whole"))
    spy = _Spy(typed.number_rows)
    monkeypatch.setattr(typed, "number_rows", spy)
    payload = validator.read_typed(body, MAX_ROWS)
    assert payload is not None and payload.matrix is not None and spy.calls == 1
    np.testing.assert_array_equal(payload.matrix, [[3, -2, 1.5], [7, 0.25, 0]])
    generic = _outcome(validator, body, "fail", typed=False)
    assert _outcome(validator, body, "fail", typed=True) == generic


class _Spy:
    """A function that counts its calls."""

    def __init__(self, function: Any) -> None:
        self.function, self.calls = function, 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.function(*args)


@pytest.mark.parametrize(
    "change",
    [
        {"age": True},
        {"age": "40"},
        {"age": None},
        {"ratio": 1e39},
        {"weight": 401},
        {"weight": 0},
        {"extra": 1},
    ],
)
def test_typed_reading_leaves_a_batch_needing_a_closer_look_to_the_generic_path(
    change: dict[str, Any],
) -> None:
    row = {"age": 40, "blood pressure": 120, "ratio": 0.5, "weight": 70.5, **change}
    assert VALIDATORS["nullable"].read_typed(orjson.dumps({"instances": [row]}), 10) is None


def test_typed_reading_leaves_empty_and_oversized_batches_to_the_generic_path() -> None:
    validator = VALIDATORS["no nulls"]
    row = {"x0": 0, "x1": 0, "x2": 0}
    assert validator.read_typed(orjson.dumps({"instances": []}), 10) is None
    assert validator.read_typed(orjson.dumps({"instances": [row] * 11}), 10) is None
    assert validator.read_typed(orjson.dumps({"instances": [row] * 10}), 10) is not None


def test_typed_reading_checks_a_mixed_batch_whole_in_any_column_order() -> None:
    validator = VALIDATORS["mixed"]
    rows = [
        {"age": 40, "bmi": None, "sex": "F", "ward": "c", "stage": 2, "smoker": True,
         "note": "x", "dose": 5.0},
        {"age": 61.0, "bmi": 27, "sex": "M", "ward": None, "stage": 3.0, "smoker": False,
         "note": None, "dose": None},
    ]  # fmt: skip
    order = list(validator.names)[::-1]
    for body in (
        {"instances": rows * 2},
        {"columns": order, "data": [[r[c] for c in order] for r in rows * 2]},
    ):
        payload = validator.read_typed(orjson.dumps(body), MAX_ROWS)
        assert payload is not None and payload.checked is not None
        assert payload.checked["age"] == (40, 61.0, 40, 61.0)
        assert list(payload.checked) == list(validator.names)
        batch = validator.validate(payload)
        assert batch.imputed == [["bmi"], ["ward", "note", "dose"]] * 2
        assert [w["feature"] for w in batch.warnings] == ["ward", "ward"]


@pytest.mark.parametrize(
    "change",
    [{"age": 40.5}, {"sex": "X"}, {"dose": 101}, {"dose": 2**64}, {"stage": "2"}, {"sex": None}],
)
def test_typed_reading_leaves_a_mixed_batch_with_a_problem_to_the_generic_path(
    change: dict[str, Any],
) -> None:
    row = {"age": 40, "bmi": 20.5, "sex": "F", "ward": "a", "stage": 1, "smoker": True,
           "note": "x", "dose": 1, **change}  # fmt: skip
    body = json.dumps({"instances": [row]}).encode()
    assert VALIDATORS["mixed strict"].read_typed(body, 10) is None


def test_typed_reading_is_off_where_a_body_could_be_read_two_ways() -> None:
    def spec(*features: FeatureSpec) -> InputSpec:
        return InputSpec(format="dataframe", names_generated=False, features=features)

    named = spec(FeatureSpec("data", "number", nullable=False, dtype="float64"))
    # msgspec would read the integer 2 as the float 2.0, which this category refuses.
    floats = spec(FeatureSpec("c", "category", nullable=False, dtype="object",
                              categories=[True, 1.5]))  # fmt: skip
    assert Validator(named).read_typed(orjson.dumps({"data": 1}), 10) is None
    assert Validator(floats).read_typed(orjson.dumps({"instances": [{"c": 1.5}]}), 10) is None


def _numbers_rows(names: list[str]) -> list[list[Any]]:
    """300 rows of numbers, some far outside the training range (for warnings), some
    integers."""
    rng = np.random.default_rng(0)
    rows: list[list[Any]] = (rng.normal(size=(300, len(names))) * 500 + 100).tolist()
    for row in rows[::5]:
        row[0] = round(row[0])  # sent as an integer
    return rows


def _patient_rows(names: list[str], patient_data: Any) -> list[list[Any]]:
    """The held-out patients (nulls among them), and a few unseen wards (for warnings)."""
    frame = patient_data[2][names].astype(object)
    rows: list[list[Any]] = frame.where(frame.notna(), None).to_numpy().tolist()
    ward = names.index("ward")
    for row in rows[::7]:
        row[ward] = "z"
    return rows


@pytest.mark.parametrize("audited", [False, True])
@pytest.mark.parametrize("model", ["numbers", "patients"])
@pytest.mark.parametrize("shape", ["instances", "columnar"])
def test_predict_answers_a_typed_batch_as_the_generic_path_does(
    request: pytest.FixtureRequest,
    client: Any,
    patient_data: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    shape: str,
    model: str,
    audited: bool,
) -> None:
    artefact = "binary_artefact" if model == "numbers" else "pipeline_artefact"
    log = tmp_path / "audit.jsonl"
    audit = {"audit_log": log, "audit_key": "k" * 32, "audit_key_id": "1"} if audited else {}
    served = client(request.getfixturevalue(artefact), **audit)
    validator = served.application.extensions["deployml"].runtime.validator
    names = list(validator.names)
    rows = _numbers_rows(names) if model == "numbers" else _patient_rows(names, patient_data)
    if shape == "instances":
        body: dict[str, Any] = {"instances": [dict(zip(names, r, strict=True)) for r in rows]}
    else:
        body = {"columns": names[::-1], "data": [r[::-1] for r in rows]}
    sent = orjson.dumps(body)
    assert validator.read_typed(sent, 10**4, keep_rows=audited)

    def answered() -> dict[str, Any]:
        response = served.post("/predict", data=sent, content_type="application/json")
        assert response.status_code == 200
        found: dict[str, Any] = response.get_json()
        found.pop("request_id")
        return found

    typed = answered()
    monkeypatch.setattr(Validator, "read_typed", lambda *_, **__: None)
    assert answered() == typed
    if audited:
        # The rows were hashed alike: as sent, numbers as read (52 is not 52.0).
        lines = [orjson.loads(line) for line in log.read_bytes().splitlines()]
        assert len(lines) == 2 and lines[0]["input_hmacs"] == lines[1]["input_hmacs"]
    assert typed["warnings"]
    if model == "patients":
        assert any(typed["imputed"])
