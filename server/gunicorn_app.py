"""Gunicorn options built from Settings, and running gunicorn in-process for ``deployml serve``.

The container's ``gunicorn --config python:server.gunicorn_config`` and ``deployml serve``
both take their options from :func:`gunicorn_options`, so they serve identically:

- ``gthread`` workers keep client connections alive between requests, which saves a TCP
  handshake per prediction; ``DEPLOYML_WORKER_THREADS`` (default 1) sets their threads.
  Their class, ``server.gunicorn_worker.ReadingWorker``, reads each request whole (within
  ``DEPLOYML_CLIENT_TIMEOUT`` seconds) before a thread takes it, so slow clients hold no
  thread.
- ``preload_app``: the model is loaded and self-tested once in the master, and the workers
  fork from it and share its memory.
- gunicorn's own access log is off; the app writes JSON lines without feature values.
- before forking, the master freezes its heap for the garbage collector (see
  :func:`freeze_heap`).
"""

from __future__ import annotations

import gc
import os
import shlex
import sys
from typing import Any

import orjson
from flask import Flask
from gunicorn.app.base import BaseApplication

from server.gunicorn_worker import reading_worker
from server.http import EXTENSION, State, create_app
from server.settings import Settings

__all__ = ["GunicornServer", "curl_example", "gunicorn_options", "serve"]

_SHARED_MEMORY = "/dev/shm"
# Seconds an idle client connection stays open: long enough for a client's next request,
# short enough that idle clients do not hold a worker's threads.
KEEPALIVE_SECONDS = 5
# Seconds a worker has to finish its requests after a restart or shutdown is asked for.
GRACEFUL_TIMEOUT_SECONDS = 10


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """Gunicorn settings (by their config-file names) for ``settings``."""
    options: dict[str, Any] = {
        "bind": [settings.bind],
        "workers": settings.workers,
        "worker_class": reading_worker(settings.client_timeout, settings.max_request_bytes),
        "threads": settings.worker_threads,
        "preload_app": True,
        "keepalive": KEEPALIVE_SECONDS,
        "timeout": settings.timeout,
        "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level,
        "proc_name": "deployml",
        # gunicorn >= 27 opens a control socket under $HOME by default: nothing here uses it,
        # and servers started side by side would contend for the one path.
        "control_socket_disable": True,
        "pre_fork": freeze_heap,
    }
    # The worker heartbeat file on a RAM disk never blocks on a slow or read-only disk.
    if os.path.isdir(_SHARED_MEMORY) and os.access(_SHARED_MEMORY, os.W_OK):
        options["worker_tmp_dir"] = _SHARED_MEMORY
    return options


def freeze_heap(server: Any, worker: Any) -> None:
    """Before each fork: move the loaded model and libraries out of the garbage collector's view.

    Workers then neither scan those objects in every full collection (a cost felt on large
    batches, which allocate enough to trigger them) nor touch their pages, which keeps the
    memory shared with the master.
    """
    gc.freeze()


class GunicornServer(BaseApplication):
    """Gunicorn serving an app that is already built (so start-up errors come first)."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply the options this gunicorn knows; it reads nothing from the command line."""
        for name, value in self.options.items():
            if name in self.cfg.settings:
                self.cfg.set(name, value)

    def load(self) -> Flask:
        """The prebuilt app."""
        return self.application


def curl_example(settings: Settings, state: State) -> str:
    """A ready-to-paste ``curl`` that posts the artefact's first stored example to /predict."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if ":" in host:
        host = f"[{host}]"
    body = orjson.dumps({"instances": state.runtime.artefact.examples.inputs[:1]}).decode()
    return (
        f"curl -s -X POST http://{host}:{settings.port}/predict "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )


def serve(settings: Settings) -> None:
    """Load the artefact (raising DeploymlError on any problem), then run gunicorn."""
    app = create_app(settings)
    state: State = app.extensions[EXTENSION]
    if state.runtime.artefact.examples.inputs:
        print(f"Try it:\n  {curl_example(settings, state)}", file=sys.stderr, flush=True)
    GunicornServer(app, gunicorn_options(settings)).run()
