"""The Django system check: a missing `AUTHAI_INSTANCE`, an `AuthAI` that cannot be built (its
secrets missing or short: `Secrets.from_env` refuses them) or secrets that look made by hand."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.module_loading import import_string

from authai_embed.asgi.app import AuthAI
from authai_embed.errors import ConfigError

__all__ = ["check_authai"]

_HOW_TO = "generate secrets with `authai-embed secrets --format env`"


def _looks_weak(secret: bytes) -> bool:
    # 32 random bytes have ~30 distinct values; a hand-made "0123456789abcdef" * 4 has 8.
    # (`Secrets.from_hex` already refuses the worst; this also catches keys built directly.)
    return len(set(secret)) < min(len(secret) // 2, 64)


def check_authai(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Whether `settings.AUTHAI_INSTANCE` names a working `AuthAI` with strong secrets."""
    path = getattr(settings, "AUTHAI_INSTANCE", None)
    if not path:
        hint = 'set AUTHAI_INSTANCE = "mysite.authai.authai" (the module and name of your AuthAI)'
        return [Error("AUTHAI_INSTANCE is not set", hint=hint, id="authai_embed.E001")]
    try:
        authai = import_string(path)
    except ConfigError as exc:  # e.g. AUTH_AI_JWT_SECRET is not set
        return [Error(f"the AuthAI could not be built: {exc}", id="authai_embed.E002")]
    except ImportError as exc:
        return [Error(f"AUTHAI_INSTANCE: {exc}", id="authai_embed.E003")]
    if not isinstance(authai, AuthAI):
        message = f"AUTHAI_INSTANCE names a {type(authai).__name__}, not an AuthAI"
        return [Error(message, id="authai_embed.E004")]
    found: list[CheckMessage] = []
    keys = [("AUTH_AI_JWT_SECRET", key.secret) for key in authai.secrets.jwt_keys]
    for name, secret in [*keys, ("AUTH_AI_IDENTITY_SECRET", authai.secrets.identity_key)]:
        if _looks_weak(secret):
            message = f"{name} looks weak (too few distinct bytes to be random)"
            found.append(Warning(message, hint=_HOW_TO, id="authai_embed.W001"))
    return found
