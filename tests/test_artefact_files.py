"""Reading an artefact's files safely: no symbolic links anywhere in it, and JSON files only up
to a size cap, refused from their size without being read."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from packager.artefact import load_artefact, read_manifest
from packager.artefact.files import MAX_JSON_BYTES, file_record, read_capped
from packager.errors import IntegrityError, ManifestError
from packager.review import verify
from server import Settings, create_app

LINKED = "is a symbolic link; an artefact may hold no links"


def _copy(artefact: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(artefact, tmp_path / "copy"))


def _link_outside(copy: Path, name: str, tmp_path: Path) -> None:
    """Replace ``name`` by a link to an identical copy outside the artefact."""
    outside = tmp_path / "outside" / name
    outside.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(copy / name, outside)
    (copy / name).symlink_to(outside, target_is_directory=outside.is_dir())


@pytest.mark.parametrize("name", ["manifest.json", "self_test.json", "model.skops", "plots"])
def test_a_link_to_outside_the_artefact_is_refused_by_inspect_verify_and_serve(
    binary_artefact: Path, tmp_path: Path, name: str, runner: Callable[..., Result]
) -> None:
    copy = _copy(binary_artefact, tmp_path)
    if name == "plots":
        (copy / "plots").mkdir()
    _link_outside(copy, name, tmp_path)
    # The linked files are byte for byte the packaged ones: only the link is refused.
    with pytest.raises(IntegrityError, match=f"{name}: {LINKED}"):
        load_artefact(copy)
    with pytest.raises(IntegrityError, match=f"{name}: {LINKED}"):
        create_app(Settings(artefact=copy))
    inspected = runner("inspect", copy)
    assert inspected.exit_code == 1
    assert inspected.output.startswith(f"Error: {name}: {LINKED}")
    report = verify(copy)
    assert not report.ok
    assert [(c.name, c.status) for c in report.checks] == [("files", "fail")]
    verified = runner("verify", copy)
    assert verified.exit_code == 1 and LINKED in verified.output


def test_a_link_inside_the_artefact_is_refused_too(binary_artefact: Path, tmp_path: Path) -> None:
    copy = _copy(binary_artefact, tmp_path)
    (copy / "plots").mkdir()
    (copy / "plots" / "card.md").symlink_to(copy / "MODEL_CARD.md")
    with pytest.raises(IntegrityError, match=f"plots/card.md: {LINKED}"):
        read_manifest(copy)


def test_the_artefact_directory_itself_may_be_a_link(binary_artefact: Path, tmp_path: Path) -> None:
    # The usual way to switch versions: current -> v3.
    current = tmp_path / "current"
    current.symlink_to(_copy(binary_artefact, tmp_path), target_is_directory=True)
    assert load_artefact(current).manifest.model.name == "breast-cancer"


def test_a_manifest_that_is_not_a_regular_file_is_refused(
    binary_artefact: Path, tmp_path: Path
) -> None:
    copy = _copy(binary_artefact, tmp_path)
    (copy / "manifest.json").unlink()
    os.mkfifo(copy / "manifest.json")  # a reader would otherwise wait for a writer forever
    with pytest.raises(ManifestError, match=r"manifest\.json: is not a regular file"):
        read_manifest(copy)


@pytest.mark.parametrize("name", ["manifest.json", "self_test.json"])
def test_a_json_file_over_the_cap_is_refused_from_its_size(
    binary_artefact: Path, tmp_path: Path, name: str
) -> None:
    copy = _copy(binary_artefact, tmp_path)
    os.truncate(copy / name, MAX_JSON_BYTES + 1)  # sparse: nothing is written
    if name == "self_test.json":
        # Re-recorded, as whoever can write the volume could, so the hashes do not refuse it.
        data = json.loads((copy / "manifest.json").read_text())
        data["files"][name] = dataclasses.asdict(file_record(copy / name))
        (copy / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=f"{name}: is 33,554,433 bytes, more than the 32 MiB"):
        load_artefact(copy)


def test_a_file_at_the_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 1000)
    assert len(read_capped(path, limit=1000)) == 1000
    with pytest.raises(ManifestError, match="is 1,000 bytes, more than"):
        read_capped(path, limit=999)


def test_a_500_mb_manifest_is_refused_without_reading_it(
    binary_artefact: Path, tmp_path: Path
) -> None:
    copy = _copy(binary_artefact, tmp_path)
    os.truncate(copy / "manifest.json", 500 * 2**20)
    code = (
        "import resource, sys\n"
        "from deployml.cli import main\n"
        "try:\n"
        "    main(['inspect', sys.argv[1]])\n"
        "except SystemExit as done:\n"
        "    print(done.code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )

    def inspect(artefact: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, str(artefact)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    result = inspect(copy)
    assert result.stderr.strip() == (
        f"Error: {copy / 'manifest.json'}: is 524,288,000 bytes, "
        "more than the 32 MiB deployml reads"
    )
    exit_code, peak_kib = result.stdout.split()
    assert exit_code == "1"
    # Against inspecting the intact artefact in the same way (the imports' peak depends on
    # what is installed beside deployml): reading the file would add 500 MiB.
    intact_peak_kib = inspect(binary_artefact).stdout.split()[-1]
    assert int(peak_kib) < int(intact_peak_kib) + 100 * 1024
