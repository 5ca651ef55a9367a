"""The `AUTH_AI_*` environment variables: which setting each one sets, and how it is read.

One rule everywhere (`mount_authai`, `AuthAI`, `Settings.from_env`, the CLI): a keyword argument
wins over the environment, which wins over the default. A provider's section is merged key by
key, so `openai={"api_base": ...}` keeps `AUTH_AI_OPENAI_ISSUER`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ENVIRONMENT", "EnvSettings", "merge_settings", "read_environment"]

ENVIRONMENT: dict[str, str] = {
    "AUTH_AI_ORIGINATOR": "originator",
    "AUTH_AI_ALLOWED_ORIGINS": "allowed_origins",
    "AUTH_AI_PROVIDERS": "providers",
    "AUTH_AI_TOKEN_TTL": "token_ttl",
    "AUTH_AI_REFRESH_MARGIN": "refresh_margin",
    "AUTH_AI_MAX_SESSIONS_PER_USER": "max_sessions_per_user",
    "AUTH_AI_LIMITS_MAX_AGE": "limits_max_age",
    "AUTH_AI_MAX_CONCURRENT_PER_USER": "max_concurrent_per_user",
    "AUTH_AI_MAX_BODY_BYTES": "max_body_bytes",
    "AUTH_AI_SESSION_COOKIE": "session_cookie",
    "AUTH_AI_SWEEP_INTERVAL": "sweep_interval",
    "AUTH_AI_USAGE_LEDGER": "usage_ledger",
    "AUTH_AI_USAGE_RETENTION_DAYS": "usage_retention_days",
    "AUTH_AI_APP_ID": "app_id",
    "AUTH_AI_DB_URL": "db_url",
    "AUTH_AI_WEBHOOK_URL": "webhook_url",
    "AUTH_AI_WEBHOOK_SECRET": "webhook_secret",
    "AUTH_AI_RATE_LIMIT_URL": "rate_limit_url",
    "AUTH_AI_OPENAI_ISSUER": "openai.issuer",
    "AUTH_AI_OPENAI_API_BASE": "openai.api_base",
    "AUTH_AI_GITHUB_CLIENT_ID": "github.client_id",
    "AUTH_AI_XAI_CLIENT_ID": "xai.client_id",
    "AUTH_AI_XAI_API_BASE": "xai.api_base",
    "AUTH_AI_XAI_ORIGIN": "xai.origin",
}
"""Each variable and the `Settings` field it sets (`section.field` inside a provider's)."""

SECRET_VARIABLES = ("AUTH_AI_JWT_SECRET", "AUTH_AI_IDENTITY_SECRET")
"""Read by `Secrets.from_env`, when no `secrets=` is given."""

_COMMA_SEPARATED = frozenset({"allowed_origins", "providers"})


@dataclass(frozen=True, slots=True)
class EnvSettings:
    """What the environment sets: settings as keyword values, and the variables that did."""

    values: dict[str, Any]
    names: tuple[str, ...]

    def used_under(self, overrides: Mapping[str, Any]) -> tuple[str, ...]:
        """The variables whose setting `overrides` (keyword arguments) leave in effect."""
        used = []
        for var in self.names:
            section, dot, key = ENVIRONMENT[var].partition(".")
            given = overrides.get(section)
            if given is None or (dot and isinstance(given, Mapping) and key not in given):
                used.append(var)
        return tuple(used)


def read_environment(environ: Mapping[str, str] | None = None) -> EnvSettings:
    """The settings the `AUTH_AI_*` variables set (an empty variable sets nothing)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    names: list[str] = []
    for var, field in ENVIRONMENT.items():
        text = env.get(var, "")
        if not text.strip():
            continue
        names.append(var)
        value: Any = text
        if field in _COMMA_SEPARATED:
            value = tuple(p.strip() for p in text.split(",") if p.strip())
        section, dot, key = field.partition(".")
        if dot:
            values.setdefault(section, {})[key] = value
        else:
            values[field] = value
    return EnvSettings(values, tuple(names))


def merge_settings(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` on top; a section given as a dict on both sides merges key by
    key (an override's model object replaces the section whole)."""
    merged = dict(base)
    for key, value in overrides.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = {**below, **value}
        else:
            merged[key] = value
    return merged
