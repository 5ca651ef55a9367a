"""The one exception hierarchy of authai_embed.

Every error the library raises on purpose is an `AuthAIError`. The ASGI layer turns them into
wire answers in exactly one place (`asgi/errors.py`); messages never contain a token or secret.
"""

from __future__ import annotations

from authai_embed._util.logs import redact

__all__ = [
    "AuthAIError",
    "ConfigError",
    "Forbidden",
    "InvalidRequest",
    "ModelNotAllowed",
    "NotFound",
    "Paused",
    "QuotaExceeded",
    "RateLimited",
    "SignInDisabled",
    "StoreError",
    "Unauthorized",
    "UpstreamError",
]


class AuthAIError(Exception):
    """Base class of every error authai_embed raises on purpose."""


class ConfigError(AuthAIError):
    """The library was configured wrongly; the message says how to fix it."""


class StoreError(AuthAIError):
    """The credential store failed or could not be reached (answered as 503)."""


class UpstreamError(AuthAIError):
    """The provider answered with an error or could not be reached.

    `status` is the HTTP status to answer with (the upstream's own, or 502/504 when it could not be
    reached); `code` is the provider's machine-readable code when it gave one; `retry_after` is in
    seconds, for usage limits.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 502,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        # Messages may quote the provider, and reach clients and logs: never a token in them.
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after


class SignInDisabled(UpstreamError):
    """The provider refuses device-code sign-in for this user or server until it is turned on
    (ChatGPT: the user's security settings, or a workspace admin). `help_url` is where; the wire
    code is `device_code_disabled`."""

    code_name = "device_code_disabled"

    def __init__(self, message: str, *, help_url: str) -> None:
        super().__init__(message, status=502, code=self.code_name)
        self.help_url = help_url


class InvalidRequest(AuthAIError):
    """The caller sent something we refuse; answered as a 4xx naming the parameter at fault,
    with a stable `code` when a client may want to tell this refusal from others."""

    def __init__(
        self, message: str, *, param: str | None = None, status: int = 400, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status
        self.code = code


class NotFound(AuthAIError):
    """The named thing (a pending login, a route) does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(AuthAIError):
    """Any authentication failure. It carries no detail on purpose: every cause looks the same."""

    def __init__(self) -> None:
        super().__init__("unauthorized")


class RateLimited(AuthAIError):
    """Too many requests from one client or user: answered as 429 with `Retry-After`."""

    def __init__(self, *, retry_after: int, reason: str | None = None) -> None:
        super().__init__("rate limited")
        self.message = "rate limited"
        self.retry_after = retry_after
        self.reason = reason  # what the client is told instead of the generic message


class Paused(AuthAIError):
    """An admin paused this (sign-ins, or model calls) with the kill switch: answered as 503,
    with `Retry-After` when the pause has an end (`retry_after`, seconds)."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class QuotaExceeded(AuthAIError):
    """A user's quota (`Quotas`) is used up: answered as 429 with `Retry-After` (seconds to the
    next window) and code `quota_exceeded`. `message` names the quota."""

    def __init__(self, message: str, *, retry_after: int, quota: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.quota = quota  # which one: "requests_per_minute" or "daily"


class Forbidden(AuthAIError):
    """The caller may not use an admin route (the host's `admin_guard` said no): 403."""

    def __init__(self) -> None:
        super().__init__("forbidden")


class ModelNotAllowed(AuthAIError):
    """The user's quota does not allow the model asked for: answered as 403 with code
    `model_not_allowed`."""

    def __init__(self, model: str) -> None:
        message = f"the model {model[:100]} is not allowed for this user"
        super().__init__(message)
        self.message = message
