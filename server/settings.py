"""The server's settings: the one place that reads ``DEPLOYML_*`` environment variables.

Every variable is parsed and validated here, once, at start-up; a bad value raises
:class:`~packager.errors.ConfigError` naming the variable. Everything else in ``server``
takes a :class:`Settings` as an argument. ``docs/settings.md`` lists every variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from packager.errors import ConfigError, KeysFileError
from server.api_keys import read_api_keys

__all__ = ["LOG_LEVELS", "ON_ERROR", "PORTS", "PREFIX", "WORKERS", "Settings"]

PREFIX = "DEPLOYML_"
LOG_LEVELS = ("debug", "info", "warning", "error")
# Allowed ranges, inclusive; the command line checks its options against the same ones.
PORTS = (1, 65535)
WORKERS = (1, 64)
THREADS = (1, 256)
REQUEST_BYTES = (1024, 2**31)
ROWS = (1, 10_000_000)
TIMEOUTS = (1, 3600)
# An audit key shorter than this is refused: HMAC under a short key can be brute-forced.
MIN_AUDIT_KEY = 16
MAX_PROFILE_NAME = 100
# What a batch with invalid rows gets: refused whole, or its valid rows scored.
ON_ERROR = ("fail", "skip")
_KEY_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """Validated server settings; build with :meth:`from_env` or directly in tests."""

    artefact: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    worker_threads: int = 1
    model_threads: int | None = None
    max_request_bytes: int = 10 * 2**20
    max_rows: int = 10_000
    log_level: str = "info"
    strict_categories: bool = False
    # What a batch with invalid rows gets when it does not say ("on_error"): "fail" refuses
    # the whole batch, "skip" scores the valid rows and lists the others' problems.
    on_error: str = "fail"
    strict_versions: bool = False
    timeout: int = 30
    audit_log: Path | None = None
    # The HMAC key of the audit log's input hashes: a secret, kept out of repr and logs.
    audit_key: str | None = field(default=None, repr=False)
    audit_key_id: str | None = None
    audit_fail_open: bool = False
    audit_fsync: bool = False
    api_keys_file: Path | None = None
    allow_pickle: bool = False
    expected_sha256: str | None = None
    client_timeout: int = 15
    # The threshold profile in force when a request names none; checked against the
    # artefact's profiles when it is loaded (server.runtime.profiles).
    profile: str | None = None
    # Prometheus /metrics and /drift; off, neither route exists and nothing is counted.
    metrics: bool = True
    # Where gunicorn's workers keep their counts for /metrics to add up (wiped of earlier
    # counts at start-up); None: a fresh private directory made at start-up.
    metrics_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.audit_log is not None and self.audit_key is None:
            raise ConfigError(
                PREFIX + "AUDIT_KEY",
                f"not set; {PREFIX}AUDIT_LOG needs a secret key for the input hashes "
                f"(at least {MIN_AUDIT_KEY} characters)",
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, str] | None = None
    ) -> Settings:
        """Read and validate every ``DEPLOYML_*`` variable (default: ``os.environ``).

        ``overrides`` maps names without the prefix (``"PORT"``) to values that take
        precedence, such as command-line options; they are validated the same way.
        """
        merged = dict(os.environ if environ is None else environ)
        merged.update({PREFIX + key: value for key, value in (overrides or {}).items()})
        env = _Env(merged)
        # Each variable is its field's name in capitals; an unset one keeps the field's default.
        return cls(
            **{
                name: env.get(name.upper(), parse, getattr(cls, name))
                for name, parse in _PARSERS.items()
            }
        )

    @property
    def bind(self) -> str:
        """The gunicorn bind address, ``host:port`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def model_thread_limit(self) -> int:
        """OpenMP/BLAS threads each worker may use: the setting, else cores // workers, min 1."""
        if self.model_threads is not None:
            return self.model_threads
        return max(1, (os.cpu_count() or 1) // self.workers)

    def require_artefact(self) -> Path:
        """The artefact directory, or a ConfigError saying it was not given."""
        if self.artefact is None:
            raise ConfigError(PREFIX + "ARTEFACT", "not set; give the artefact directory")
        return self.artefact


class _Env:
    """Looks variables up by suffix and wraps parse failures in a ConfigError."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def get(self, suffix: str, parse: Callable[[str], T], default: T) -> T:
        name = PREFIX + suffix
        raw = self.environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return parse(raw.strip())
        except ValueError as error:
            raise ConfigError(name, str(error)) from None


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected one of true/false, yes/no, on/off, 1/0")


def _log_level(raw: str) -> str:
    lowered = raw.lower()
    if lowered not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return lowered


def _on_error(raw: str) -> str:
    lowered = raw.lower()
    if lowered not in ON_ERROR:
        raise ValueError(f"expected one of {', '.join(ON_ERROR)}")
    return lowered


def _host(raw: str) -> str:
    if any(ch.isspace() or ch in "/@" for ch in raw):
        raise ValueError("expected a host name or IP address")
    return raw.strip("[]")


def _directory(raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise ValueError(f"{path} is not a directory")
    return path


def _audit_log(raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_dir() and not path.parent.is_dir():
        raise ValueError(f"{path.parent} is not a directory; give a file or a directory")
    return path


def _secret(raw: str) -> str:
    # The message must not quote the key.
    if len(raw) < MIN_AUDIT_KEY:
        raise ValueError(f"too short; use at least {MIN_AUDIT_KEY} characters (32 random bytes)")
    return raw


def _key_id(raw: str) -> str:
    if not _KEY_ID.fullmatch(raw):
        raise ValueError("expected up to 64 letters, digits, '.', '_', ':' or '-'")
    return raw


def _keys_file(raw: str) -> Path:
    # Read whole now, so that a malformed file stops the server before the model loads.
    path = Path(raw).expanduser()
    try:
        read_api_keys(path)
    except KeysFileError as error:
        raise ValueError(error.message) from None
    return path


def _profile(raw: str) -> str:
    # Only its form here: whether the artefact has such a profile is known once it is loaded.
    if len(raw) > MAX_PROFILE_NAME or not raw.isprintable():
        raise ValueError(
            f"expected a profile's name: up to {MAX_PROFILE_NAME} printable characters"
        )
    return raw


def _sha256(raw: str) -> str:
    lowered = raw.lower()
    if len(lowered) != 64 or not all(ch in "0123456789abcdef" for ch in lowered):
        raise ValueError("expected a SHA-256: 64 hexadecimal digits")
    return lowered


_PARSERS: dict[str, Callable[[str], Any]] = {
    "artefact": _directory,
    "host": _host,
    "port": _bounded(*PORTS),
    "workers": _bounded(*WORKERS),
    "worker_threads": _bounded(*THREADS),
    "model_threads": _bounded(*THREADS),
    "max_request_bytes": _bounded(*REQUEST_BYTES),
    "max_rows": _bounded(*ROWS),
    "log_level": _log_level,
    "strict_categories": _boolean,
    "on_error": _on_error,
    "strict_versions": _boolean,
    "timeout": _bounded(*TIMEOUTS),
    "audit_log": _audit_log,
    "audit_key": _secret,
    "audit_key_id": _key_id,
    "audit_fail_open": _boolean,
    "audit_fsync": _boolean,
    "api_keys_file": _keys_file,
    "allow_pickle": _boolean,
    "expected_sha256": _sha256,
    "client_timeout": _bounded(*TIMEOUTS),
    "profile": _profile,
    "metrics": _boolean,
    "metrics_dir": _directory,
}
