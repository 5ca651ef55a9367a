"""`authai-embed serve` refuses each missing or bad variable with exit code 2 and one line that
names it, never a traceback and never the value (which may be a secret or hold a password)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import pytest

from authai_embed.cli import main
from authai_embed.server.config import load_config
from tests._support.serve_process import run_serve

JWT = secrets.token_hex(32)
IDENTITY = secrets.token_hex(32)
GOOD = {
    "AUTH_AI_JWT_SECRET": JWT,
    "AUTH_AI_IDENTITY_SECRET": IDENTITY,
    "AUTH_AI_ORIGINATOR": "my-relay",
    "AUTH_AI_DB_URL": "memory://",
}
SHORT = "ab" * 16  # 16 bytes: hex, but too short; its value must not be echoed either

# (the environment's changes, the variable the line must name, words the line must say)
CASES: list[tuple[dict[str, str | None], str, str]] = [
    ({"AUTH_AI_JWT_SECRET": None}, "AUTH_AI_JWT_SECRET", "not set"),
    ({"AUTH_AI_JWT_SECRET": "zz" + JWT}, "AUTH_AI_JWT_SECRET", "must be hex"),
    ({"AUTH_AI_JWT_SECRET": SHORT}, "AUTH_AI_JWT_SECRET", "at least 32 bytes"),
    ({"AUTH_AI_IDENTITY_SECRET": None}, "AUTH_AI_IDENTITY_SECRET", "not set"),
    ({"AUTH_AI_IDENTITY_SECRET": SHORT}, "AUTH_AI_IDENTITY_SECRET", "at least 32 bytes"),
    ({"AUTH_AI_IDENTITY_SECRET": JWT}, "AUTH_AI_IDENTITY_SECRET", "must differ"),
    ({"AUTH_AI_ORIGINATOR": None}, "AUTH_AI_ORIGINATOR", "not set"),
    ({"AUTH_AI_ORIGINATOR": "my relay!"}, "AUTH_AI_ORIGINATOR", "1-64 characters"),
    ({"AUTH_AI_DB_DRIVER": "mysql"}, "AUTH_AI_DB_DRIVER", "sqlite, postgres or memory"),
    (
        {"AUTH_AI_DB_DRIVER": "postgres", "AUTH_AI_DB_URL": None},
        "AUTH_AI_DB_URL",
        "postgres needs it",
    ),
    ({"AUTH_AI_DB_URL": "mysql://u:hunter2@db/x"}, "AUTH_AI_DB_URL", "unsupported"),
    (
        {"AUTH_AI_DB_DRIVER": "postgres", "AUTH_AI_DB_URL": "./relay.db"},
        "AUTH_AI_DB_URL",
        "file path",
    ),
    (
        {"AUTH_AI_DB_DRIVER": "sqlite", "AUTH_AI_DB_URL": "postgresql://u:hunter2@db/x"},
        "AUTH_AI_DB_URL",
        "postgres URL",
    ),
    ({"AUTH_AI_PORT": "http"}, "AUTH_AI_PORT", "whole number"),
    ({"AUTH_AI_PORT": "70000"}, "AUTH_AI_PORT", "1 to 65535"),
    ({"AUTH_AI_WORKERS": "0"}, "AUTH_AI_WORKERS", "1 to 64"),
    ({"AUTH_AI_SHUTDOWN_GRACE": "soon"}, "AUTH_AI_SHUTDOWN_GRACE", "whole number"),
    ({"AUTH_AI_EMULATOR": "maybe"}, "AUTH_AI_EMULATOR", "1/true/on"),
    ({"AUTH_AI_EMULATOR_EVENT_DELAY": "-1"}, "AUTH_AI_EMULATOR_EVENT_DELAY", "0 to 10"),
    ({"AUTH_AI_TOKEN_TTL": "-5"}, "AUTH_AI_TOKEN_TTL", "greater than 0"),
    ({"AUTH_AI_MAX_BODY_BYTES": "lots"}, "AUTH_AI_MAX_BODY_BYTES", "valid integer"),
    ({"AUTH_AI_ALLOWED_ORIGINS": "*"}, "AUTH_AI_ALLOWED_ORIGINS", "not allowed"),
    ({"AUTH_AI_PROVIDERS": "openai,claude"}, "AUTH_AI_PROVIDERS", "unknown provider"),
    ({"AUTH_AI_SESSION_COOKIE": "maybe"}, "AUTH_AI_SESSION_COOKIE", "boolean"),
    (
        {"AUTH_AI_RATE_LIMIT_URL": "memcached://u:hunter2@cache:11211"},
        "AUTH_AI_RATE_LIMIT_URL",
        "must be a Redis URL",
    ),
    (
        {"AUTH_AI_RATE_LIMIT_URL": "redis://:hunter2@cache:port/0"},
        "AUTH_AI_RATE_LIMIT_URL",
        "not a valid Redis URL",
    ),
    (
        {"AUTH_AI_WORKERS": "2", "AUTH_AI_DB_URL": "memory://"},
        "AUTH_AI_DB_URL",
        "one store per process",
    ),
]


def _apply(monkeypatch: pytest.MonkeyPatch, changes: dict[str, str | None]) -> None:
    for name in [n for n in os.environ if n.startswith("AUTH_AI_")]:
        monkeypatch.delenv(name)
    for name, value in {**GOOD, **changes}.items():
        if value is not None:
            monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("changes", "variable", "words"), CASES, ids=[f"{c[1]}-{c[2]}" for c in CASES]
)
def test_each_bad_or_missing_variable_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, str | None],
    variable: str,
    words: str,
) -> None:
    _apply(monkeypatch, changes)
    assert main(["serve"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"authai-embed serve: {variable}")
    assert words in lines[0]
    assert captured.out == ""
    for secret in (JWT, IDENTITY, SHORT, "hunter2"):
        assert secret not in captured.err


def test_a_rate_limit_url_without_the_redis_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    _apply(monkeypatch, {"AUTH_AI_RATE_LIMIT_URL": "redis://:hunter2@cache:6379/0"})
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "authai-embed serve: AUTH_AI_RATE_LIMIT_URL: needs the redis extra:"
        " pip install 'authai-embed[redis]'"
    )


def test_a_store_that_cannot_be_opened_names_the_database_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 200)
    _apply(monkeypatch, {"AUTH_AI_DB_URL": f"sqlite:///{junk}"})
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("authai-embed serve: AUTH_AI_DB_URL: the store cannot be opened")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--emulator", "--workers", "2"], "--workers: the emulator keeps its sign-ins"),
        (["--port", "0"], "--port: must be a TCP port"),
        (["--workers", "100"], "--workers: must be 1 to 64"),
    ],
)
def test_bad_options_are_refused_the_same_way(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    words: str,
) -> None:
    _apply(monkeypatch, {"AUTH_AI_DB_URL": "sqlite:///authai.db"})
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"authai-embed serve: {words}")
    assert len(err.splitlines()) == 1


def test_the_process_exits_2_with_one_line_and_no_traceback() -> None:
    env = {**GOOD, "AUTH_AI_JWT_SECRET": SHORT}
    result = run_serve(env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("authai-embed serve: AUTH_AI_JWT_SECRET must be at least")
    assert SHORT not in result.stderr


def test_the_reference_relays_variables_configure_the_server(tmp_path: Path) -> None:
    env = {
        "AUTH_AI_JWT_SECRET": JWT,
        "AUTH_AI_IDENTITY_SECRET": IDENTITY,
        "AUTH_AI_ORIGINATOR": "my-relay",
        "AUTH_AI_DB_DRIVER": "sqlite",
        "AUTH_AI_DB_URL": "./relay.db",
        "AUTH_AI_PORT": "8080",
    }
    config = load_config(env)
    assert config.store_url == "sqlite:///relay.db"
    assert config.port == 8080
    assert config.settings.originator == "my-relay"
    assert config.secrets.signing_key.secret == bytes.fromhex(JWT)
    assert load_config(env, port=9000, host="::1", workers=3).port == 9000


def test_emulator_mode_needs_no_secrets_and_keeps_nothing() -> None:
    config = load_config({"AUTH_AI_EMULATOR": "1"})
    assert config.emulator
    assert config.store_url == "memory://"
    assert config.workers == 1
