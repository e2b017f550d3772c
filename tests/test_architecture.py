"""The house plan, kept: small folders and modules, each subpackage behind a front door.

The import rules (which folder may import which) are import-linter's contracts in
pyproject.toml, run by ``lint-imports``; docs/architecture.md draws both.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(
    path.parent
    for top in ("deployml", "packager", "server")
    for path in (ROOT / top).rglob("__init__.py")
)
MAX_MODULES = 11
MAX_LINES = 300


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_folder_of_code_is_small_and_has_a_documented_front_door(package: Path) -> None:
    modules = [p for p in package.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(modules) <= MAX_MODULES
    front_door = ast.parse((package / "__init__.py").read_text())
    assert ast.get_docstring(front_door)
    if modules and package != ROOT / "deployml":
        exported = [n for n in front_door.body if isinstance(n, ast.Assign)]
        assert any(
            t.id == "__all__" for n in exported for t in n.targets if isinstance(t, ast.Name)
        )


@pytest.mark.parametrize(
    "module",
    sorted(p for package in PACKAGES for p in package.glob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_module_fits_in_three_hundred_lines_and_says_what_it_is(module: Path) -> None:
    text = module.read_text()
    assert len(text.splitlines()) <= MAX_LINES
    assert ast.get_docstring(ast.parse(text))


def test_the_architecture_page_names_every_module() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    modules = [p for package in PACKAGES for p in package.glob("*.py") if p.name != "__init__.py"]
    assert [str(m.relative_to(ROOT)) for m in modules if f" {m.name} " not in page] == []
