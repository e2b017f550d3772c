"""The public APIs, pinned: users and the other packages of deployml build on these names."""

import packager
import server


def test_packager_exports_exactly_its_public_api() -> None:
    assert packager.__all__ == [
        "FORMAT_VERSION",
        "Artefact",
        "CapturedModel",
        "Examples",
        "Manifest",
        "ModelDetails",
        "ModelFormat",
        "Outputs",
        "Verification",
        "capture",
        "compare_outputs",
        "load_artefact",
        "load_model_file",
        "model_input",
        "model_outputs",
        "package",
        "read_manifest",
        "summarise",
        "train",
        "verify",
    ]
    for name in packager.__all__:
        assert getattr(packager, name) is not None


def test_server_exports_exactly_its_public_api() -> None:
    assert server.__all__ == ["Settings", "create_app"]


def test_importing_packager_pulls_in_neither_flask_nor_click() -> None:
    import subprocess
    import sys

    code = "import sys, packager; print(any(m in sys.modules for m in ('flask', 'click')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_the_command_line_starts_without_flask_or_gunicorn() -> None:
    import subprocess
    import sys

    code = (
        "import sys, deployml.cli; "
        "print(sorted(m for m in ('flask', 'gunicorn', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_python_m_deployml_is_the_deployml_command() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "deployml", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    for command in ("example", "inspect", "package", "serve", "train", "verify"):
        assert f"  {command}  " in out.stdout


def test_every_name_a_package_exports_is_one_of_its_members() -> None:
    # A stray line in an __all__ list breaks `from package import *` for every user.
    import importlib
    import pkgutil

    for root in (packager, server):
        for found in pkgutil.walk_packages(root.__path__, f"{root.__name__}."):
            if not found.ispkg:
                continue
            package = importlib.import_module(found.name)
            for name in getattr(package, "__all__", ()):
                assert hasattr(package, name), f"{found.name}.__all__ names {name!r}"


def test_compile_exports_exactly_its_public_api() -> None:
    import packager.compile

    assert packager.compile.__all__ == [
        "COMPILERS",
        "EXTRA",
        "TOLERANCE",
        "CompileError",
        "CompiledDiffersError",
        "OnnxModel",
        "UnconvertibleStepError",
        "beyond",
        "compile_model",
        "differences",
        "onnxruntime_version",
    ]


def test_importing_packager_and_the_server_pulls_in_no_onnx_package() -> None:
    import subprocess
    import sys

    code = (
        "import sys, packager, packager.compile, server, deployml.cli; "
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'skl2onnx') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
