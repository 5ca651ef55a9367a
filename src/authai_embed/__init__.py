"""authai_embed: "Sign in with ChatGPT" for any ASGI app.

Mount it with one line, let users sign in with their own subscription, and call the provider
from your backend with the official `openai` SDK, in-process.
"""

from __future__ import annotations

from ._version import __version__
from .asgi.app import AuthAI, WhoAmI
from .asgi.limits import Limits, MemoryRateLimiter, Rate, RateLimiter, RedisRateLimiter
from .clock import Clock, SystemClock
from .credentials import Credentials
from .errors import (
    AuthAIError,
    ConfigError,
    InvalidRequest,
    NotFound,
    RateLimited,
    StoreError,
    Unauthorized,
    UpstreamError,
)
from .mount import mount_authai
from .providers.base import DevicePoll, DeviceStart, Provider
from .settings import OpenAIUpstream, Secrets, Settings, SigningKey
from .stores.base import AuthStore, PendingLogin, Record
from .stores.memory import MemoryStore
from .stores.postgres import PostgresStore
from .stores.sqlite import SQLiteStore
from .stores.url import store_from_url
from .upstream_client import new_upstream_client
from .upstream_transport import UpstreamTransport

__all__ = [
    "AuthAI",
    "AuthAIError",
    "AuthStore",
    "Clock",
    "ConfigError",
    "Credentials",
    "DevicePoll",
    "DeviceStart",
    "InvalidRequest",
    "Limits",
    "MemoryRateLimiter",
    "MemoryStore",
    "NotFound",
    "OpenAIUpstream",
    "PendingLogin",
    "PostgresStore",
    "Provider",
    "Rate",
    "RateLimited",
    "RateLimiter",
    "Record",
    "RedisRateLimiter",
    "SQLiteStore",
    "Secrets",
    "Settings",
    "SigningKey",
    "StoreError",
    "SystemClock",
    "Unauthorized",
    "UpstreamError",
    "UpstreamTransport",
    "WhoAmI",
    "__version__",
    "mount_authai",
    "new_upstream_client",
    "store_from_url",
]
