"""`AuthAI`: the ASGI application that is the whole mount, and the object the host app keeps.

It owns the settings, the store, the providers and one shared `httpx.AsyncClient`. Mounted under
a framework (`mount_authai`), it serves paths relative to the mount; wrapped around another ASGI
app (`AuthAI.wrap`), it serves its prefix and hands everything else to that app.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from authai_embed import openai_sdk
from authai_embed._transports.upstream_client import new_upstream_client
from authai_embed._util.clock import Clock, SystemClock
from authai_embed._util.logs import get_logger
from authai_embed.asgi.auth_routes import AuthRoutes
from authai_embed.asgi.cookies import CookieMode, is_same_origin_or_allowed, read_session_cookie
from authai_embed.asgi.cors import Cors
from authai_embed.asgi.disconnect import DisconnectWatch
from authai_embed.asgi.errors import auth_error_response, v1_error_response
from authai_embed.asgi.http import (
    JSONResponse,
    Request,
    Response,
    StreamingResponse,
    check_header_size,
    route_path,
)
from authai_embed.asgi.limits import Gate, Limits, StartGuard
from authai_embed.asgi.proxy_routes import ProxyRoutes
from authai_embed.asgi.sdk_route import SDK_PATH, sdk_script
from authai_embed.auth.logins import LoginBroker
from authai_embed.auth.session_jwt import SessionSigner
from authai_embed.auth.sessions import Sessions
from authai_embed.errors import AuthAIError, ConfigError
from authai_embed.providers.base import Provider
from authai_embed.providers.registry import build_providers
from authai_embed.settings import Secrets, Settings
from authai_embed.stores.base import AuthStore
from authai_embed.stores.url import store_from_url
from authai_embed.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    import openai

__all__ = ["AuthAI", "WhoAmI"]

logger = get_logger("app")

_UPSTREAM_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@dataclass(frozen=True, slots=True)
class WhoAmI:
    """Who a session JWT belongs to: the opaque user id, the provider, the JWT's expiry (Unix s)."""

    user_id: str
    provider: str
    expires_at: int


class AuthAI:
    """The authai_embed mount: OAuth broker, vault and OpenAI-compatible proxy.

    Keyword settings are those of `Settings` (`originator`, `allowed_origins`, ...). Without a
    `store`, one is made from `settings.db_url` (SQLite `authai.db` by default). Pass
    `http_client` to route upstream calls through your own client (tests pass the emulator's
    transport); it is then yours to close. `limits` sets the rate limits (default `Limits()`:
    in memory, per IP on sign-in, per user on `/v1`); `start_guard(scope) -> bool` (sync or
    async) decides who may start a sign-in (others get the uniform 401).
    """

    def __init__(
        self,
        *,
        secrets: Secrets,
        store: AuthStore | None = None,
        settings: Settings | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        limits: Limits | None = None,
        start_guard: StartGuard | None = None,
        **options: Any,
    ) -> None:
        if not isinstance(secrets, Secrets):
            raise ConfigError("secrets must be a Secrets (e.g. Secrets.from_env())")
        if settings is not None and options:
            settings = Settings.build(**{**settings.model_dump(), **options})
        self.settings: Settings = settings if settings is not None else Settings.build(**options)
        self.secrets = secrets
        self.store: AuthStore = store if store is not None else store_from_url(self.settings.db_url)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._owns_http = http_client is None
        self.http: httpx.AsyncClient = http_client or new_upstream_client(_UPSTREAM_TIMEOUT)
        self.providers: dict[str, Provider] = build_providers(self.settings, self.http, self.clock)
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
        )
        self.logins = LoginBroker(
            store=self.store,
            providers=self.providers,
            sessions=self.sessions,
            settings=self.settings,
            clock=self.clock,
        )
        self._gate = Gate(limits if limits is not None else Limits(), start_guard)
        self._auth_routes = AuthRoutes(
            logins=self.logins, sessions=self.sessions, providers=self.providers
        )
        self._proxy = ProxyRoutes(
            sessions=self.sessions,
            providers=self.providers,
            settings=self.settings,
            clock=self.clock,
            admit=self._gate.admit_user,
        )
        self._cookies = CookieMode.from_settings(self.settings)  # None unless cookie mode is on
        self._auth_routes.cookie = self._cookies
        self._cors = Cors(self.settings.allowed_origins, credentials=self._cookies is not None)
        self._started = False
        self._start_lock = anyio.Lock()
        self._fallback: ASGIApp | None = None
        self._prefix = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def startup(self) -> None:
        """Open the store (running migrations) and start the periodic sweep if configured.
        Idempotent; also done lazily on first request."""
        async with self._start_lock:
            if not self._started:
                await self.store.open()
                self._started = True
                self._loop = asyncio.get_running_loop()
                if self.settings.sweep_interval is not None:
                    self._sweeper = self._loop.create_task(
                        self._sweep_every(self.settings.sweep_interval)
                    )

    async def shutdown(self) -> None:
        """Stop the periodic sweep, close the store and the upstream client (if we made it).
        Idempotent."""
        async with self._start_lock:
            if self._sweeper is not None:
                self._sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._sweeper
                self._sweeper = None
            if self._started:
                await self.store.close()
                self._started = False
            if self._owns_http and not self.http.is_closed:
                await self.http.aclose()

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[AuthAI]:
        """`async with authai.lifespan():` runs startup, then shutdown on exit."""
        await self.startup()
        try:
            yield self
        finally:
            await self.shutdown()

    # -- the host's in-process API -------------------------------------------------------------

    async def whoami(self, jwt: str | None) -> WhoAmI:
        """The user behind a session JWT. Raises `Unauthorized` for any invalid session."""
        await self._ensure_started()
        session = await self.sessions.open_session(jwt)
        return WhoAmI(session.user_id, session.record.provider, session.claims.expires_at)

    async def revoke(self, jwt: str | None) -> None:
        """Sign the user out everywhere: delete their record. Raises `Unauthorized` if invalid."""
        await self._ensure_started()
        await self.sessions.revoke(jwt)

    async def sweep(self) -> int:
        """Delete expired pending sign-ins, records past their grace period and stale leases;
        return how many went. Call it from a periodic job (any process; it is idempotent)."""
        await self._ensure_started()
        removed = await self.store.sweep(self.clock.now())
        logger.info("sweep removed %d expired entries", removed)
        return removed

    @staticmethod
    def session_from_cookies(cookies: str | Mapping[str, str] | None) -> str | None:
        """Cookie mode: the session JWT in a request's cookies (a `Cookie` header's text, or a
        mapping such as Django's `request.COOKIES`), or `None`. Pass it to `whoami` or
        `async_openai_client` like any JWT."""
        return read_session_cookie(cookies)

    def passes_csrf_check(self, headers: Mapping[str, str], scheme: str = "https") -> bool:
        """Whether a request to one of YOUR routes passes the cross-site check the mount applies
        to cookie-authenticated state changes (`Sec-Fetch-Site`, `Origin` vs `Host`,
        `allowed_origins`). `headers`: lower-case names or a case-insensitive mapping
        (Starlette's or Django's `request.headers`); `scheme`: the request's."""
        return is_same_origin_or_allowed(headers, scheme, frozenset(self.settings.allowed_origins))

    async def _sweep_every(self, interval: float) -> None:
        """The periodic sweep: a failure (store briefly unreachable) is logged, never fatal."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except AuthAIError as exc:
                logger.warning("periodic sweep failed, will retry: %s", exc)

    def async_openai_client(self, jwt: str, **options: Any) -> openai.AsyncOpenAI:
        """An `openai.AsyncOpenAI` for user `jwt` that calls this mount in-process (no network
        hop; streams arrive event by event). Needs the `openai` extra; `options` go to the SDK."""
        return openai_sdk.async_openai_client(self._serve_mount, jwt, **options)

    def openai_client(self, jwt: str, **options: Any) -> openai.OpenAI:
        """A sync `openai.OpenAI` for user `jwt`, for sync code in a worker thread while the app
        serves on its event loop (a sync Django view under an ASGI server, say)."""
        if self._loop is None or self._loop.is_closed():
            raise ConfigError("the sync client needs the app started (its event loop running)")
        return openai_sdk.openai_client(self._serve_mount, jwt, self._loop, **options)

    @property
    def sdk_version(self) -> str:
        """The content hash of `{mount}/sdk.js`: link `sdk.js?v=<it>` to have browsers cache the
        web component for a year (a new release has a new hash, hence a new URL)."""
        return sdk_script().version

    def wrap(self, app: ASGIApp, prefix: str = "/authai") -> AuthAI:
        """Serve `prefix` and pass every other request (and lifespan) to `app`; return `self`,
        which is then the ASGI application to run (Django, or any ASGI stack)."""
        if not prefix.startswith("/") or prefix.endswith("/") or len(prefix) < 2:
            raise ConfigError("prefix must start with '/' and not end with it, e.g. '/authai'")
        self._fallback, self._prefix = app, prefix
        return self

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            if self._fallback is not None:
                await self._lifespan_with_fallback(scope, receive, send)
            else:
                await self._lifespan(receive, send)
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
        request = Request(scope, receive, path)
        try:
            await self._ensure_started()
        except Exception as exc:  # the store is down: 503 now, and the next request tries again
            await _error_for(request, exc)(scope, receive, send)
            return
        await self._handle(scope, request, send)

    async def _ensure_started(self) -> None:
        if not self._started:
            await self.startup()

    def _refused(self, request: Request, is_v1: bool) -> Response | None:
        """Cookie mode: attach the cookie's session to `request`, or refuse a cross-site one."""
        return None if self._cookies is None else self._cookies.admit(request, is_v1)

    async def _handle(self, scope: Scope, request: Request, send: Send) -> None:
        started = time.perf_counter()
        origin = request.headers.get("origin")
        response: Response | StreamingResponse
        if self._cors.is_preflight(request.method, request.headers):
            if self._cors.allowed(origin):
                response = Response(b"", 204, self._cors.preflight_headers(origin))
            else:
                response = JSONResponse({"error": "origin not allowed"}, 403)
            await response(scope, request.receive, send)
            status: int | None = response.status
        elif _is_v1(request.path):
            status = await self._serve_v1(scope, request, send, origin)
        else:
            try:
                response = await self._route(request, False)
            except Exception as exc:  # every error is answered; errors.py logs unexpected ones
                response = _error_for(request, exc)
            response.headers.extend(self._cors.response_headers(origin))
            await response(scope, request.receive, send)
            status = response.status
        if status is None:
            logger.info("%s %s: the client went away", request.method, _loggable(request.path))
            return
        logger.info(
            "%s %s %d %.1fms",
            request.method,
            _loggable(request.path),
            status,
            (time.perf_counter() - started) * 1000,
        )

    async def _serve_v1(
        self, scope: Scope, request: Request, send: Send, origin: str | None
    ) -> int | None:
        """Route and answer a `/v1` request, watched for a disconnect from its first byte to its
        last (one watch, however long the stream): the client leaving cancels the work, the
        upstream call and the stream included, and gives None; otherwise the status sent."""
        watch = DisconnectWatch(request.receive)
        request.receive = watch.receive

        async def serve() -> int:
            response: Response | StreamingResponse
            try:
                response = await self._route(request, True)
            except Exception as exc:  # every error is answered; errors.py logs unexpected ones
                response = _error_for(request, exc)
            response.headers.extend(self._cors.response_headers(origin))
            if isinstance(response, StreamingResponse):
                await response.stream_to(send)
            else:
                await response(scope, request.receive, send)
            return response.status

        return await watch.run(serve, bodiless=request.method in ("GET", "HEAD"))

    async def _route(self, request: Request, is_v1: bool) -> Response | StreamingResponse:
        check_header_size(request.scope)
        if request.path == SDK_PATH:
            return sdk_script().respond(request)
        if is_v1:
            if refused := self._refused(request, True):
                return refused
            return await self._proxy.dispatch(request)
        matched = self._auth_routes.match(request.path)
        if matched is None:
            return JSONResponse({"error": "not found"}, 404)
        method, handler = matched
        await self._gate.admit_auth(request)
        if request.method != method and not (method == "GET" and request.method == "HEAD"):
            return JSONResponse({"error": "method not allowed"}, 405, [(b"allow", method.encode())])
        return self._refused(request, False) or await handler(request)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": _failure(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _lifespan_with_fallback(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the wrapped app's lifespan with ours folded in; apps that refuse lifespan
        (Django raises before reading a message) get ours alone."""
        assert self._fallback is not None
        received = False

        async def receive_tracked() -> Message:
            nonlocal received
            received = True
            return await receive()

        async def send_folded(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": _failure(exc)})
                    return
            elif message["type"] == "lifespan.shutdown.complete":
                await self.shutdown()
            await send(message)

        try:
            await self._fallback(scope, receive_tracked, send_folded)
        except Exception:
            if received:
                raise
            await self._lifespan(receive, send)


def _is_v1(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def _error_for(request: Request, exc: BaseException) -> JSONResponse:
    return v1_error_response(exc) if _is_v1(request.path) else auth_error_response(exc)


def _loggable(path: str) -> str:
    # A session id is a bearer secret for its login: never log it.
    return "/auth/poll/…" if path.startswith("/auth/poll/") else path[:200]


def _failure(exc: BaseException) -> str:
    if isinstance(exc, AuthAIError):
        return str(exc)  # our messages name the problem and never carry secrets
    return f"authai_embed startup failed: {type(exc).__name__}"
