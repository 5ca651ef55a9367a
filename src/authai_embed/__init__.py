"""authai_embed: "Sign in with ChatGPT" for any ASGI app.

Mount it with one line, let users sign in with their own subscription, and call the provider
from your backend with the official `openai` SDK, in-process.
"""

from __future__ import annotations

from authai_embed._transports.asgi import StreamingASGITransport
from authai_embed._transports.upstream import UpstreamTransport
from authai_embed._transports.upstream_client import new_upstream_client
from authai_embed._util.access_log import install_log_filter
from authai_embed._util.clock import Clock, SystemClock
from authai_embed._version import __version__
from authai_embed.admin.kill_switch import Controls
from authai_embed.admin.ops import UserDetail
from authai_embed.asgi.app import AuthAI, WhoAmI
from authai_embed.asgi.limits import Limits, MemoryRateLimiter, Rate, RateLimiter, RedisRateLimiter
from authai_embed.auth.account_sessions import SessionInfo
from authai_embed.credentials import Credentials
from authai_embed.errors import (
    AuthAIError,
    ConfigError,
    InvalidRequest,
    ModelNotAllowed,
    NotFound,
    QuotaExceeded,
    RateLimited,
    SignInDisabled,
    StoreError,
    Unauthorized,
    UpstreamError,
)
from authai_embed.events import (
    Event,
    EventHandler,
    LimitReached,
    LimitReset,
    ProviderErrorBurst,
    QuotaExceededEvent,
    ReauthRequired,
    Revoked,
    SignedIn,
    SignedOut,
    event_payload,
)
from authai_embed.mount import mount_authai
from authai_embed.providers.base import DevicePoll, DeviceStart, Provider
from authai_embed.providers.plan import PlanCredits, PlanLimits, PlanWindow, PremiumQuota
from authai_embed.settings import OpenAIUpstream, Secrets, Settings, SigningKey
from authai_embed.stores.base import (
    AuditEntry,
    AuthStore,
    Control,
    PendingLogin,
    Record,
    UsageRow,
    UserSummary,
)
from authai_embed.stores.memory import MemoryStore
from authai_embed.stores.postgres import PostgresStore
from authai_embed.stores.sqlite import SQLiteStore
from authai_embed.stores.url import store_from_url
from authai_embed.usage.quotas import Quota, Quotas
from authai_embed.webhooks import sign_webhook, verify_webhook

__all__ = [
    "AuditEntry",
    "AuthAI",
    "AuthAIError",
    "AuthStore",
    "Clock",
    "ConfigError",
    "Control",
    "Controls",
    "Credentials",
    "DevicePoll",
    "DeviceStart",
    "Event",
    "EventHandler",
    "InvalidRequest",
    "LimitReached",
    "LimitReset",
    "Limits",
    "MemoryRateLimiter",
    "MemoryStore",
    "ModelNotAllowed",
    "NotFound",
    "OpenAIUpstream",
    "PendingLogin",
    "PlanCredits",
    "PlanLimits",
    "PlanWindow",
    "PostgresStore",
    "PremiumQuota",
    "Provider",
    "ProviderErrorBurst",
    "Quota",
    "QuotaExceeded",
    "QuotaExceededEvent",
    "Quotas",
    "Rate",
    "RateLimited",
    "RateLimiter",
    "ReauthRequired",
    "Record",
    "RedisRateLimiter",
    "Revoked",
    "SQLiteStore",
    "Secrets",
    "SessionInfo",
    "Settings",
    "SignInDisabled",
    "SignedIn",
    "SignedOut",
    "SigningKey",
    "StoreError",
    "StreamingASGITransport",
    "SystemClock",
    "Unauthorized",
    "UpstreamError",
    "UpstreamTransport",
    "UsageRow",
    "UserDetail",
    "UserSummary",
    "WhoAmI",
    "__version__",
    "event_payload",
    "install_log_filter",
    "mount_authai",
    "new_upstream_client",
    "sign_webhook",
    "store_from_url",
    "verify_webhook",
]
