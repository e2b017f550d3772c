"""A property-based fuzzer (schemathesis) against a live gunicorn server: no request it makes
from the document gets a 5xx, and every answer conforms to the document (status code,
content type, body schema), on every route the document lists.

The document lists only the routes the server has (the other protocols' included, once
they are registered), so the run covers whatever the server speaks. Deterministic: hypothesis
is derandomized and keeps no example database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_openapi_document import train_pbc
from test_serve_end_to_end import DEPLOYML, clean_env, free_port, running

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 25}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real gunicorn server of a PBC model trained with its data dictionary: strings,
    numbers, number codes as categories, plausible limits, and threshold profiles."""
    folder = tmp_path_factory.mktemp("fuzz")
    artefact = train_pbc(folder)
    port = free_port()
    command = [*DEPLOYML, "serve", str(artefact), "--port", str(port), "--workers", "2"]
    log = folder / "serve.log"
    with running(command, port, log, clean_env()) as base:
        yield base


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(EXAMPLES))
def test_no_generated_request_gets_a_5xx_and_every_answer_matches_the_document(
    live: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{live}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {operation.path for operation in operations}
    assert {"/predict", "/metadata", "/docs", "/livez"} <= documented
    if mode == GenerationMode.NEGATIVE:
        # Only a body can be sent wrong: a bare GET has nothing to negate, and a path
        # parameter that takes any string (the model's name) has no wrong value to generate.
        operations = [op for op in operations if len(op.body)]
    session = requests.Session()
    answered: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES[mode],
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call_and_validate(base_url=live, session=session, checks=CHECKS)
            answered.setdefault(case.operation.label, set()).add(response.status_code)

        fuzz()
    # The fuzzer reached the model: rows scored, and rows refused with their problems.
    expected = {200} if mode == GenerationMode.POSITIVE else {400, 422}
    assert expected <= answered["POST /predict"], answered
