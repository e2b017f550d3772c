"""Gunicorn options built from Settings, and running gunicorn in-process for ``deployml serve``.

The container's ``gunicorn --config python:server.gunicorn_config`` and ``deployml serve``
both take their options from :func:`gunicorn_options`, so they serve identically:

- ``gthread`` workers keep client connections alive between requests, which saves a TCP
  handshake per prediction; ``DEPLOYML_WORKER_THREADS`` (default 1) sets their threads.
  Their class, ``server.gunicorn_worker.ReadingWorker`` (made by :func:`worker_class`),
  reads each request whole (within ``DEPLOYML_CLIENT_TIMEOUT`` seconds) before answering it,
  in its event loop when it has one thread, so slow clients hold no thread.
- ``preload_app``: the model is loaded and self-tested once in the master, and the workers
  fork from it and share its memory.
- gunicorn's own access log is off; the app writes JSON lines without feature values.
- requests gunicorn refuses itself get the JSON error shape, and its error log no request
  text (the ``post_worker_init`` and ``pre_request`` hooks from :mod:`server.http`).
- Prometheus counts live in prometheus-client's multiprocess directory, set up (and wiped)
  before the app is built (:func:`server.metrics.use_directory`); ``child_exit`` marks a
  dead worker there, ``post_worker_init`` counts each worker as live, and ``worker_exit``
  hands on the counts a stopping worker still keeps.
- each worker keeps blocks the size of a request body in its heap (:func:`keep_large_blocks`),
  and collects young garbage after 50,000 new objects rather than 700
  (:func:`collect_less_often`).
- before forking, the master freezes its heap for the garbage collector (see
  :func:`freeze_heap`) and gives the worker a slot in the table of open connections that
  spreads kept-alive connections over the workers (:mod:`server.gunicorn_balance`);
  ``child_exit`` frees a dead worker's slot.

gunicorn binds its address only after the model is loaded, and then retries a busy port five
times, logging each try; :func:`check_address` binds once first, so that both ways of starting
say in one line, at once, that the address cannot be used.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import os
import shlex
import socket
import sys
from typing import Any

import orjson
from flask import Flask
from gunicorn.app.base import BaseApplication

from packager.capture import TYPICAL, synthetic_rows
from server.app import create_app
from server.errors import ListenError
from server.gunicorn_balance import assign_slot, free_slot
from server.gunicorn_worker import ReadingWorker
from server.http import EXTENSION, State, install_refusals, log_request_start
from server.metrics import mark_worker_dead, release_directory, use_directory
from server.settings import Settings

__all__ = [
    "GunicornServer",
    "check_address",
    "curl_example",
    "gunicorn_options",
    "serve",
    "worker_class",
]

_SHARED_MEMORY = "/dev/shm"
# Seconds an idle client connection stays open: long enough for a client's next request,
# short enough that idle clients do not hold a worker's threads.
KEEPALIVE_SECONDS = 5
# glibc's mallopt parameters (malloc.h), and the sizes set for them in each worker.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES = 32 * 2**20  # the largest glibc takes
_TRIM_THRESHOLD_BYTES = 64 * 2**20
# New container objects between two collections of the youngest generation (Python's is 700).
_YOUNG_COLLECTION_OBJECTS = 50_000
# Seconds a worker has to finish its requests after a restart or shutdown is asked for.
GRACEFUL_TIMEOUT_SECONDS = 10
# Set when gunicorn re-executes itself (USR2) or systemd hands over sockets already bound:
# the address is then ours, and binding it again would fail.
_INHERITED_SOCKETS = ("GUNICORN_FD", "LISTEN_FDS")


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """Gunicorn settings (by their config-file names) for ``settings``."""
    options: dict[str, Any] = {
        "bind": [settings.bind],
        "workers": settings.workers,
        "worker_class": worker_class(settings),
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
        "pre_fork": prepare_fork,
        # gunicorn's own refusals (malformed requests) in the JSON error shape, and its
        # error log kept free of request text.
        "post_worker_init": start_worker,
        "pre_request": log_request_start,
        # A dead worker's counts stay in /metrics; its live gauges and its balance slot go.
        "child_exit": worker_gone,
        "worker_exit": stop_worker,
    }
    # The worker heartbeat file on a RAM disk never blocks on a slow or read-only disk.
    if os.path.isdir(_SHARED_MEMORY) and os.access(_SHARED_MEMORY, os.W_OK):
        options["worker_tmp_dir"] = _SHARED_MEMORY
    return options


def worker_class(settings: Settings) -> type[ReadingWorker]:
    """The worker class for the settings' limits (gunicorn takes a class, not an instance)."""
    limits = {
        "client_timeout": float(settings.client_timeout),
        "max_body_bytes": settings.max_request_bytes,
    }
    return type("ReadingWorker", (ReadingWorker,), limits)


def check_address(settings: Settings) -> None:
    """Raise ListenError unless ``settings.host`` and ``settings.port`` can be bound now."""
    if any(name in os.environ for name in _INHERITED_SOCKETS):
        return
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As gunicorn binds: a port left in TIME_WAIT is free, one with a listener is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((settings.host, settings.port))
    except OSError as error:  # socket.gaierror (a host name that does not resolve) among them
        raise ListenError(
            settings.host,
            settings.port,
            error.strerror or str(error),
            in_use=error.errno == errno.EADDRINUSE,
        ) from None


def freeze_heap(server: Any, worker: Any) -> None:
    """Before each fork: move the loaded model and libraries out of the garbage collector's view.

    Workers then neither scan those objects in every full collection (a cost felt on large
    batches, which allocate enough to trigger them) nor touch their pages, which keeps the
    memory shared with the master.
    """
    gc.freeze()


def prepare_fork(server: Any, worker: Any) -> None:
    """gunicorn's ``pre_fork`` hook: the heap frozen, and a connection-table slot assigned."""
    freeze_heap(server, worker)
    assign_slot(server, worker)


def worker_gone(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook: the worker's live gauges and its table slot freed."""
    mark_worker_dead(server, worker)
    free_slot(server, worker)


def keep_large_blocks() -> None:
    """Blocks up to 32 MiB come from the heap, and up to 64 MiB of freed heap is kept.

    glibc maps each block above 128 KiB to itself and unmaps it when it is freed, so every
    large request (its body, its matrix, its answer) faulted in fresh pages: 3,900-4,600 page
    faults and 6-10 ms of system time per 10,000-row columnar request, against 1,600-1,800
    and 3-4 ms kept (measured, one worker). The cost is up to 64 MiB per worker held after a large
    request, in practice 5-9 MiB (measured). Nothing happens without glibc's ``mallopt``.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)


def collect_less_often() -> None:
    """The garbage collector's youngest generation collected after 50,000 new objects.

    A 10,000-row columnar body decodes into 10,000 lists; at Python's 700 the collector ran
    some fifteen times per request and scanned each list in every generation it reached:
    3-6 ms of a 25-29 ms request (measured in-process). The heap frozen before the fork is
    never scanned either way; cyclic garbage waits at most 50,000 allocations.
    """
    gc.set_threshold(_YOUNG_COLLECTION_OBJECTS, *gc.get_threshold()[1:])


def start_worker(worker: Any) -> None:
    """gunicorn's ``post_worker_init`` hook: large blocks kept, fewer collections, gunicorn's
    refusals in the JSON error shape, and the worker counted as live in /metrics."""
    keep_large_blocks()
    collect_less_often()
    install_refusals(worker)
    current: State = worker.wsgi.extensions[EXTENSION]
    if current.metrics is not None:
        current.metrics.worker_started()


def stop_worker(server: Any, worker: Any) -> None:
    """gunicorn's ``worker_exit`` hook: the counts the worker still keeps go to /metrics."""
    app = getattr(worker, "wsgi", None)
    current: State | None = None if app is None else app.extensions.get(EXTENSION)
    if current is not None and current.metrics is not None:
        current.metrics.flush()


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
    """A ready-to-paste ``curl`` posting a row made from the schema to /predict.

    Never a stored row: a format 1.x artefact's examples are real, and the banner may end up
    in a log collector. The typical synthetic row is what a 2.0 artefact self-tests with.
    """
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if ":" in host:
        host = f"[{host}]"
    row = synthetic_rows(state.runtime.artefact.manifest.input)[TYPICAL]
    body = orjson.dumps({"instances": [row]}).decode()
    # With API keys, the client's key is left for the shell to fill in from $API_KEY.
    auth = "" if settings.api_keys_file is None else '-H "Authorization: Bearer $API_KEY" '
    return (
        f"curl -s -X POST http://{host}:{settings.port}/predict "
        f"-H 'Content-Type: application/json' {auth}-d {shlex.quote(body)}"
    )


def serve(settings: Settings) -> None:
    """Check the address, load the artefact (raising DeploymlError on any problem), run gunicorn."""
    check_address(settings)
    use_directory(settings)  # before the app creates a metric
    try:
        app = create_app(settings)
    except BaseException:
        release_directory()  # this process serves nothing: leave prometheus-client as it was
        raise
    state: State = app.extensions[EXTENSION]
    print(f"Try it:\n  {curl_example(settings, state)}", file=sys.stderr, flush=True)
    GunicornServer(app, gunicorn_options(settings)).run()
