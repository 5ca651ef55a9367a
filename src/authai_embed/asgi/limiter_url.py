"""The rate limiter the `rate_limit_url` setting (`AUTH_AI_RATE_LIMIT_URL`) names: a
`RedisRateLimiter` on that URL, so every process (`serve --workers N`, several hosts) counts
against the same limits. Its errors say what to do and never repeat the URL: it may hold a
password.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from authai_embed.errors import ConfigError

if TYPE_CHECKING:
    from authai_embed.asgi.limits import RedisRateLimiter

__all__ = ["SCHEMES", "SETTING", "check_url", "limiter_from_url"]

SCHEMES = ("redis", "rediss")
SETTING = "rate_limit_url (AUTH_AI_RATE_LIMIT_URL)"
"""How errors name the setting (the standalone server's drop it for the variable alone)."""
_SHAPE = "redis://[:password@]host:6379/0, or rediss:// for TLS"


def check_url(url: str) -> None:
    """`ConfigError` unless `url` is a Redis URL the installed `redis` can use (nothing is
    connected): another scheme, an unparsable URL, or a missing `redis` extra."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise ConfigError(f"{SETTING} must be a Redis URL: {_SHAPE}")
    try:
        redis_asyncio = importlib.import_module("redis.asyncio")
    except ImportError:
        raise ConfigError(
            f"{SETTING} needs the redis extra: pip install 'authai-embed[redis]'"
        ) from None
    try:
        redis_asyncio.connection.parse_url(url)
    except ValueError:  # a bad port or query; its message may quote the URL's parts
        raise ConfigError(f"{SETTING} is not a valid Redis URL: {_SHAPE}") from None


def limiter_from_url(url: str, *, app_id: str | None = None) -> RedisRateLimiter:
    """A new `RedisRateLimiter` for `url` (checked by `check_url`; nothing connects until the
    first request); the caller closes it (`aclose`). Keys are under `authai:rl:`, or
    `authai:rl:<app_id>:` for a tenant, whose counts stay its own as they would in memory."""
    check_url(url)
    from authai_embed.asgi.limits import RedisRateLimiter  # limits.py imports this module

    prefix = f"authai:rl:{app_id}:" if app_id else "authai:rl:"
    return RedisRateLimiter.from_url(url, prefix=prefix)
