"""Every environment variable docs/configuration.md lists takes effect through `mount_authai`
and `AuthAI`: keyword argument > environment > default. The rows are read from the page, so a
new one is covered (or this test says what it needs) without editing the test."""

from __future__ import annotations

import logging
import re
import secrets
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from starlette.applications import Starlette

from authai_embed import AuthAI, MemoryStore, Secrets, Settings, SQLiteStore, mount_authai

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "configuration.md").read_text()


def _rows() -> dict[str, str]:
    """`AUTH_AI_*` variable -> the setting its table row names (`secrets` for the secrets)."""
    rows: dict[str, str] = {}
    tables = PAGE.split("\n## Secrets", 1)[1].split("\n## Other constructor arguments", 1)[0]
    for line in tables.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2:
            continue
        names = [re.findall(r"`(AUTH_AI_[A-Z_]+)`", c) for c in cells[:2]]
        if names[0]:  # the secrets table: the variable comes first
            rows[names[0][0]] = "secrets"
        elif names[1]:
            rows[names[1][0]] = cells[0].strip("`")
    return rows


ROWS = _rows()
WEBHOOK_SECRET = "env-webhook-secret-0123456789abcdef"
SETTING_ROWS = {var: path for var, path in ROWS.items() if path != "secrets"}
Build = Callable[..., AuthAI]


def _field(path: str) -> Any:
    """The pydantic field behind a (possibly dotted) setting name."""
    section, dot, key = path.partition(".")
    field = Settings.model_fields[section]
    if not dot:
        return field
    model = field.annotation
    assert isinstance(model, type)
    assert issubclass(model, BaseModel)
    return model.model_fields[key]


def _value(path: str) -> tuple[str, Any]:
    """A valid value for the setting, unlike its default: (environment text, parsed value)."""
    special: dict[str, tuple[str, Any]] = {
        "allowed_origins": ("https://a.test, https://b.test:8443", ("https://a.test", "https://b.test:8443")),
        "providers": ("openai,github", ("openai", "github")),
        "db_url": ("memory://", "memory://"),
        "originator": ("env-app", "env-app"),
        "usage_ledger": ("0", False),  # on by default: the variable turns it off
        "webhook_url": ("https://hooks.test/authai", "https://hooks.test/authai"),
        "webhook_secret": (WEBHOOK_SECRET, WEBHOOK_SECRET),
        # Its effect, one count shared by every mount, is tests/asgi/test_rate_limit_url.py's.
        "rate_limit_url": ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    }  # fmt: skip
    if path in special:
        return special[path]
    field = _field(path)
    default, kinds = field.default, typing.get_args(field.annotation) or (field.annotation,)
    if field.annotation is bool:
        return "1", True
    if isinstance(default, str) and default.startswith("http"):
        url = f"http://env.test/{path.replace('.', '-')}"
        return url, url
    if typing.get_origin(field.annotation) is typing.Literal:
        choice = next(c for c in kinds if c != default)
        return str(choice), choice
    if isinstance(default, int) or int in kinds or any("int" in str(k) for k in kinds):
        number = (default or 3600) + 1
        return str(number), number
    return "env-value", "env-value"


def _setting(settings: Settings, path: str) -> Any:
    value: Any = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _by_mount(**kw: Any) -> AuthAI:
    return mount_authai(Starlette(), **kw)


def _by_class(**kw: Any) -> AuthAI:
    return AuthAI(**kw)


BUILDERS = pytest.mark.parametrize("build", [_by_mount, _by_class], ids=["mount_authai", "AuthAI"])


def test_the_page_lists_the_variables() -> None:
    assert {"AUTH_AI_DB_URL", "AUTH_AI_PROVIDERS", "AUTH_AI_JWT_SECRET"} <= set(ROWS)
    assert ROWS["AUTH_AI_OPENAI_ISSUER"] == "openai.issuer"


@BUILDERS
@pytest.mark.parametrize("var", sorted(SETTING_ROWS))
def test_each_documented_variable_takes_effect(
    build: Build, var: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = SETTING_ROWS[var]
    text, expected = _value(path)
    assert _setting(Settings(), path) != expected
    monkeypatch.setenv(var, text)
    if path == "webhook_url":  # a webhook needs its secret with it
        monkeypatch.setenv("AUTH_AI_WEBHOOK_SECRET", WEBHOOK_SECRET)
    authai = build(secrets=Secrets.generate(), store=MemoryStore())
    assert _setting(authai.settings, path) == expected


@BUILDERS
@pytest.mark.parametrize("var", sorted(SETTING_ROWS))
def test_a_keyword_wins_over_each_variable(
    build: Build, var: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = SETTING_ROWS[var]
    text, from_env = _value(path)
    monkeypatch.setenv(var, text)
    default = _setting(Settings(), path)
    section, dot, key = path.partition(".")
    keyword = {section: {key: default}} if dot else {section: default}
    authai = build(secrets=Secrets.generate(), store=MemoryStore(), **keyword)
    assert _setting(authai.settings, path) == default != from_env


@BUILDERS
def test_the_documented_multi_host_setup_is_what_runs(
    build: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: a store URL, providers and a sweep from the environment alone."""
    monkeypatch.setenv("AUTH_AI_DB_URL", "memory://")
    monkeypatch.setenv("AUTH_AI_PROVIDERS", "openai,github")
    monkeypatch.setenv("AUTH_AI_SWEEP_INTERVAL", "3600")
    authai = build(secrets=Secrets.generate(), originator="my-app")
    assert isinstance(authai.store, MemoryStore)
    assert list(authai.providers) == ["openai", "github"]
    assert authai.settings.sweep_interval == 3600
    assert authai.settings.originator == "my-app"
    monkeypatch.delenv("AUTH_AI_DB_URL")
    assert isinstance(build(secrets=Secrets.generate()).store, SQLiteStore)


@BUILDERS
def test_the_secrets_come_from_the_environment_when_not_given(
    build: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert {v for v, path in ROWS.items() if path == "secrets"} == {
        "AUTH_AI_JWT_SECRET",
        "AUTH_AI_IDENTITY_SECRET",
    }
    jwt_key, identity = secrets.token_hex(32), secrets.token_hex(32)
    monkeypatch.setenv("AUTH_AI_JWT_SECRET", jwt_key)
    monkeypatch.setenv("AUTH_AI_IDENTITY_SECRET", identity)
    authai = build(store=MemoryStore())
    assert authai.secrets.signing_key.secret == bytes.fromhex(jwt_key)
    assert authai.secrets.identity_key == bytes.fromhex(identity)
    given = Secrets.generate()
    assert build(secrets=given, store=MemoryStore()).secrets is given


@BUILDERS
def test_missing_secrets_say_which_variable(build: Build, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTH_AI_JWT_SECRET", raising=False)
    from authai_embed import ConfigError

    with pytest.raises(ConfigError, match="AUTH_AI_JWT_SECRET is not set"):
        build(store=MemoryStore())


def test_a_provider_section_merges_keyword_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_AI_OPENAI_ISSUER", "http://env.test")
    authai = mount_authai(
        Starlette(),
        secrets=Secrets.generate(),
        store=MemoryStore(),
        openai={"api_base": "http://kw.test/codex"},
    )
    assert authai.settings.openai.issuer == "http://env.test"
    assert authai.settings.openai.api_base == "http://kw.test/codex"


def test_a_prebuilt_settings_object_is_taken_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_AI_ORIGINATOR", "from-env")
    authai = AuthAI(secrets=Secrets.generate(), store=MemoryStore(), settings=Settings())
    assert authai.settings.originator == "authai_embed"


def test_the_names_from_the_environment_are_logged_never_the_values(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    jwt_key, identity = secrets.token_hex(32), secrets.token_hex(32)
    monkeypatch.setenv("AUTH_AI_JWT_SECRET", jwt_key)
    monkeypatch.setenv("AUTH_AI_IDENTITY_SECRET", identity)
    monkeypatch.setenv("AUTH_AI_DB_URL", "memory://")
    monkeypatch.setenv("AUTH_AI_ORIGINATOR", "overridden")
    caplog.set_level(logging.INFO, logger="authai_embed")
    mount_authai(Starlette(), originator="kw-app")
    lines = [r.getMessage() for r in caplog.records if "environment" in r.getMessage()]
    assert lines == [
        "settings from the environment: AUTH_AI_JWT_SECRET, AUTH_AI_IDENTITY_SECRET, AUTH_AI_DB_URL"
    ]
    assert jwt_key not in caplog.text
    assert identity not in caplog.text
