"""Abuse controls: rate limits on the sign-in steps (per client IP) and `/v1` (per user), and
`start_guard`, who may start a sign-in (whoever starts one sees its user code, which is what a
phisher needs). In memory by default; `RedisRateLimiter` (or the `rate_limit_url` setting)
shares counts between processes.
Limits use GCRA: `Rate(10, 60)` is a burst of 10, then one every 6 s, with an exact `Retry-After`.
"""

from __future__ import annotations

import inspect
import ipaddress
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from authai_embed._util.logs import get_logger
from authai_embed.asgi.limiter_url import limiter_from_url
from authai_embed.errors import ConfigError, RateLimited, Unauthorized
from authai_embed.types import Scope

if TYPE_CHECKING:
    from authai_embed.asgi.http import Request
    from authai_embed.settings import Settings

__all__ = [
    "Limits",
    "MemoryRateLimiter",
    "Rate",
    "RateLimiter",
    "RedisRateLimiter",
    "StartGuard",
    "client_ip",
    "rate_key",
]

logger = get_logger("limits")

StartGuard = Callable[[Scope], Awaitable[bool] | bool]
"""Called with the ASGI scope of each `/auth/start` (headers, cookies, and whatever the host's
middleware put there, e.g. `scope["user"]`); a false answer is the uniform 401."""

_UNITS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


@dataclass(frozen=True, slots=True)
class Rate:
    """`count` requests per `per` seconds (a burst of `count`, then evenly spread)."""

    count: int
    per: float

    def __post_init__(self) -> None:
        if self.count < 1 or not self.per > 0 or not math.isfinite(self.per):
            raise ConfigError("a Rate needs count >= 1 and a positive, finite period in seconds")

    @classmethod
    def parse(cls, text: str) -> Rate:
        """`"10/minute"`, `"5/second"`, `"1000/day"`, or `"30/90"` (per 90 seconds)."""
        count, sep, unit = text.strip().partition("/")
        try:
            per = _UNITS[unit.strip().lower()] if unit.strip().lower() in _UNITS else float(unit)
            return cls(int(count), per) if sep else cls(int(count), 60.0)
        except ValueError:
            raise ConfigError(
                f"invalid rate {text[:40]!r}: use 'N/second|minute|hour|day'"
            ) from None


@runtime_checkable
class RateLimiter(Protocol):
    """Counts one request against `key` under `rate`.

    Returns 0 when the request is allowed (and counted), else the seconds until it would be.
    Keys are already namespaced (`start:<ip>`, `poll:<ip>`, `v1:<user id>`); user ids are opaque
    HMACs, IPs are the clients' addresses.
    """

    async def hit(self, key: str, rate: Rate) -> float: ...


class MemoryRateLimiter:
    """GCRA in a dict, for one process. Bounded: at `max_keys`, expired keys go first, then the
    oldest."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._tat: dict[str, float] = {}

    async def hit(self, key: str, rate: Rate) -> float:
        """See `RateLimiter.hit`."""
        now = self._clock()
        interval = rate.per / rate.count
        tat = max(self._tat.get(key, now), now)
        wait = tat + interval - rate.per - now
        if wait > 1e-9:
            return wait
        if key not in self._tat and len(self._tat) >= self._max_keys:
            self._evict(now)
        self._tat[key] = tat + interval
        return 0.0

    def _evict(self, now: float) -> None:
        for old in [k for k, t in self._tat.items() if t <= now]:
            del self._tat[old]
        while len(self._tat) >= self._max_keys:
            del self._tat[next(iter(self._tat))]


# GCRA on the server's clock (TIME), so every process agrees; one key per client, expiring
# when its bucket is empty again.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat + interval - window - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.max(1, tat + interval - now))
return 0
"""


class RedisRateLimiter:
    """GCRA in Redis, shared by every process (the `redis` extra). A Redis that cannot be
    reached lets requests through (logged, at most once a minute): a limiter outage must not
    take sign-in and the proxy down with it."""

    def __init__(self, client: Any, *, prefix: str = "authai:rl:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA)
        self._last_warning = -math.inf

    @classmethod
    def from_url(cls, url: str = "redis://127.0.0.1:6379/0", **options: Any) -> RedisRateLimiter:
        """A limiter on a new `redis.asyncio` client for `url` (`prefix=` and client options)."""
        try:
            import redis.asyncio as redis_asyncio
        except ImportError:
            raise ConfigError(
                "RedisRateLimiter needs the redis extra: pip install 'authai-embed[redis]'"
            ) from None
        prefix = options.pop("prefix", "authai:rl:")
        options.setdefault("socket_timeout", 1.0)
        options.setdefault("socket_connect_timeout", 1.0)
        return cls(redis_asyncio.Redis.from_url(url, **options), prefix=prefix)

    async def hit(self, key: str, rate: Rate) -> float:
        """See `RateLimiter.hit`."""
        interval = max(1, math.ceil(rate.per * 1000 / rate.count))
        window = interval * rate.count
        try:
            wait = await self._script(keys=[self._prefix + key], args=[interval, window])
        except Exception as exc:  # redis errors, timeouts, connection refused
            now = time.monotonic()
            if now - self._last_warning >= 60:
                self._last_warning = now
                logger.warning("rate limiter unavailable, not limiting: %s", type(exc).__name__)
            return 0.0
        return max(0.0, int(wait) / 1000)

    async def aclose(self) -> None:
        """Close the Redis client."""
        await self._client.aclose()


@dataclass(frozen=True, slots=True)
class Limits:
    """The mount's abuse controls; pass `limits=Limits(...)` to `mount_authai`/`AuthAI`.

    Any rate may be `None` (no limit). `trusted_proxies` lists the reverse proxies (IPs or CIDR
    networks) whose `X-Forwarded-For` is believed; by default none is, and the client IP is the
    connection's peer address.
    """

    limiter: RateLimiter | None = None
    """Where counts live; `None`: Redis when the `rate_limit_url` setting names one (shared by
    every process), else a `MemoryRateLimiter` per `AuthAI` (one process)."""
    auth_start: Rate | None = Rate(10, 60)
    """Sign-ins started per client IP."""
    auth_poll: Rate | None = Rate(120, 60)
    """Polls per client IP (a login polls every 5 s or so: 12 a minute)."""
    v1: Rate | None = Rate(120, 60)
    """Proxy calls per signed-in user."""
    trusted_proxies: tuple[str, ...] = ()
    """Proxies whose `X-Forwarded-For` is trusted, e.g. `("10.0.0.0/8",)`."""

    def networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """`trusted_proxies` parsed (`ConfigError` for a bad entry)."""
        try:
            return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"trusted_proxies: {exc}") from None


def client_ip(
    scope: Scope,
    headers: Mapping[str, str],
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (),
) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the right-most
    `X-Forwarded-For` entry that is not itself a trusted proxy."""
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = [p.strip() for p in _forwarded_for(scope, headers).split(",") if p.strip()]
    address = peer
    for hop in reversed(forwarded):
        if _parse(hop) is None:
            break  # junk: stop at the last address a trusted proxy vouched for
        address = hop
        if not _is_trusted(hop, trusted):
            break
    return address


def rate_key(address: str) -> str:
    """The bucket of a client address: an IPv6 client is its /64 (one subscriber's usual
    allocation, which it can rotate through at will), an IPv4-mapped one its IPv4 address."""
    parsed = _parse(address)
    if not isinstance(parsed, ipaddress.IPv6Address):
        return address
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.IPv6Network((parsed, 64), strict=False))


def _forwarded_for(scope: Scope, headers: Mapping[str, str]) -> str:
    # Each proxy may add its own header line: all of them, in order, form the chain.
    lines = [v for k, v in scope.get("headers", ()) if k.lower() == b"x-forwarded-for"]
    if not lines:
        return headers.get("x-forwarded-for", "")
    return ",".join(v.decode("latin-1") for v in lines)


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_trusted(
    text: str, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    address = _parse(text)
    return address is not None and any(address in network for network in trusted)


class Gate:
    """Applies `Limits` and the start guard to requests (built by `AuthAI`). The limiter is
    `limits.limiter`, else one on `settings.rate_limit_url` (closed by `aclose`), else memory."""

    __slots__ = ("_guard", "_limiter", "_limits", "_networks", "_owned")

    def __init__(
        self, limits: Limits, start_guard: StartGuard | None, settings: Settings | None = None
    ) -> None:
        if start_guard is not None and not callable(start_guard):
            raise ConfigError("start_guard must be a callable taking the ASGI scope")
        self._limits = limits
        self._networks = limits.networks()
        self._guard = start_guard
        self._owned: RedisRateLimiter | None = None  # the one made here, ours to close
        if limits.limiter is None and settings is not None and settings.rate_limit_url:
            self._owned = limiter_from_url(settings.rate_limit_url, app_id=settings.app_id)
        self._limiter: RateLimiter = limits.limiter or self._owned or MemoryRateLimiter()

    async def aclose(self) -> None:
        """Close the limiter made from `rate_limit_url`; a host's own `Limits.limiter` stays
        open (it is the host's). Idempotent; a failure is logged, never raised."""
        if self._owned is None:
            return
        try:
            await self._owned.aclose()
        except Exception as exc:  # a shutdown must go on whatever the Redis client says
            logger.warning("closing the rate limiter failed: %s", type(exc).__name__)

    async def admit_client(
        self, rate: Literal["auth_start", "auth_poll"], request: Request
    ) -> None:
        """Count a sign-in step against its client IP; `auth_start` then asks the host's guard."""
        if rate == "auth_poll":
            await self._hit("poll", self._client(request), self._limits.auth_poll)
            return
        await self._hit("start", self._client(request), self._limits.auth_start)
        if self._guard is not None:
            allowed = self._guard(request.scope)
            if inspect.isawaitable(allowed):
                allowed = await allowed
            if allowed is not True:
                raise Unauthorized()

    async def admit_user(self, user_id: str) -> None:
        """Count a `/v1/*` call against its signed-in user."""
        await self._hit("v1", user_id, self._limits.v1)

    async def per_minute(self, key: str, count: int) -> float:
        """Count one request against `key` under `count` per minute on the mount's limiter (a
        quota's requests per minute): 0 when admitted, else the seconds to wait."""
        return await self._limiter.hit(key, Rate(count, 60.0))

    def _client(self, request: Request) -> str:
        return rate_key(client_ip(request.scope, request.headers, self._networks))

    async def _hit(self, kind: str, who: str, rate: Rate | None) -> None:
        if rate is None:
            return
        wait = await self._limiter.hit(f"{kind}:{who}", rate)
        if wait > 0:
            if logger.isEnabledFor(logging.INFO):
                logger.info("rate limited: %s", kind)
            raise RateLimited(retry_after=max(1, math.ceil(wait)))
