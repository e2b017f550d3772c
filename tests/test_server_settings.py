"""Settings: every DEPLOYML_* variable parsed, defaulted and refused by name when bad."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from packager.errors import ConfigError
from server.settings import Settings


def test_settings_default_when_nothing_is_set() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.bind == "127.0.0.1:8000"


def test_settings_read_every_variable(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"ward-3 {'ab' * 32}\n")
    env = {
        "DEPLOYML_ARTEFACT": str(tmp_path),
        "DEPLOYML_HOST": "0.0.0.0",
        "DEPLOYML_PORT": "9001",
        "DEPLOYML_WORKERS": "3",
        "DEPLOYML_WORKER_THREADS": "4",
        "DEPLOYML_MODEL_THREADS": "2",
        "DEPLOYML_MAX_REQUEST_BYTES": "2048",
        "DEPLOYML_MAX_ROWS": "50",
        "DEPLOYML_LOG_LEVEL": "WARNING",
        "DEPLOYML_STRICT_CATEGORIES": "yes",
        "DEPLOYML_ON_ERROR": "Skip",
        "DEPLOYML_STRICT_VERSIONS": "on",
        "DEPLOYML_TIMEOUT": "12",
        "DEPLOYML_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "DEPLOYML_AUDIT_KEY": "k" * 32,
        "DEPLOYML_AUDIT_KEY_ID": "2026-11",
        "DEPLOYML_AUDIT_FAIL_OPEN": "true",
        "DEPLOYML_AUDIT_FSYNC": "true",
        "DEPLOYML_API_KEYS_FILE": str(keys),
        "DEPLOYML_ALLOW_PICKLE": "true",
        "DEPLOYML_EXPECTED_SHA256": "AB" * 32,
        "DEPLOYML_CLIENT_TIMEOUT": "7",
        "DEPLOYML_PROFILE": "site-b",
        "DEPLOYML_METRICS": "off",
        "DEPLOYML_METRICS_DIR": str(tmp_path),
    }
    # A field added without its variable (or a variable without its field) fails here.
    assert set(env) == {f"DEPLOYML_{field.name.upper()}" for field in fields(Settings)}
    settings = Settings.from_env(env)
    assert settings == Settings(
        artefact=tmp_path,
        host="0.0.0.0",
        port=9001,
        workers=3,
        worker_threads=4,
        model_threads=2,
        max_request_bytes=2048,
        max_rows=50,
        log_level="warning",
        strict_categories=True,
        on_error="skip",
        strict_versions=True,
        timeout=12,
        audit_log=tmp_path / "audit.jsonl",
        audit_key="k" * 32,
        audit_key_id="2026-11",
        audit_fail_open=True,
        audit_fsync=True,
        api_keys_file=keys,
        allow_pickle=True,
        expected_sha256="ab" * 32,
        client_timeout=7,
        profile="site-b",
        metrics=False,
        metrics_dir=tmp_path,
    )
    assert settings.model_thread_limit == 2


def test_settings_overrides_win_over_the_environment() -> None:
    settings = Settings.from_env({"DEPLOYML_PORT": "9001"}, overrides={"PORT": "9002"})
    assert settings.port == 9002


def test_settings_ignore_blank_values() -> None:
    assert Settings.from_env({"DEPLOYML_PORT": "  "}).port == 8000


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("DEPLOYML_ARTEFACT", "/no/such/artefact", "is not a directory"),
        ("DEPLOYML_METRICS_DIR", "/no/such/metrics", "is not a directory"),
        ("DEPLOYML_METRICS", "maybe", "expected one of true/false"),
        ("DEPLOYML_HOST", "local host", "expected a host name or IP address"),
        ("DEPLOYML_PORT", "eighty", "expected a whole number from 1 to 65535"),
        ("DEPLOYML_PORT", "0", "must be from 1 to 65535"),
        ("DEPLOYML_PORT", "70000", "must be from 1 to 65535"),
        ("DEPLOYML_WORKERS", "0", "must be from 1 to 64"),
        ("DEPLOYML_WORKERS", "2.5", "expected a whole number"),
        ("DEPLOYML_WORKER_THREADS", "-1", "must be from 1"),
        ("DEPLOYML_MODEL_THREADS", "many", "expected a whole number"),
        ("DEPLOYML_MAX_REQUEST_BYTES", "10", "must be from 1024"),
        ("DEPLOYML_MAX_ROWS", "0", "must be from 1"),
        ("DEPLOYML_LOG_LEVEL", "loud", "expected one of debug, info, warning, error"),
        ("DEPLOYML_STRICT_CATEGORIES", "maybe", "expected one of true/false"),
        ("DEPLOYML_STRICT_VERSIONS", "2", "expected one of true/false"),
        ("DEPLOYML_TIMEOUT", "0", "must be from 1 to 3600"),
        ("DEPLOYML_API_KEYS_FILE", "/no/such/keys", "/no/such/keys: cannot read it"),
        ("DEPLOYML_EXPECTED_SHA256", "ab" * 31, "expected a SHA-256: 64 hexadecimal digits"),
        ("DEPLOYML_EXPECTED_SHA256", "xy" * 32, "expected a SHA-256"),
        ("DEPLOYML_PROFILE", "site\tb", "expected a profile's name"),
        ("DEPLOYML_PROFILE", "x" * 101, "up to 100 printable characters"),
        ("DEPLOYML_CLIENT_TIMEOUT", "0", "must be from 1 to 3600"),
    ],
)
def test_settings_refuse_bad_value_naming_the_variable(
    variable: str, value: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert caught.value.message.startswith(f"{variable}: ")
    assert problem in caught.value.message


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("off", False)])
def test_settings_read_booleans(raw: str, expected: bool) -> None:
    assert Settings.from_env({"DEPLOYML_STRICT_CATEGORIES": raw}).strict_categories is expected


def test_settings_model_threads_default_to_cores_per_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert Settings(workers=2).model_thread_limit == 4
    assert Settings(workers=16).model_thread_limit == 1


def test_settings_bracket_ipv6_hosts_in_the_bind_address() -> None:
    assert Settings.from_env({"DEPLOYML_HOST": "::1", "DEPLOYML_PORT": "81"}).bind == "[::1]:81"


def test_settings_require_artefact_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="DEPLOYML_ARTEFACT: not set"):
        Settings().require_artefact()


def test_an_audit_log_without_its_key_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"DEPLOYML_AUDIT_LOG": str(tmp_path)})
    assert raised.value.variable == "DEPLOYML_AUDIT_KEY"
    assert "DEPLOYML_AUDIT_LOG needs a secret key" in raised.value.message


def test_a_short_audit_key_is_refused_without_quoting_it() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"DEPLOYML_AUDIT_KEY": "SHORT-SECRET"})
    assert raised.value.variable == "DEPLOYML_AUDIT_KEY"
    assert "SHORT-SECRET" not in raised.value.message


def test_an_audit_log_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"DEPLOYML_AUDIT_LOG: .* is not a directory"):
        Settings.from_env(
            {"DEPLOYML_AUDIT_LOG": str(tmp_path / "no" / "a.jsonl"), "DEPLOYML_AUDIT_KEY": "k" * 16}
        )


def test_the_audit_key_stays_out_of_the_settings_repr(tmp_path: Path) -> None:
    settings = Settings(audit_log=tmp_path, audit_key="ZQXJ-AUDIT-KEY-7731")
    assert "ZQXJ-AUDIT-KEY-7731" not in repr(settings)
    assert "ZQXJ-AUDIT-KEY-7731" not in str(settings)
