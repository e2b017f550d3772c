"""The docs name only what exists: settings, and the modules and tests the threat model cites.

docs/security.md says which setting, module and test stops each attack; an operator follows
it to the letter, so a renamed setting or file must fail here rather than mislead them.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from server.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
# Read by .ci/run, not by the server.
CI_VARIABLES = {"DEPLOYML_SKIP_CONTAINER"}
VARIABLES = {PREFIX + field.name.upper() for field in dataclasses.fields(Settings)}
KNOWN = VARIABLES | CI_VARIABLES


def test_every_variable_the_docs_name_is_a_server_setting() -> None:
    named = {
        (doc.name, name)
        for doc in DOCS
        for name in re.findall(r"\bDEPLOYML_[A-Z0-9_]+", doc.read_text())
    }
    assert [(doc, name) for doc, name in sorted(named) if name not in KNOWN] == []


def test_the_settings_page_lists_every_setting() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    assert sorted(name for name in VARIABLES if f"| `{name}`" not in page) == []


def test_every_module_and_test_the_threat_model_cites_exists() -> None:
    page = (ROOT / "docs" / "security.md").read_text()
    cited = set(re.findall(r"`((?:server|packager|deployml)/[\w/]*(?:\.py|/))`", page))
    cited |= {f"tests/{name}" for name in re.findall(r"`(test_\w+\.py)`", page)}
    assert len(cited) > 20
    assert sorted(path for path in cited if not (ROOT / path).exists()) == []
