"""`AuthAI`: the ASGI application that is the whole mount, and the object the host app keeps.

It owns the settings, the store, the providers and one shared `httpx.AsyncClient`, and holds the
one route table: every request's path, its guards and its handler are below, in `_table`.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

import authai_embed.openai_sdk as openai_sdk
from authai_embed._transports.upstream_client import new_upstream_client
from authai_embed._util.access_log import install_log_filter
from authai_embed._util.clock import Clock, SystemClock
from authai_embed._util.logs import get_logger
from authai_embed.admin.export import ExportFormat
from authai_embed.admin.kill_switch import Controls, KillSwitch
from authai_embed.admin.ops import AdminOps, UserDetail
from authai_embed.asgi.admin_routes import ADMIN_PREFIX, USERS_PATH, AdminGuard, AdminRoutes
from authai_embed.asgi.anthropic_routes import AnthropicRoutes
from authai_embed.asgi.auth_routes import POLL_PREFIX, AuthRoutes, loggable_path
from authai_embed.asgi.concurrency import ConcurrencyCap, Slot
from authai_embed.asgi.cookies import CookieMode, is_same_origin_or_allowed, read_session_cookie
from authai_embed.asgi.cors import Cors
from authai_embed.asgi.csrf import HeaderSource
from authai_embed.asgi.disconnect import DisconnectWatch
from authai_embed.asgi.errors import error_response, method_not_allowed, route_not_found
from authai_embed.asgi.http import Request, StreamingResponse, check_header_size, route_path
from authai_embed.asgi.lifespan import Lifespan
from authai_embed.asgi.limits import Gate, Limits, StartGuard
from authai_embed.asgi.limits_routes import LIMITS_PATH, LimitsRoutes, limits_json
from authai_embed.asgi.proxy_routes import ProxyRoutes
from authai_embed.asgi.routing import AnyResponse, Guards, Route, find_route, is_v1
from authai_embed.asgi.sdk_route import SDK_PATH, sdk_script, serve_sdk
from authai_embed.asgi.session_routes import SESSIONS_PATH, SessionRoutes
from authai_embed.auth.account_sessions import SessionInfo
from authai_embed.auth.logins import LoginBroker
from authai_embed.auth.plan_limits import PlanLimitsCache
from authai_embed.auth.session_jwt import SessionSigner
from authai_embed.auth.sessions import Session, Sessions
from authai_embed.environment import SECRET_VARIABLES, merge_settings, read_environment
from authai_embed.errors import ConfigError
from authai_embed.events import EventHandler
from authai_embed.observe.bus import EventBus, handlers_of
from authai_embed.observe.calls import CallObserver
from authai_embed.observe.telemetry import Telemetry
from authai_embed.observe.webhook_sender import WebhookSender
from authai_embed.providers.base import Provider
from authai_embed.providers.plan import PlanLimits
from authai_embed.providers.registry import build_providers
from authai_embed.settings import Secrets, Settings
from authai_embed.stores.base import AuditEntry, AuthStore, Control, UsageRow, UserSummary
from authai_embed.stores.url import store_from_url
from authai_embed.types import ASGIApp, Receive, Scope, Send
from authai_embed.usage.ledger import UsageLedger
from authai_embed.usage.metering import Metering
from authai_embed.usage.quotas import Quotas
from authai_embed.usage.tally import utc_day

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI

    from authai_embed.integrations.fastapi import FastAPIDependencies

__all__ = ["AuthAI", "WhoAmI"]

logger = get_logger("app")
_TIMEOUT = httpx.Timeout(60.0, connect=10.0)  # of upstream calls
ROUTE_MEMO = 256
"""Route lookups remembered per mount (`AuthAI._find_route`)."""
_Found = tuple[Route | None, bool]


@dataclass(frozen=True, slots=True)
class WhoAmI:
    """Who a session JWT belongs to: the opaque user id, the provider, the JWT's expiry (Unix s)."""

    user_id: str
    provider: str
    expires_at: int


class AuthAI:
    """The authai_embed mount: OAuth broker, vault and OpenAI-compatible proxy.

    Keyword settings are those of `Settings` (`originator`, `allowed_origins`, ...); one not
    given is read from its `AUTH_AI_*` variable, else defaulted (a prebuilt `settings=` is taken
    as it is, keywords on top). Without `secrets`, `Secrets.from_env()`. Without a `store`, one
    is made from `settings.db_url` (SQLite `authai.db` by default). An unknown keyword raises
    `ConfigError` naming the closest valid one. Pass
    `http_client` to route upstream calls through your own client (tests pass the emulator's
    transport); it is then yours to close. `limits` sets the rate limits (default `Limits()`:
    in memory, per IP on sign-in, per user on `/v1`); `start_guard(scope) -> bool` (sync or
    async) decides who may start a sign-in (others get the uniform 401). `quotas` sets
    per-user limits on requests, tokens and models (`Quotas`; off by default).
    `admin_guard(scope)` (sync or async) turns on the admin routes under `{mount}/admin/`
    (docs/admin.md): it returns the admin's name, or `None` for a 403; without it there are no
    admin routes at all. `on_event`: an async callable, or several, receiving each `Event` in
    the background (docs/events.md). Creating one installs `install_log_filter()` on uvicorn's
    access log (sign-in session ids masked there).
    """

    def __init__(
        self,
        *,
        secrets: Secrets | None = None,
        store: AuthStore | None = None,
        settings: Settings | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        limits: Limits | None = None,
        start_guard: StartGuard | None = None,
        admin_guard: AdminGuard | None = None,
        quotas: Quotas | None = None,
        on_event: EventHandler | Sequence[EventHandler] | None = None,
        **options: Any,
    ) -> None:
        from_env: tuple[str, ...] = ()
        if secrets is None:
            secrets, from_env = Secrets.from_env(), SECRET_VARIABLES
        elif not isinstance(secrets, Secrets):
            raise ConfigError("secrets must be a Secrets (e.g. Secrets.from_env())")
        if settings is None:
            env = read_environment()
            settings = Settings.build(**merge_settings(env.values, options))
            from_env += env.used_under(options)
        elif options:
            settings = Settings.build(**merge_settings(settings.model_dump(), options))
        install_log_filter()  # the server's access log must not show sign-in session ids
        if from_env:  # the names only: values may be secrets
            logger.info("settings from the environment: %s", ", ".join(from_env))
        self.settings: Settings = settings
        self.secrets = secrets
        self.store: AuthStore = store if store is not None else store_from_url(self.settings.db_url)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.http: httpx.AsyncClient = http_client or new_upstream_client(_TIMEOUT)
        self.providers: dict[str, Provider] = build_providers(self.settings, self.http, self.clock)
        self.events = _event_bus(self.settings, handlers_of(on_event), self.clock)
        self.telemetry = Telemetry()
        self._calls = CallObserver(self.telemetry, self.events)
        signer = SessionSigner(
            secrets, ttl=self.settings.token_ttl, leeway=self.settings.jwt_leeway, clock=self.clock
        )
        self.sessions = Sessions(
            store=self.store,
            signer=signer,
            secrets=secrets,
            settings=self.settings,
            clock=self.clock,
            providers=self.providers,
            events=self.events,
            telemetry=self.telemetry,
        )
        self.logins = LoginBroker(
            store=self.store,
            providers=self.providers,
            sessions=self.sessions,
            settings=self.settings,
            clock=self.clock,
        )
        self._plan_limits = PlanLimitsCache(
            self.sessions, self.providers, self.clock, self.settings.limits_max_age
        )
        self._kill = KillSwitch(self.store, self.settings.app_id, self.clock)
        self.admin = AdminOps(
            store=self.store,
            settings=self.settings,
            clock=self.clock,
            kill_switch=self._kill,
            accounts=self.sessions.accounts,
        )
        self.admin.limits_source = self._last_limits
        self._gate = Gate(limits if limits is not None else Limits(), start_guard, self.settings)
        self._cap = ConcurrencyCap(self.settings.max_concurrent_per_user)
        self._cookies = CookieMode.from_settings(self.settings)  # None unless cookie mode is on
        self._cors = Cors(self.settings.allowed_origins, credentials=self._cookies is not None)
        if quotas is not None and not isinstance(quotas, Quotas):
            raise ConfigError("quotas must be a Quotas (e.g. Quotas(default=Quota(...)))")
        self.metering: Metering | None = None
        """The usage ledger and quotas; `None` when both are off."""
        if self.settings.usage_ledger or quotas is not None:
            ledger = UsageLedger(
                self.store,
                flush_seconds=self.settings.usage_flush_interval,
                flush_calls=self.settings.usage_flush_calls,
            )
            self.metering = Metering(self.store, self.clock, ledger, quotas, self._gate.per_minute)
            self.metering.on_exceeded = self.events.quota_exceeded
            self.admin.usage_source = self._usage_rows
        owned_http = self.http if http_client is None else None  # closed at shutdown
        self._life = Lifespan(
            self.store,
            owned_http,
            self.sweep,
            self.settings.sweep_interval,
            None if self.metering is None else self.metering.ledger,
            self.events,
            self._gate.aclose,
        )
        self._fallback: ASGIApp | None = None
        self._fastapi: FastAPIDependencies | None = None
        self._prefix = ""
        proxy = ProxyRoutes(self.sessions, self.providers, self.settings, self.clock, self.metering)
        self._route_memo: tuple[tuple[Route, ...], dict[tuple[str, str], _Found]] = ((), {})
        self._routes = _table(
            AuthRoutes(self.logins, self.sessions, self.providers, self._cookies),
            SessionRoutes(self.sessions, self._cookies),
            LimitsRoutes(self.sessions, self._plan_limits),
            proxy,
            AnthropicRoutes(proxy),
            None
            if admin_guard is None
            else AdminRoutes(self.admin, admin_guard, self.settings.allowed_origins),
        )

    async def startup(self) -> None:
        """Open the store (running migrations) and start the periodic sweep if configured.
        Idempotent; also done lazily on first request."""
        await self._life.startup()

    async def shutdown(self) -> None:
        """Stop the periodic sweep, close the store and the upstream client (if we made it).
        Idempotent."""
        await self._life.shutdown()

    def lifespan(self) -> AbstractAsyncContextManager[AuthAI]:
        """`async with authai.lifespan():` runs startup, then shutdown on exit."""
        return self._life.running(self)

    async def whoami(self, jwt: str | None) -> WhoAmI:
        """The user behind a session JWT. Raises `Unauthorized` for any invalid session."""
        await self._life.ensure_started()
        session = await self.sessions.open_session(jwt)
        return WhoAmI(session.user_id, session.record.provider, session.claims.expires_at)

    async def limits(self, jwt: str | None) -> PlanLimits:
        """The plan limits of the user behind a session JWT (docs/limits.md): the same for
        every session of that user, at most `limits_max_age` seconds old; the provider is asked
        only when they are older, once per user at a time. Raises `Unauthorized` for any invalid
        session and `UpstreamError` when the provider cannot be asked and nothing is known."""
        await self._life.ensure_started()
        return await self._plan_limits.of(await self.sessions.usable_session(jwt))

    async def revoke(self, jwt: str | None) -> None:
        """Sign this session out (the user's other sessions stay): delete its record and revoke
        its tokens at the provider. Raises `Unauthorized` if invalid."""
        await self._life.ensure_started()
        await self.sessions.revoke(jwt)

    async def revoke_all(self, user_id: str, *, by: str | None = None) -> int:
        """Sign user `user_id` (`WhoAmI.user_id`) out everywhere: end every session of theirs;
        return how many there were. Their provider tokens are not revoked at the provider (each
        session's key is only on its device); they stop working here at once, in every process.
        With `by` (an admin's name) it is an admin revoke, written to the audit log."""
        await self._life.ensure_started()
        if by is not None:
            return await self.admin.revoke(user_id, by=by)
        return await self.sessions.accounts.end_all(user_id)

    async def _last_limits(self, user_id: str) -> dict[str, Any] | None:
        """An admin's view of a user's plan limits: as this process last fetched them."""
        known = self._plan_limits.last_fetched(user_id)
        return None if known is None else limits_json(known)

    async def pause(
        self,
        *,
        signins: bool = False,
        provider: str | None = None,
        until: float | str | datetime.datetime | None = None,
        by: str = "python",
    ) -> Control:
        """Kill switch: pause new sign-ins (`signins=True`), one provider's model calls
        (`provider`), or else every model call, in every process sharing the store (within 2 s).
        Paused requests get a 503 (with `Retry-After` when `until`, Unix seconds or ISO 8601, is
        set). Written to the audit log as `by`."""
        await self._life.ensure_started()
        return await self.admin.pause(by=by, signins=signins, provider=provider, until=until)

    async def resume(
        self, *, signins: bool = False, provider: str | None = None, by: str = "python"
    ) -> bool:
        """Lift the pause that `pause` with the same arguments set; return whether there was
        one. Written to the audit log as `by`."""
        await self._life.ensure_started()
        return await self.admin.resume(by=by, signins=signins, provider=provider)

    async def controls(self) -> Controls:
        """The kill switch's pauses in force now (read from the store)."""
        await self._life.ensure_started()
        return await self.admin.controls()

    async def list_users(self, *, limit: int = 1000) -> list[UserSummary]:
        """The users with a live session, most recently used first: for an admin page."""
        await self._life.ensure_started()
        return await self.admin.users(limit=limit)

    async def user_detail(self, user_id: str) -> UserDetail:
        """A user's live sessions (and usage and limits when a usage ledger is wired)."""
        await self._life.ensure_started()
        return await self.admin.user_detail(user_id)

    async def audit_log(
        self, *, since: float | str | datetime.datetime | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """The admin actions (pause, resume, revoke, export) since `since`, oldest first."""
        await self._life.ensure_started()
        return await self.admin.audit_log(since=since, limit=limit)

    async def export_usage(
        self,
        fmt: ExportFormat = "csv",
        *,
        by: str = "python",
        user_id: str | None = None,
        since: float | str | None = None,
        until: float | str | None = None,
    ) -> str:
        """Usage rows as CSV or JSON text, audited as `by`. Raises `NotFound` when no usage
        ledger is wired (`authai.admin.usage_source`)."""
        await self._life.ensure_started()
        return await self.admin.export_usage(fmt, by=by, user_id=user_id, since=since, until=until)

    async def list_sessions(self, user_id: str) -> list[SessionInfo]:
        """The live sessions of user `user_id`, oldest first, for a "your devices" page. Check that
        the user asking is `user_id` (from `whoami`): this method trusts its argument."""
        await self._life.ensure_started()
        return await self.sessions.accounts.describe(user_id)

    async def end_session(self, user_id: str, session_id: str) -> bool:
        """End one session of user `user_id` by its `SessionInfo.session_id`; `False` when the
        user has no such session (someone else's id included)."""
        await self._life.ensure_started()
        return await self.sessions.accounts.end(user_id, session_id)

    async def label_session(self, user_id: str, session_id: str, label: str | None) -> bool:
        """Name a session of user `user_id` ("Work laptop"; `None` clears it); `False` when the
        user has no such session. Raises `InvalidRequest` for over 100 characters or control
        characters. Sign-ins through a browser start labelled from its User-Agent."""
        await self._life.ensure_started()
        return await self.sessions.accounts.label(user_id, session_id, label)

    async def sweep(self) -> int:
        """Delete expired pending sign-ins, records past their grace period and stale leases;
        return how many went. Call it from a periodic job (any process; it is idempotent)."""
        await self._life.ensure_started()
        now = self.clock.now()
        removed = await self.store.sweep(now)
        if self.metering is not None:
            kept = now - self.settings.usage_retention_days * 86400
            removed += await self.store.sweep_usage(utc_day(kept))
        logger.info("sweep removed %d expired entries", removed)
        return removed

    async def usage(
        self,
        user_id: str | None,
        *,
        since: datetime.date | str | None = None,
        until: datetime.date | str | None = None,
    ) -> list[UsageRow]:
        """The usage ledger's rows of `user_id` (every user's when `None`) from UTC day `since`
        to `until`, both included (`date`s or `YYYY-MM-DD`; default: today), ordered by day.
        Counts this process still holds are written first, so the answer is current."""
        await self._life.ensure_started()
        if self.metering is not None:
            await self.metering.ledger.flush()
        today = utc_day(self.clock.now())
        return await self.store.get_usage(user_id, _day(since, today), _day(until, today))

    async def _usage_rows(
        self, user_id: str | None, since: float | None, until: float | None
    ) -> list[dict[str, Any]]:
        """The admin seam's usage: the ledger's rows between two Unix times (their UTC days; by
        default the last 30 days), one mapping per row."""
        now = self.clock.now()
        first = utc_day(now - 30 * 86400 if since is None else since)
        last = utc_day(now if until is None else until)
        rows = await self.usage(user_id, since=first, until=last)
        return [dataclasses.asdict(row) for row in rows]

    @staticmethod
    def session_from_cookies(cookies: str | Mapping[str, str] | None) -> str | None:
        """Cookie mode: the session JWT in a request's cookies (a `Cookie` header's text, or a
        mapping such as Django's `request.COOKIES`), or `None`. Pass it to `whoami` or
        `async_openai_client` like any JWT."""
        return read_session_cookie(cookies)

    def passes_csrf_check(self, headers: HeaderSource, scheme: str = "https") -> bool:
        """Whether a request to one of YOUR routes passes the cross-site check the mount applies
        to cookie-authenticated state changes (`Sec-Fetch-Site`, `Origin` vs `Host`,
        `allowed_origins`). `headers`: the ASGI `scope["headers"]` list, a dict with `str` or
        `bytes` names in any case, Starlette's or Django's `request.headers`; anything else
        raises `TypeError` (never a pass). `scheme`: the request's."""
        return is_same_origin_or_allowed(headers, scheme, frozenset(self.settings.allowed_origins))

    def async_openai_client(self, jwt: str, **options: Any) -> AsyncOpenAI:
        """An `openai.AsyncOpenAI` for user `jwt` that calls this mount in-process (no network
        hop; streams arrive event by event). Needs the `openai` extra; `options` go to the SDK."""
        return openai_sdk.async_openai_client(self._serve_mount, jwt, **options)

    def openai_client(self, jwt: str, **options: Any) -> OpenAI:
        """A sync `openai.OpenAI` for user `jwt`, for sync code in a worker thread while the app
        serves on its event loop (a sync Django view under an ASGI server, say)."""
        loop = self._life.loop
        if loop is None or loop.is_closed():
            raise ConfigError("the sync client needs the app started (its event loop running)")
        return openai_sdk.openai_client(self._serve_mount, jwt, loop, **options)

    @property
    def current_user(self) -> Callable[..., Awaitable[WhoAmI]]:
        """FastAPI dependency: the signed-in user's `WhoAmI` (bearer header, or the cookie in
        cookie mode), else `HTTPException(401)` with `WWW-Authenticate: Bearer`; a cross-site
        cookie-authenticated state change gets `403`. Needs the `fastapi` extra."""
        return self._dependencies().current_user

    @property
    def openai(self) -> Callable[..., Awaitable[AsyncOpenAI]]:
        """FastAPI dependency: an in-process `openai.AsyncOpenAI` for the request's signed-in
        user (401/403 as `current_user`). Needs the `fastapi` and `openai` extras."""
        return self._dependencies().openai

    def _dependencies(self) -> FastAPIDependencies:
        if self._fastapi is None:  # imported here: FastAPI is an optional extra
            from authai_embed.integrations.fastapi import FastAPIDependencies

            self._fastapi = FastAPIDependencies(self)
        return self._fastapi

    @property
    def sdk_version(self) -> str:
        """The content hash of `{mount}/sdk.js`: link `sdk.js?v=<it>` to have browsers cache the
        web component for a year (a new release has a new hash, hence a new URL)."""
        return sdk_script().version

    def wrap(self, app: ASGIApp, prefix: str = "/authai") -> AuthAI:
        """Serve `prefix` and pass every other request (and lifespan) to `app`; return `self`,
        which is then the ASGI application to run (Django, or any ASGI stack).

        Raises `ConfigError` when this `AuthAI` already wraps an app, or when `app` is an
        `AuthAI` wrapping at the same `prefix` (only the outer one would ever answer there)."""
        if not prefix.startswith("/") or prefix.endswith("/") or len(prefix) < 2:
            raise ConfigError("prefix must start with '/' and not end with it, e.g. '/authai'")
        if self._fallback is not None:
            raise ConfigError("this AuthAI already wraps an app: make one AuthAI per app")
        inner: object = app
        while isinstance(inner, AuthAI):
            if inner._prefix == prefix:
                raise ConfigError(
                    f"authai_embed is already mounted at {prefix!r} on this app, and the outer"
                    " one would answer every request there: call mount_authai once per app, or"
                    " give another path="
                )
            inner = inner._fallback
        self._fallback, self._prefix = app, prefix
        return self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._life(scope, receive, send, self._fallback)
            return
        path = route_path(scope)
        if self._fallback is not None:
            if path != self._prefix and not path.startswith(self._prefix + "/"):
                await self._fallback(scope, receive, send)
                return
            path = path[len(self._prefix) :] or "/"
        await self._serve(scope, receive, send, path)

    async def _serve_mount(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry at the mount itself (in-process clients), skipping any wrap prefix."""
        await self._serve(scope, receive, send, route_path(scope))

    async def _serve(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        try:
            await self._life.ensure_started()
        except Exception as exc:  # the store is down: 503 now, and the next request tries again
            route, _ = find_route(self._routes, scope["method"], path)
            anthropic = route is not None and route.guards.dialect == "anthropic"
            await error_response(exc, v1=is_v1(path), anthropic=anthropic)(scope, receive, send)
            return
        request = Request(scope, receive, path)
        started = time.perf_counter()
        status = await self._handle(request, send)
        if status is None:
            logger.info("%s %s: the client went away", request.method, loggable_path(path))
            return
        elapsed = (time.perf_counter() - started) * 1000
        logger.info("%s %s %d %.1fms", request.method, loggable_path(path), status, elapsed)

    def _find_route(self, method: str, path: str) -> tuple[Route | None, bool]:
        """`find_route` in this mount's table, remembered for the paths of its exact routes
        (at most `ROUTE_MEMO` of them, whatever paths clients send): every request looks one
        up, and the table is read route by route."""
        routes = self._routes
        memo = self._route_memo
        if memo[0] is not routes:  # a table replaced since (tests do): start over
            memo = self._route_memo = (routes, {})
        found = memo[1].get((method, path))
        if found is None:
            found = find_route(routes, method, path)
            route = found[0]
            if route is not None and not route.path.endswith("*") and len(memo[1]) < ROUTE_MEMO:
                memo[1][(method, path)] = found
        return found

    async def _handle(self, request: Request, send: Send) -> int | None:
        """Answer `request`: the status sent, or None when the client went away first."""
        if self._cors.is_preflight(request.method, request.headers):
            preflight = self._cors.preflight(request.headers.get("origin"))
            await preflight(request.scope, request.receive, send)
            return preflight.status
        route, ok = self._find_route(request.method, request.path)
        if route is None or not route.guards.watch:
            return await self._answer(request, send, route, ok)
        # One watch from the first byte to the last, however long the stream: the client
        # leaving cancels the work, the upstream call and the stream included.
        watch = DisconnectWatch(request.receive)
        request.receive = watch.receive
        bodiless = request.method in ("GET", "HEAD")
        return await watch.run(self._answer(request, send, route, ok), bodiless=bodiless)

    async def _answer(self, request: Request, send: Send, route: Route | None, ok: bool) -> int:
        # The user's place under the concurrency cap is held until the last byte is sent, and
        # given back however the answer ends (done, failed, or cancelled by a disconnect).
        slot = self._cap.slot()
        call = None if route is None else self._calls.begin(request.method, route.path)
        response: AnyResponse | None = None
        who: tuple[str | None, str | None] = (None, None)  # the user and provider, once known
        try:
            try:
                response = await self._dispatch(request, route, ok, slot)
            except Exception as exc:  # every error is answered; errors.py logs unexpected ones
                slot.release()
                if call is not None:
                    call.exc = exc
                anthropic = route is not None and route.guards.dialect == "anthropic"
                response = error_response(exc, v1=is_v1(request.path), anthropic=anthropic)
            response.headers.extend(self._cors.response_headers(request.headers.get("origin")))
            if call is not None:
                self._calls.sending(call, isinstance(response, StreamingResponse))
            if request.session is not None:
                # The answer is made: keep who it was for, not the session, which holds the
                # user's opened tokens and record, for as long as a stream lasts.
                who = _who(request.session)
                request.session = None
            if isinstance(response, StreamingResponse):
                request.release()  # the stream has what it needs of the headers and body
            if route is not None and route.guards.watch and isinstance(response, StreamingResponse):
                await response.stream_to(send)  # the watch listens for a disconnect already
            else:
                await response(request.scope, request.receive, send)
        finally:
            slot.release()
            if call is not None and response is not None:  # once the whole answer is sent
                if request.session is not None:  # ended before the answer was made
                    who = _who(request.session)
                self._calls.end(call, *who, response.status)
        return response.status

    async def _dispatch(
        self, request: Request, route: Route | None, ok: bool, slot: Slot
    ) -> AnyResponse:
        """The guards of `route` in their order (see `Guards`), then its handler."""
        check_header_size(request.scope)  # 431, before anything else
        if route is None:
            return route_not_found()
        guards = route.guards
        if guards.rate == "auth_start" or guards.rate == "auth_poll":
            await self._gate.admit_client(guards.rate, request)
            if guards.rate == "auth_start":
                await self._kill.check_signins()  # the kill switch: a cached read
        if not ok:
            return method_not_allowed(route.method)
        if guards.csrf is not None and self._cookies is not None:
            self._cookies.admit(request, always=guards.csrf == "always")
        if guards.auth == "session":
            token = request.bearer_token()
            if guards.dialect == "anthropic" and "authorization" not in request.headers:
                token = request.headers.get("x-api-key") or token
            request.session = await self.sessions.usable_session(token)
            await self._kill.check_models(request.session.record.provider)  # cached, as above
            if guards.rate == "v1":
                await self._gate.admit_user(request.session.user_id)
                slot.take(request.session.user_id)  # the per-user concurrency cap
        return await route.handler(request)


def _day(value: datetime.date | str | None, default: str) -> str:
    """A day as `YYYY-MM-DD`; `ConfigError` for text that is not one."""
    if value is None:
        return default
    if isinstance(value, datetime.date):
        return value.isoformat()[:10]
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ConfigError(f"{value[:40]!r} is not a day: use YYYY-MM-DD") from None


def _who(session: Session) -> tuple[str, str]:
    return session.user_id, session.record.provider


def _event_bus(settings: Settings, handlers: list[EventHandler], clock: Clock) -> EventBus:
    """The mount's event bus: the host's handlers, then the webhook when one is configured."""
    if settings.webhook_url is None or settings.webhook_secret is None:
        return EventBus(handlers, clock=clock)
    sender = WebhookSender(settings.webhook_url, settings.webhook_secret, clock=clock)
    return EventBus([*handlers, sender], clock=clock, services=[sender])


def _table(
    auth: AuthRoutes,
    mine: SessionRoutes,
    limits: LimitsRoutes,
    proxy: ProxyRoutes,
    anthropic: AnthropicRoutes,
    admin: AdminRoutes | None,
) -> tuple[Route, ...]:
    """THE route table. `/v1` is OpenAI's API (and Anthropic's Messages): only /v1 routes serve
    a /v1 path, and the last one answers every other /v1 call; outside it, no route is a 404.
    The admin routes exist only with an `admin_guard`; each runs it (admin_routes.py)."""
    proxied = Guards(rate="v1", csrf="cookie", auth="session", watch=True)
    messages = Guards(rate="v1", csrf="cookie", auth="session", watch=True, dialect="anthropic")
    no_tokens = Guards(csrf="cookie", watch=True, dialect="anthropic")
    return (
        Route("GET", "/", auth.root),
        Route("*", SDK_PATH, serve_sdk),
        Route("GET", "/auth/providers", auth.list_providers),
        # `auth_start` also asks the host's `start_guard` (limits.py).
        Route("POST", "/auth/start", auth.start, Guards(rate="auth_start", csrf="always")),
        Route("GET", POLL_PREFIX + "*", auth.poll, Guards(rate="auth_poll", csrf="always")),
        Route("GET", "/auth/whoami", auth.whoami, Guards(csrf="cookie", auth="bearer")),
        # "bearer": revoke checks the token itself, so that a dead cookie is cleared too.
        Route("POST", "/auth/revoke", auth.revoke, Guards(csrf="cookie", auth="bearer")),
        # (ours) a user's sessions: sign out everywhere, list them, end one by id.
        Route("POST", "/auth/revoke-all", mine.revoke_all, Guards(csrf="cookie", auth="bearer")),
        Route("GET", SESSIONS_PATH, mine.list_sessions, Guards(csrf="cookie", auth="bearer")),
        Route(
            "DELETE", SESSIONS_PATH + "/*", mine.end_session, Guards(csrf="cookie", auth="bearer")
        ),
        # (ours) the user's plan limits, as their provider reports them.
        Route("GET", LIMITS_PATH, limits.limits, Guards(csrf="cookie", auth="bearer")),
        Route("GET", "/v1/models", proxy.models, proxied),
        Route("POST", "/v1/chat/completions", proxy.chat_completions, proxied),
        Route("POST", "/v1/responses", proxy.responses, proxied),
        Route("POST", "/v1/messages", anthropic.messages, messages),
        Route("POST", "/v1/messages/count_tokens", anthropic.count_tokens, no_tokens),
        Route("*", "/v1*", proxy.unsupported, Guards(csrf="cookie", watch=True)),
        *(() if admin is None else _admin_table(admin)),
    )


def _admin_table(admin: AdminRoutes) -> tuple[Route, ...]:
    """The admin routes, each behind the cross-site check and the host's `admin_guard`."""
    g = admin.guarded
    return (
        Route("GET", USERS_PATH, g(admin.users)),
        Route("GET", USERS_PATH + "/*", g(admin.user)),
        Route("POST", USERS_PATH + "/*", g(admin.revoke)),
        Route("GET", ADMIN_PREFIX + "/controls", g(admin.controls)),
        Route("POST", ADMIN_PREFIX + "/pause", g(admin.pause)),
        Route("POST", ADMIN_PREFIX + "/resume", g(admin.resume)),
        Route("GET", ADMIN_PREFIX + "/audit", g(admin.audit)),
        Route("GET", ADMIN_PREFIX + "/usage", g(admin.usage)),
    )
