"""Each peer server in its own virtual environment under bench/.venvs/, made by one command.

    python bench/peers.py setup                    # every peer; skips those already made
    python bench/peers.py setup --peers mlserver   # one peer; --force makes it anew

A peer's environment gets the peer's pinned packages and, as constraints, the exact
scikit-learn, numpy, scipy and joblib versions of the environment that runs the bench (and
deployml), so the one fitted model, written with joblib, loads unchanged in every server.
What was installed is written to ``bench/.venvs/<peer>/bench-versions.json`` and recorded in
each run's results. bench/.venvs/ is not committed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
VERSIONS_FILE = "bench-versions.json"
# Shared with deployml's environment, so that the same pickled estimator loads everywhere.
SHARED = ("scikit-learn", "numpy", "scipy", "joblib")
# The versions measured; change a pin here, then run setup with --force.
REQUIREMENTS: dict[str, tuple[str, ...]] = {
    # uvloop 0.22 makes MLServer 1.7's inference workers die at start.
    "mlserver": ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop<0.22"),
    "bentoml": ("bentoml==1.4.40",),
    "vetiver": ("vetiver==0.2.6", "uvicorn==0.54.0"),
    "mlflow": ("mlflow==3.17.2",),
}
# The packages whose versions a run records, per peer.
REPORTED: dict[str, tuple[str, ...]] = {
    "mlserver": ("mlserver", "mlserver-sklearn", "uvloop", "uvicorn", "fastapi"),
    "bentoml": ("bentoml", "uvicorn", "starlette"),
    "vetiver": ("vetiver", "fastapi", "uvicorn", "pydantic"),
    "mlflow": ("mlflow", "mlflow-skinny", "uvicorn", "fastapi", "gunicorn"),
}


class PeerMissing(RuntimeError):
    """A peer's environment has not been made (or was made for other shared versions)."""


def bin_path(peer: str, program: str) -> Path:
    """A program installed in ``peer``'s environment, e.g. its ``python`` or ``mlserver``."""
    return VENVS / peer / "bin" / program


def shared_pins() -> list[str]:
    """``name==version`` for each package shared with this (deployml's) environment."""
    return [f"{name}=={version(name)}" for name in SHARED]


def installed(peer: str) -> dict[str, Any]:
    """What setup recorded for ``peer``; PeerMissing if it was never made or is stale."""
    path = VENVS / peer / VERSIONS_FILE
    hint = f"run `python bench/peers.py setup --peers {peer}` first"
    if not path.exists():
        raise PeerMissing(f"{peer} is not set up: {hint}")
    recorded: dict[str, Any] = json.loads(path.read_text())
    if recorded.get("shared") != shared_pins():
        raise PeerMissing(
            f"{peer} was set up for {recorded.get('shared')}, this environment has "
            f"{shared_pins()}: {hint} --force"
        )
    return recorded


def setup(peers: list[str], force: bool = False) -> dict[str, str]:
    """Make each peer's environment; return, per peer, "ready" or why it failed."""
    outcome = {}
    for peer in peers:
        if not force:
            try:
                installed(peer)
                outcome[peer] = "ready (already set up)"
                continue
            except PeerMissing:
                pass
        outcome[peer] = _make(peer)
        print(f"{peer}: {outcome[peer]}", file=sys.stderr, flush=True)
    return outcome


def _make(peer: str) -> str:
    home = VENVS / peer
    home.mkdir(parents=True, exist_ok=True)
    (home / VERSIONS_FILE).unlink(missing_ok=True)
    print(f"{peer}: making {home.relative_to(HERE.parent)} (this takes minutes)", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    constraints = home / "bench-constraints.txt"
    constraints.write_text("\n".join(shared_pins()) + "\n")
    pip = [
        str(bin_path(peer, "python")),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    argv = [*pip, "-c", str(constraints), *REQUIREMENTS[peer], *shared_pins()]
    log = home / "bench-setup.log"
    with log.open("w") as handle:
        done = subprocess.run(argv, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-5:]
        return f"FAILED (pip exit {done.returncode}; see {log}): " + " | ".join(tail)
    versions = _versions(peer, (*REPORTED[peer], *SHARED))
    record = {
        "requirements": list(REQUIREMENTS[peer]),
        "shared": shared_pins(),
        "versions": versions,
    }
    (home / VERSIONS_FILE).write_text(json.dumps(record, indent=2))
    return "ready: " + ", ".join(f"{k} {v}" for k, v in versions.items())


def _versions(peer: str, names: tuple[str, ...]) -> dict[str, str]:
    """The installed version of each of ``names`` in ``peer``'s environment."""
    script = (
        "import json, sys\n"
        "from importlib.metadata import version, PackageNotFoundError\n"
        "def v(n):\n"
        "    try:\n        return version(n)\n"
        "    except PackageNotFoundError:\n        return 'not installed'\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
    )
    argv = [str(bin_path(peer, "python")), "-c", script, *names]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    found: dict[str, str] = json.loads(done.stdout)
    return found
