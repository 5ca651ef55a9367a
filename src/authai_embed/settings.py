"""Configuration: `Secrets` (keys, never logged) and `Settings` (everything else).

Both are pydantic models because this is where user-given data enters. Secrets are validated at
startup: a weak, short or reused key stops the app with a message that says how to make a good
one, instead of failing later or, worse, working insecurely.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import secrets as _random
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from authai_embed._util.b64 import b64url_encode
from authai_embed.environment import merge_settings, read_environment
from authai_embed.errors import ConfigError
from authai_embed.providers.github.config import GitHubUpstream
from authai_embed.providers.openai.config import OpenAIUpstream
from authai_embed.providers.xai.config import XAIUpstream

__all__ = ["GitHubUpstream", "OpenAIUpstream", "Secrets", "Settings", "SigningKey", "XAIUpstream"]

MIN_SECRET_BYTES = 32
_HOW_TO = "generate one with `authai-embed secrets` (or `openssl rand -hex 32`)"
_KID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_ORIGINATOR_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ORIGIN_RE = re.compile(
    r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-fA-F:]+\](:[0-9]{1,5})?$"
)


def _decode_secret(name: str, text: str) -> bytes:
    """Decode one hex secret and refuse it when it is short or obviously not random."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ConfigError(f"{name} must be hex; {_HOW_TO}") from None
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"{name} must be at least {MIN_SECRET_BYTES} bytes of hex "
            f"({2 * MIN_SECRET_BYTES} hex characters); {_HOW_TO}"
        )
    if len(set(raw)) < len(raw) // 4:
        raise ConfigError(f"{name} looks like a placeholder, not random bytes; {_HOW_TO}")
    return raw


def _derive_kid(secret: bytes) -> str:
    """A short, stable key id that names the key without revealing it."""
    return b64url_encode(hashlib.sha256(b"authai-embed kid\x00" + secret).digest()[:6])


class SigningKey(BaseModel):
    """One HS256 signing key and its key id (the JWT header's `kid`)."""

    model_config = ConfigDict(frozen=True)

    kid: str
    secret: bytes = Field(repr=False)


class Secrets(BaseModel):
    """The server-side secrets: JWT signing keys and the identity key.

    The first JWT key signs new sessions; every key verifies, so a new key can be put in front and
    the old one kept until its sessions expire. The identity key derives the opaque user ids and
    must differ from every JWT key. None of these decrypt a stored record: record keys live only
    in the users' JWTs.
    """

    model_config = ConfigDict(frozen=True)

    jwt_keys: tuple[SigningKey, ...] = Field(repr=False)
    identity_key: bytes = Field(repr=False)

    @field_validator("jwt_keys")
    @classmethod
    def _check_jwt_keys(cls, keys: tuple[SigningKey, ...]) -> tuple[SigningKey, ...]:
        if not keys:
            raise ValueError("at least one JWT signing key is required")
        if len({k.secret for k in keys}) != len(keys):
            raise ValueError("the same JWT key is listed twice")
        if len({k.kid for k in keys}) != len(keys):
            raise ValueError("JWT key ids must be unique")
        for key in keys:
            if len(key.secret) < MIN_SECRET_BYTES:
                raise ValueError(f"JWT keys must be at least {MIN_SECRET_BYTES} bytes")
        return keys

    @classmethod
    def from_hex(cls, jwt_secrets: str | Sequence[str], identity_secret: str) -> Secrets:
        """Build from hex strings. `jwt_secrets` is one key or several (first signs).

        A key may carry an explicit id as `kid:hex`; otherwise its id is derived from the key.
        Raises `ConfigError` with a how-to when a key is missing, short, weak or reused.
        """
        items = [jwt_secrets] if isinstance(jwt_secrets, str) else list(jwt_secrets)
        parts = [p.strip() for item in items for p in item.split(",") if p.strip()]
        if not parts:
            raise ConfigError(f"AUTH_AI_JWT_SECRET is not set; {_HOW_TO}")
        keys: list[SigningKey] = []
        for part in parts:
            kid, sep, hex_text = part.rpartition(":")
            if sep and not _KID_RE.match(kid):
                raise ConfigError("a JWT key id (before ':') may only use A-Z a-z 0-9 _ . -")
            secret = _decode_secret("AUTH_AI_JWT_SECRET", hex_text)
            keys.append(SigningKey(kid=kid if sep else _derive_kid(secret), secret=secret))
        if not identity_secret or not identity_secret.strip():
            raise ConfigError(f"AUTH_AI_IDENTITY_SECRET is not set; {_HOW_TO}")
        identity = _decode_secret("AUTH_AI_IDENTITY_SECRET", identity_secret)
        if any(k.secret == identity for k in keys):
            raise ConfigError(f"AUTH_AI_IDENTITY_SECRET must differ from every JWT key; {_HOW_TO}")
        try:
            return cls(jwt_keys=tuple(keys), identity_key=identity)
        except ValidationError as exc:
            first = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ConfigError(f"AUTH_AI_JWT_SECRET: {first}; {_HOW_TO}") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        """Read `AUTH_AI_JWT_SECRET` (comma-separated, first signs) and
        `AUTH_AI_IDENTITY_SECRET`."""
        env = os.environ if environ is None else environ
        return cls.from_hex(
            env.get("AUTH_AI_JWT_SECRET", ""), env.get("AUTH_AI_IDENTITY_SECRET", "")
        )

    @classmethod
    def generate(cls) -> Secrets:
        """Fresh random secrets, for tests and the offline demo (sessions end with the process)."""
        return cls.from_hex(_random.token_hex(32), _random.token_hex(32))

    @property
    def signing_key(self) -> SigningKey:
        """The key that signs new sessions (the first one)."""
        return self.jwt_keys[0]


Seconds = Annotated[int, Field(gt=0)]


class Settings(BaseModel):
    """Everything configurable that is not a secret. Pass fields as keyword arguments to
    `mount_authai`/`AuthAI`, which read the others from their `AUTH_AI_*` variables (as
    `Settings.from_env()` does): keyword, then environment, then default."""

    # A value never appears in a validation error: a URL may hold a password.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    originator: str = "authai_embed"
    """Your app's name, sent as the `originator` header (shown on the provider's consent screen)."""
    allowed_origins: tuple[str, ...] = ()
    """Cross-origin callers allowed by CORS, echoed exactly; same-origin needs nothing here."""
    providers: tuple[str, ...] = ("openai",)
    """Provider ids this mount offers, in display order."""
    token_ttl: Seconds = 14 * 24 * 3600
    """Lifetime of a session JWT, in seconds."""
    jwt_leeway: Annotated[int, Field(ge=0, le=300)] = 30
    """Clock skew tolerated when checking `exp`/`iat`, in seconds."""
    record_grace: Seconds = 7 * 24 * 3600
    """How long a record outlives its longest JWT before the sweep may delete it, in seconds."""
    refresh_margin: Annotated[int, Field(ge=0, le=3600)] = 300
    """Refresh an access token when it has less than this many seconds left (and once more
    whenever the provider answers 401)."""
    max_sessions_per_user: Annotated[int, Field(ge=1, le=1000)] = 10
    """How many sessions (sign-ins on browsers and devices) one user may have at once; a new
    sign-in past it ends that user's oldest session."""
    limits_max_age: Annotated[int, Field(ge=1, le=24 * 3600)] = 60
    """How old, in seconds, the plan limits of `AuthAI.limits` and `GET /auth/limits` may be
    before the provider is asked again (at most once per user at a time)."""
    max_concurrent_per_user: Annotated[int, Field(ge=0, le=100_000)] | None = 16
    """How many `/v1` calls one user may have in flight at once, across all their sessions, in
    this process; the next is answered 429 with `Retry-After: 1`. `0` or `None`: no cap."""
    login_ttl: Annotated[int, Field(gt=0, le=15 * 60)] = 15 * 60
    """Upper bound on a pending device login's life, in seconds (the provider's may be shorter)."""
    max_body_bytes: Annotated[int, Field(ge=1024)] = 8 * 1024 * 1024
    """Largest request body accepted on `/v1/*` (413 beyond); `/auth/*` bodies stop at 16 KiB."""
    app_id: str | None = None
    """Tenant id for multi-tenant use; `None` for the usual single app."""
    session_cookie: bool = False
    """Cookie mode: keep the session JWT in an HttpOnly, Secure, SameSite=Strict cookie (never
    in the poll's body) and refuse cross-site requests that authenticate by it."""
    sweep_interval: Seconds | None = None
    """Run `AuthAI.sweep()` every this many seconds while the app runs; `None`: only when called
    (from a periodic job, or `authai-embed store sweep`)."""
    usage_ledger: bool = True
    """Count every model call per user, provider, model and UTC day in the store (read it with
    `AuthAI.usage` or `authai-embed usage`). Quotas need it and turn it on."""
    usage_flush_interval: Annotated[float, Field(gt=0, le=3600)] = 5.0
    """The usage ledger writes its in-memory counts to the store this often, in seconds (and at
    shutdown): a process that crashes loses at most this long of counts."""
    usage_flush_calls: Annotated[int, Field(ge=1)] = 1000
    """The usage ledger also writes as soon as this many calls are counted since the last write."""
    usage_retention_days: Annotated[int, Field(ge=1)] = 90
    """Usage rows and quota counters older than this many days are deleted by the sweep."""
    db_url: str = "sqlite:///authai.db"
    """Store location for `store_from_url`: `sqlite:///path`, `memory://`."""
    webhook_url: str | None = None
    """Where to POST every event as signed JSON (docs/events.md); `None`: no webhook."""
    webhook_secret: str | None = Field(default=None, repr=False)
    """The HMAC-SHA256 key signing webhook deliveries (at least 32 characters); required with
    `webhook_url`. Give your receiver the same one for `verify_webhook`."""
    rate_limit_url: str | None = Field(default=None, repr=False)
    """Where the rate limits (`Limits`, and quotas' requests per minute) are counted: `None` in
    each process's memory; `redis://...` or `rediss://...` in that Redis, shared by every process
    (the `redis` extra). A `Limits(limiter=...)` given to the mount wins over it."""
    # One section per provider, typed by its `providers/<id>/config.py` and named by its line in
    # `providers/registry.py` (explicit fields: a typo in a keyword is an error, not ignored).
    openai: OpenAIUpstream = OpenAIUpstream()
    """ChatGPT (Codex) endpoints and client id."""
    github: GitHubUpstream = GitHubUpstream()
    """GitHub Copilot endpoints, client id and editor headers."""
    xai: XAIUpstream = XAIUpstream()
    """xAI (Grok) endpoints, client id and which origin serves the models."""

    @field_validator("originator")
    @classmethod
    def _check_originator(cls, value: str) -> str:
        if not _ORIGINATOR_RE.match(value):
            raise ValueError("originator must be 1-64 characters of A-Z a-z 0-9 _ . -")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if origin == "*":
                raise ValueError("'*' is not allowed: list each origin (scheme://host[:port])")
            if not _ORIGIN_RE.match(origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
        return origins

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("webhook_url must be an http(s) URL")
        return value or None

    @field_validator("rate_limit_url")
    @classmethod
    def _check_rate_limit_url(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if value and value.partition("://")[0].lower() not in ("redis", "rediss"):
            # Never the value itself: it may hold a password.
            raise ValueError(
                "must be a Redis URL: redis://[:password@]host:6379/0, or rediss:// for TLS"
                " (unset: counted in each process's memory)"
            )
        return value or None

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and len(self.webhook_secret or "") < MIN_SECRET_BYTES:
            raise ValueError(
                f"webhook_secret of at least {MIN_SECRET_BYTES} characters is required with "
                f"webhook_url; {_HOW_TO}"
            )
        return self

    @field_validator("app_id")
    @classmethod
    def _empty_app_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("providers")
    @classmethod
    def _check_providers(cls, providers: tuple[str, ...]) -> tuple[str, ...]:
        if not providers:
            raise ValueError("at least one provider is required")
        return providers

    @classmethod
    def build(cls, **overrides: Any) -> Settings:
        """Validate keyword settings, raising `ConfigError` with every problem spelled out (an
        unknown key is named, with the closest valid one)."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = "; ".join(_describe(e) for e in exc.errors())
            raise ConfigError(f"invalid authai_embed settings: {problems}") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read `AUTH_AI_*` variables (see docs/configuration.md); keyword overrides win, and a
        provider's section given as a dict is merged key by key with the environment's."""
        return cls.build(**merge_settings(read_environment(environ).values, overrides))


# Not settings, but keywords of `AuthAI`/`mount_authai`: a misspelt one is suggested too.
_CONSTRUCTOR_KEYWORDS = (
    "secrets", "store", "settings", "http_client", "clock", "limits", "start_guard", "path",
    "quotas",
)  # fmt: skip


def _valid_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys valid where `loc` (an unknown key's location) points."""
    if len(loc) == 1:
        return [*Settings.model_fields, *_CONSTRUCTOR_KEYWORDS]
    field = Settings.model_fields.get(str(loc[0]))
    model = field.annotation if field is not None else None
    if len(loc) == 2 and isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _describe(error: Any) -> str:
    """One validation problem, as `where: what`; an unknown key gets a "did you mean"."""
    where = ".".join(str(p) for p in error["loc"])
    if error["type"] != "extra_forbidden":
        return f"{where}: {error['msg'].removeprefix('Value error, ')}"
    *section, key = (str(p) for p in error["loc"])
    close = difflib.get_close_matches(key, _valid_keys(error["loc"]), n=1)
    hint = f"; did you mean {'.'.join([*section, close[0]])!r}?" if close else ""
    return f"unknown setting {where!r}{hint}"
