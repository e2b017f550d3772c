#!/usr/bin/env python3
"""Check a running deployml server from outside: readiness, /predict (with its decisions, the
features each row sent as null, and a batch skipping its invalid row), /metadata, the card
page at /, a 4xx error, and the other protocols: the Open Inference Protocol's infer and
MLflow's /invocations answering as /predict does, /openapi.json, /docs, /metrics and /drift.

    python .ci/check_service.py http://127.0.0.1:8000 [--deadline 90] [--examples self_test.json]

Sends SENTINEL as a feature value in one bad request; callers can check their logs lack it.

Standard library only, so it runs against any server, in a container or not. Exits non-zero
with one line naming the first check that failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

READY_PATH = "/readyz"
SENTINEL = "deployml-smoke-sentinel-value"
TIMEOUT = 10


def call(base: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
    """One request; returns the status and the parsed JSON body."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    method = "GET" if data is None else "POST"
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_ready(base: str, deadline: float) -> None:
    """Poll the readiness endpoint until it answers 200 or the deadline passes."""
    stop = time.monotonic() + deadline
    last = "no answer"
    while time.monotonic() < stop:
        try:
            status, _ = call(base, READY_PATH)
            if status == 200:
                return
            last = f"status {status}"
        except (OSError, ValueError) as error:
            last = type(error).__name__
        time.sleep(1)
    sys.exit(f"FAIL: {base}{READY_PATH} not ready within {deadline:.0f}s ({last})")


def example_rows(base: str, examples: Path | None) -> list[dict[str, Any]]:
    """Rows to score: the artefact's stored self-test rows, else the server's own example."""
    if examples is not None:
        stored = json.loads(examples.read_text())
        return list(stored["inputs"])[:3]
    status, metadata = call(base, "/metadata")
    expect(status == 200, f"/metadata answered {status}")
    return list(metadata["example"]["request"]["instances"])


def text(base: str, path: str) -> tuple[str, str]:
    """GET ``path``: its content type and its body as text."""
    with urllib.request.urlopen(base + path, timeout=TIMEOUT) as response:
        return response.headers.get_content_type(), response.read().decode()


def check_protocols(
    base: str, metadata: dict[str, Any], rows: list[dict[str, Any]], predicted: list[Any]
) -> None:
    """The same rows through the Open Inference Protocol and MLflow's protocol, and the
    documentation and metrics routes."""
    names = [feature["name"] for feature in metadata["input"]["features"]]
    model = metadata["model"]["name"]
    status, answer = call(base, "/invocations", {"dataframe_records": rows})
    expect(status == 200, f"/invocations answered {status}")
    expect(answer.get("predictions") == predicted, "/invocations predicts otherwise than /predict")
    status, model_metadata = call(base, f"/v2/models/{model}")
    expect(status == 200, f"/v2/models/{model} answered {status}")
    types = {tensor["name"]: tensor["datatype"] for tensor in model_metadata["inputs"]}
    inputs = [
        {"name": n, "shape": [len(rows)], "datatype": types[n], "data": [r[n] for r in rows]}
        for n in names
    ]
    status, answer = call(base, f"/v2/models/{model}/infer", {"id": "smoke", "inputs": inputs})
    expect(status == 200, f"/v2/models/{model}/infer answered {status}")
    expect(answer.get("id") == "smoke", "the Open Inference Protocol answer lacks the request id")
    outputs = {tensor["name"]: tensor["data"] for tensor in answer["outputs"]}
    expect(outputs.get("predict") == predicted, "infer predicts otherwise than /predict")
    status, document = call(base, "/openapi.json")
    expect(status == 200 and str(document.get("openapi", "")).startswith("3.1"), "no OpenAPI 3.1")
    expect(all(n in json.dumps(document) for n in names), "/openapi.json lacks feature names")
    kind, _ = text(base, "/docs")
    expect(kind == "text/html", "/docs is not a page")
    kind, scraped = text(base, "/metrics")
    expect("deployml_requests_total" in scraped, "/metrics lacks deployml_requests_total")
    expect(SENTINEL not in scraped, "/metrics holds a submitted value")
    status, _ = call(base, "/drift")
    expect(status == 200, f"/drift answered {status}")


def expect(condition: bool, problem: str) -> None:
    if not condition:
        sys.exit(f"FAIL: {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("--deadline", type=float, default=90)
    parser.add_argument("--examples", type=Path)
    args = parser.parse_args()
    base = args.base.rstrip("/")

    wait_ready(base, args.deadline)

    status, metadata = call(base, "/metadata")
    expect(status == 200, f"/metadata answered {status}")
    expect("input" in metadata, "/metadata has no input schema")

    rows = example_rows(base, args.examples)
    status, answer = call(base, "/predict", {"instances": rows})
    expect(status == 200, f"/predict answered {status}: {answer.get('error', {}).get('code')}")
    expect(len(answer["predictions"]) == len(rows), "/predict returned another number of rows")
    predicted = answer["predictions"]
    names = [feature["name"] for feature in metadata["input"]["features"]]
    nulls = [[name for name in names if name in row and row[name] is None] for row in rows]
    expect(answer.get("imputed") == nulls, "/predict's imputed does not list each row's nulls")
    profile = (metadata.get("profiles") or {}).get("default")
    if profile is not None:  # a binary classifier decides under its default profile
        expect(answer.get("profile", {}).get("name") == profile, "/predict names another profile")
        expect(len(answer.get("decisions", [])) == len(rows), "/predict lacks one decision a row")
    page = urllib.request.urlopen(base + "/", timeout=TIMEOUT)
    expect(page.headers.get_content_type() == "text/html", "GET / is not the model card page")
    expect("default-src 'none'" in page.headers.get("Content-Security-Policy", ""), "no CSP on /")

    unknown = {**rows[0], "no_such_feature": 1}
    status, answer = call(base, "/predict", {"instances": [unknown]})
    expect(400 <= status < 500, f"a row with an unknown feature answered {status}, not 4xx")
    error = answer.get("error", {})
    expect(bool(error.get("code")) and bool(error.get("message")), "the 4xx body lacks error.code")

    # An array is refused whatever the feature's kind (a string would be valid for a string
    # or category feature, and an unseen category only a warning).
    bad = {**rows[0], next(iter(rows[0])): [SENTINEL]}
    status, answer = call(base, "/predict", {"on_error": "skip", "instances": [*rows, bad]})
    expect(status == 200, f"a batch skipping its invalid row answered {status}, not 200")
    expect(answer.get("refused_rows") == [len(rows)], "skip mode refused other rows")
    expect(answer["predictions"][-1] is None, "skip mode predicted for the refused row")
    expect(SENTINEL not in json.dumps(answer), "skip mode echoes the submitted value")

    status, answer = call(base, "/predict", raw=b"{not json")
    expect(status == 400, f"malformed JSON answered {status}, not 400")

    # A value that must never come back in an error (nor reach a log: .ci/container-smoke).
    first = next(iter(rows[0]))
    status, answer = call(base, "/predict", {"instances": [{**rows[0], first: [SENTINEL]}]})
    expect(status == 422, f"an array for {first!r} answered {status}, not 422")
    expect(SENTINEL not in json.dumps(answer), "the error echoes the submitted value")

    check_protocols(base, metadata, rows, predicted)
    print(
        f"ok: {base} ready, /metadata, /predict ({len(rows)} rows, decisions, imputed, a skipped "
        "row), the card page, 4xx errors as documented, the Open Inference Protocol, MLflow's "
        "/invocations, /openapi.json, /docs, /metrics and /drift"
    )


if __name__ == "__main__":
    main()
