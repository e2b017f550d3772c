"""The audit record: a row's keyed hash, the same whatever the order of its keys or its shape."""

from __future__ import annotations

import hashlib
import hmac

from server.audit import AuditRequest, canonical_row, default_key_id, row_hmac, rows_of
from server.audit.record import audit_record

KEY = b"audit-test-key-0123456789abcdef"
MODEL = {"name": "readmission", "version": "1.2.0", "sha256": "ab" * 32}


def test_a_row_hashes_the_same_whatever_the_order_of_its_keys() -> None:
    one = {"age": 52, "sex": "F", "bmi": 27.5, "smoker": False, "ward": None}
    other = {"ward": None, "smoker": False, "bmi": 27.5, "sex": "F", "age": 52}
    assert row_hmac(KEY, one) == row_hmac(KEY, other)
    assert row_hmac(KEY, one) != row_hmac(KEY, {**one, "age": 53})


def test_the_hash_is_hmac_sha256_of_sorted_compact_json() -> None:
    row = {"b": "é", "a": 1.5}
    assert canonical_row(row) == '{"a":1.5,"b":"é"}'.encode()
    expected = hmac.new(KEY, canonical_row(row), hashlib.sha256).hexdigest()
    assert row_hmac(KEY, row) == expected
    assert row_hmac(b"another-key-0123456789", row) != expected


def test_a_columnar_row_hashes_as_the_same_row_sent_as_an_object() -> None:
    columnar = rows_of(None, ["sex", "age"], [["F", 52], ["M", 61]])
    assert [row_hmac(KEY, r) for r in columnar] == [
        row_hmac(KEY, {"age": 52, "sex": "F"}),
        row_hmac(KEY, {"age": 61, "sex": "M"}),
    ]


def test_a_columnar_row_of_the_wrong_shape_is_hashed_as_sent() -> None:
    rows = rows_of(None, ["sex", "age"], [["F", 52], 5, ["F"], ["F", 52, 1], {"sex": "F"}])
    assert rows == [{"sex": "F", "age": 52}, 5, ["F"], ["F", 52, 1], {"sex": "F"}]
    assert len({row_hmac(KEY, r) for r in rows}) == len(rows)


def test_the_default_key_id_names_the_key_without_revealing_it() -> None:
    assert default_key_id(KEY) == hashlib.sha256(KEY).hexdigest()[:8]
    assert default_key_id(KEY) != default_key_id(KEY + b"x")


def test_a_record_holds_hashes_kinds_and_outputs_but_no_value() -> None:
    request = AuditRequest(
        request_id="r-1",
        endpoint="/predict",
        method="POST",
        status=200,
        latency_ms=3.2,
        caller="ward-7",
        rows=[{"age": 52, "sex": "ZQXJ-PATIENT-NAME"}],
        predictions=["yes"],
        probabilities=[{"no": 0.25, "yes": 0.75}],
        warnings=[{"row": 0, "feature": "sex", "problem": "a category not seen in training"}],
    )
    record = audit_record(request, MODEL, KEY, default_key_id(KEY))
    assert "ZQXJ-PATIENT-NAME" not in str(record)
    assert record["input_hmacs"] == [row_hmac(KEY, {"age": 52, "sex": "ZQXJ-PATIENT-NAME"})]
    assert record["rows"] == 1 and record["caller"] == "ward-7"
    assert record["model"] == MODEL
    assert record["outputs"] == [{"prediction": "yes", "probabilities": {"no": 0.25, "yes": 0.75}}]
    assert record["warnings"] == [
        {"row": 0, "feature": "sex", "kind": "a category not seen in training"}
    ]
    assert record["profile"] is None and record["threshold"] is None


def test_a_record_names_the_profile_and_keeps_each_rows_decision_with_its_outputs() -> None:
    request = AuditRequest(
        request_id="r-2",
        endpoint="/predict",
        method="POST",
        status=200,
        latency_ms=1.0,
        rows=[{"age": 52}, {"age": 61}],
        predictions=["no", "no"],
        probabilities=[{"no": 0.75, "yes": 0.25}, {"no": 0.9, "yes": 0.1}],
        profile="site-b",
        threshold=0.2,
        decisions=["yes", "no"],
    )
    record = audit_record(request, MODEL, KEY, default_key_id(KEY))
    assert (record["profile"], record["threshold"]) == ("site-b", 0.2)
    assert [o["decision"] for o in record["outputs"]] == ["yes", "no"]
    assert record["outputs"][0]["probabilities"] == {"no": 0.75, "yes": 0.25}
