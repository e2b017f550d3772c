"""The public API of packager, pinned: other parts of deployml and users build on these names."""

import packager


def test_packager_exports_exactly_its_public_api() -> None:
    assert packager.__all__ == [
        "FORMAT_VERSION",
        "Artefact",
        "CapturedModel",
        "Examples",
        "Manifest",
        "ModelDetails",
        "Scores",
        "Verification",
        "capture",
        "compare_scores",
        "describe",
        "load_artefact",
        "load_model_file",
        "model_input",
        "package",
        "read_manifest",
        "score",
        "train",
        "verify",
    ]
    for name in packager.__all__:
        assert getattr(packager, name) is not None


def test_importing_packager_pulls_in_neither_flask_nor_click() -> None:
    import subprocess
    import sys

    code = "import sys, packager; print(any(m in sys.modules for m in ('flask', 'click')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
