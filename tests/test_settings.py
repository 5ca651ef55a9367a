from __future__ import annotations

import secrets
from typing import Any

import pytest

from authai_embed import ConfigError, Secrets, Settings

GOOD = secrets.token_hex(32)
OTHER = secrets.token_hex(32)


def test_from_env_reads_both_secrets() -> None:
    s = Secrets.from_env({"AUTH_AI_JWT_SECRET": GOOD, "AUTH_AI_IDENTITY_SECRET": OTHER})
    assert s.signing_key.secret == bytes.fromhex(GOOD)
    assert s.identity_key == bytes.fromhex(OTHER)


@pytest.mark.parametrize(
    ("jwt_secret", "identity", "fragment"),
    [
        ("", OTHER, "AUTH_AI_JWT_SECRET is not set"),
        (GOOD, "", "AUTH_AI_IDENTITY_SECRET is not set"),
        ("abcd" * 8, OTHER, "at least 32 bytes"),
        ("zz" * 32, OTHER, "must be hex"),
        ("00" * 32, OTHER, "placeholder"),
        (GOOD, GOOD, "must differ"),
        (f"{GOOD},{GOOD}", OTHER, "listed twice"),
    ],
)
def test_weak_short_or_equal_secrets_are_refused_with_a_how_to(
    jwt_secret: str, identity: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Secrets.from_hex(jwt_secret, identity)
    message = str(info.value)
    assert fragment in message
    assert "authai-embed secrets" in message
    assert GOOD not in message
    assert OTHER not in message


def test_several_keys_first_signs_and_kids_are_stable() -> None:
    s1 = Secrets.from_hex(f"{GOOD},{OTHER}", secrets.token_hex(32))
    s2 = Secrets.from_hex([GOOD], secrets.token_hex(32))
    assert s1.signing_key.secret == bytes.fromhex(GOOD)
    assert s1.jwt_keys[0].kid == s2.jwt_keys[0].kid
    assert len(s1.jwt_keys) == 2


def test_explicit_key_id() -> None:
    s = Secrets.from_hex(f"2026-11:{GOOD}", OTHER)
    assert s.signing_key.kid == "2026-11"


def test_secrets_never_appear_in_repr() -> None:
    s = Secrets.from_hex(GOOD, OTHER)
    text = repr(s) + str(s)
    assert GOOD not in text
    assert OTHER not in text
    assert repr(bytes.fromhex(GOOD)) not in text


def test_settings_from_env() -> None:
    s = Settings.from_env(
        {
            "AUTH_AI_ORIGINATOR": "my-app",
            "AUTH_AI_ALLOWED_ORIGINS": "https://a.example, https://b.example:8443",
            "AUTH_AI_TOKEN_TTL": "3600",
            "AUTH_AI_DB_URL": "sqlite:///x.db",
            "AUTH_AI_OPENAI_ISSUER": "http://127.0.0.1:9/",
        }
    )
    assert s.originator == "my-app"
    assert s.allowed_origins == ("https://a.example", "https://b.example:8443")
    assert s.token_ttl == 3600
    assert s.openai.issuer == "http://127.0.0.1:9"
    assert s.openai.verification_url == "http://127.0.0.1:9/codex/device"


def test_defaults_are_the_real_endpoints() -> None:
    s = Settings()
    assert s.openai.issuer == "https://auth.openai.com"
    assert s.openai.api_base == "https://chatgpt.com/backend-api/codex"
    assert s.openai.client_id == "app_EMoamEEZ73f0CkXaXp7hrann"


@pytest.mark.parametrize(
    "overrides",
    [
        {"allowed_origins": ["*"]},
        {"allowed_origins": ["https://a.example/path"]},
        {"originator": "bad header\r\nx"},
        {"token_ttl": 0},
        {"providers": []},
        {"no_such_setting": 1},
    ],
)
def test_bad_settings_raise_config_error(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="invalid authai_embed settings"):
        Settings.build(**overrides)


def test_an_empty_app_id_means_no_tenant() -> None:
    assert Settings.build(app_id="").app_id is None


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"openai": {"isuer": "http://x.test"}}, "'openai.isuer'; did you mean 'openai.issuer'?"),
        ({"github": {"clientid": "x"}}, "'github.clientid'; did you mean 'github.client_id'?"),
        ({"xai": {"orign": "api"}}, "'xai.orign'; did you mean 'xai.origin'?"),
        ({"alowed_origins": ()}, "'alowed_origins'; did you mean 'allowed_origins'?"),
        ({"stroe": None}, "'stroe'; did you mean 'store'?"),
        ({"zzzz": 1}, "unknown setting 'zzzz'"),
    ],
)
def test_an_unknown_key_is_refused_with_the_closest_valid_one(
    keywords: dict[str, Any], message: str
) -> None:
    from starlette.applications import Starlette

    from authai_embed import MemoryStore, mount_authai

    with pytest.raises(ConfigError) as info:
        mount_authai(Starlette(), secrets=Secrets.generate(), store=MemoryStore(), **keywords)
    assert message in str(info.value)
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.build(**keywords)
