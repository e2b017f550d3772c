"""prometheus-client's multiprocess mode for gunicorn's workers: the directory, and the
registry /metrics reads.

Each worker counts in its own memory-mapped files in one directory (prometheus-client's
``PROMETHEUS_MULTIPROC_DIR``), and /metrics, answered by whichever worker gets the scrape,
adds every worker's files up with ``MultiProcessCollector``. :func:`use_directory` picks the
directory (``DEPLOYML_METRICS_DIR``, else a fresh private one), deletes the counts a previous
run left there, and switches prometheus-client's value class to the memory-mapped one: it
must run before any metric is created, in the process that builds the app (gunicorn's master,
which the workers fork from). Without it (a Flask test client, one process) each app counts
in its own registry. :func:`mark_worker_dead` is gunicorn's ``child_exit`` hook: a dead
worker's counts stay in the sums; its live gauges go.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, multiprocess, values

from packager.errors import ConfigError
from server.settings import PREFIX, Settings

__all__ = [
    "ENVIRONMENT",
    "exposed_registry",
    "mark_worker_dead",
    "multiprocess_on",
    "release_directory",
    "use_directory",
]

# The variable prometheus-client reads to find (and to turn on) multiprocess mode.
ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"
_SHARED_MEMORY = Path("/dev/shm")
_PREFIX = "deployml-metrics-"
# prometheus-client's files; nothing else in a given directory is deleted.
_FILES = "*.db"
_SETTING = PREFIX + "METRICS_DIR"


def use_directory(settings: Settings) -> Path | None:
    """Set up multiprocess mode for ``settings`` (None when metrics are off): the directory,
    emptied of earlier counts, in the environment, and prometheus-client switched to it.

    Raises ConfigError when the directory cannot be emptied or written (a read-only mount),
    or, without one given, when no private directory can be made: the workers could not count.
    """
    if not settings.metrics:
        return None
    try:
        if settings.metrics_dir is not None:
            directory = settings.metrics_dir
            for stale in directory.glob(_FILES):
                stale.unlink()
            # Each process opens its files for writing when it makes its first metric.
            with tempfile.TemporaryFile(dir=directory):
                pass
        else:
            directory = _fresh_directory()
    except OSError as error:
        where = (
            f"cannot write in {settings.metrics_dir}"
            if settings.metrics_dir is not None
            else "not set, and no private directory can be made in /dev/shm or the temporary "
            "directory"
        )
        raise ConfigError(
            _SETTING,
            f"{where} ({error.strerror or error}); give a writable directory for the metrics' "
            f"files, or set {PREFIX}METRICS=false",
        ) from None
    os.environ[ENVIRONMENT] = str(directory)
    # prometheus-client chose its value class when it was first imported; choose again now
    # that the variable is set (its metrics look the class up each time they make a value).
    values.ValueClass = values.get_value_class()
    return directory


def release_directory() -> None:
    """Undo :func:`use_directory` in a process that will not serve after all (its app could
    not be built): back to counting in each app's own registry."""
    os.environ.pop(ENVIRONMENT, None)
    values.ValueClass = values.get_value_class()


def multiprocess_on() -> bool:
    """Whether metric values live in the multiprocess directory's files."""
    return getattr(values.ValueClass, "_multiprocess", False) and ENVIRONMENT in os.environ


def exposed_registry(own: CollectorRegistry) -> CollectorRegistry:
    """What /metrics and /drift read: every worker's files added up, else the app's own."""
    if not multiprocess_on():
        return own
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, os.environ[ENVIRONMENT])
    return registry


def mark_worker_dead(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook: drop the dead worker's live gauges (counts stay)."""
    if ENVIRONMENT in os.environ:
        multiprocess.mark_process_dead(worker.pid)


def _fresh_directory() -> Path:
    """A new directory only this user can read, on a RAM disk when there is one; removed when
    the process that made it (gunicorn's master) exits."""
    shared = _SHARED_MEMORY.is_dir() and os.access(_SHARED_MEMORY, os.W_OK)
    made = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=_SHARED_MEMORY if shared else None))
    owner = os.getpid()
    atexit.register(_remove, made, owner)
    return made


def _remove(directory: Path, owner: int) -> None:
    # Forked workers inherit the exit handler; only the master removes the directory.
    if os.getpid() == owner:
        shutil.rmtree(directory, ignore_errors=True)
