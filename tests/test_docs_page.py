"""GET /docs: Swagger UI from the swagger-ui-bundle package, offline, under a strict policy.

The browser test opens the page of a real gunicorn in headless Chromium that can resolve no
host but this server (so a CDN could not be reached), and needs the operations listed, no
console error (a policy violation is one) and every resource loaded from the server itself.
Without Chromium it is skipped, unless ``CI_REQUIRE_BROWSER=1`` (see tests/test_card_page.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from test_card_page import chromium
from test_openapi_document import train_pbc
from test_serve_end_to_end import DEPLOYML, clean_env, free_port, running

# Every host name but the server's own address fails to resolve: no CDN can be reached.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@pytest.fixture(scope="module")
def pbc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_pbc(tmp_path_factory.mktemp("docs"))


def test_the_page_loads_swagger_ui_from_this_server_only(
    pbc: Path, client: Callable[..., FlaskClient]
) -> None:
    served = client(pbc)
    page = served.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy
    assert "http" not in policy and "unsafe" not in policy
    html = page.get_data(as_text=True)
    assert "http" not in html and "<script>" not in html  # no other origin, no inline script
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js", "openapi-3.0.json"):
        answer = served.get(f"/docs/{asset}")
        assert answer.status_code == 200, asset
        assert answer.headers["Content-Security-Policy"] == policy
    assert b"validatorUrl: null" in served.get("/docs/init.js").data
    assert served.get("/docs/index.html").status_code == 404  # only the files the page needs


def test_with_api_keys_the_docs_and_the_document_need_a_key(
    pbc: Path, client: Callable[..., FlaskClient], tmp_path: Path
) -> None:
    import hashlib

    keys = tmp_path / "keys.txt"
    digest = hashlib.sha256(b"secret-key-for-tests-0123456789").hexdigest()
    keys.write_text(f"ward-a {digest}\n")
    served = client(pbc, api_keys_file=keys)
    for path in ("/docs", "/docs/swagger-ui.css", "/openapi.json"):
        assert served.get(path).status_code == 401, path
    bearer = {"Authorization": "Bearer secret-key-for-tests-0123456789"}
    document = served.get("/openapi.json", headers=bearer).get_json()
    assert document["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    assert document["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "401" in document["paths"]["/predict"]["post"]["responses"]
    assert document["paths"]["/livez"]["get"]["security"] == []
    assert "401" not in document["paths"]["/readyz"]["get"]["responses"]


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium, offline but for the server."""
    with chromium(OFFLINE) as driver:
        yield driver


def test_the_docs_page_renders_offline_in_chromium_and_lists_predict(
    pbc: Path, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    command = [*DEPLOYML, "serve", str(pbc), "--port", str(port)]
    with running(command, port, tmp_path / "serve.log", clean_env()) as base:
        browser.get(f"{base}/docs")
        WebDriverWait(browser, 20).until(
            lambda driver: driver.find_elements("css selector", ".opblock-summary-path")
        )
        paths = [
            element.text
            for element in browser.find_elements("css selector", ".opblock-summary-path")
        ]
        # Opening /predict renders its body (the typical row), schemas and responses too.
        browser.find_element("css selector", ".opblock-post .opblock-summary").click()
        WebDriverWait(browser, 10).until(
            lambda driver: (
                driver.find_elements("css selector", ".opblock-post .body-param__example")
                or driver.find_elements("css selector", ".opblock-post .microlight")
            )
        )
        opened = browser.find_element("css selector", ".opblock-post").text
        loaded = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name);"
        )
        title = browser.find_element("css selector", ".info .title").text
        browser.save_screenshot(str(tmp_path / "docs.png"))
        logged = browser.get_log("browser")
    assert "/predict" in paths and "/metadata" in paths
    assert "pbc-logistic-regression" in title
    assert "albumin" in opened and "422" in opened
    assert loaded and all(url.startswith(f"{base}/docs/") for url in loaded), loaded
    assert [e for e in logged if e.get("level") in ("SEVERE", "WARNING")] == []
