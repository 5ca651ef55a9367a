"""The upstream client a mount makes for itself: one `httpx.AsyncClient` for every user's calls.

Two things set it apart from a plain `httpx.AsyncClient(transport=UpstreamTransport())`:

- It keeps no cookies. One client serves every user, so a cookie that a provider sets on one
  user's call (a load balancer's, a bot check's) must never ride along on another user's.
- Its `send` goes straight to the transport. The stages `httpx.AsyncClient.send` runs around
  the transport (auth flows, redirects, cookie extraction, event hooks, timing) are all unused
  here, and cost about as much as the transport itself, once per proxied request. When any of
  them is asked for (an `auth`, `follow_redirects`, or hooks added later), the full
  `httpx.AsyncClient.send` runs instead.
"""

from __future__ import annotations

from http.cookiejar import Cookie, CookieJar
from typing import Any

import httpx

from authai_embed._transports.upstream import UpstreamTransport

__all__ = ["UpstreamClient", "new_upstream_client", "sent_request"]


class _NoCookies(CookieJar):
    """A jar that keeps nothing."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


class UpstreamClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` without a cookie jar or redirects whose `send` skips the stages it
    never uses. Make one with `new_upstream_client`."""

    def __init__(self, *, timeout: httpx.Timeout, transport: httpx.AsyncBaseTransport) -> None:
        super().__init__(
            timeout=timeout, transport=transport, follow_redirects=False, cookies=_NoCookies()
        )
        self._direct = transport

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        hooks = self.event_hooks
        if (
            auth is not httpx.USE_CLIENT_DEFAULT
            or follow_redirects is True
            or self.auth is not None
            or hooks["request"]
            or hooks["response"]
        ):
            return await super().send(
                request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
        try:
            response = await self._direct.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request
            raise
        # A streamed answer may stay open for minutes: it keeps its request's method and URL.
        response.request = sent_request(request) if stream else request
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response


_SENT_LIMIT = 64
"""At most this many method-and-URL requests are shared (a mount calls a handful of URLs)."""

_sent: dict[tuple[str, str], httpx.Request] = {}


def sent_request(request: httpx.Request) -> httpx.Request:
    """What a streamed response keeps of its request once it is sent: the method and the URL,
    without headers or body. The response keeps its request for as long as it is open (minutes,
    thousands at once): the headers carry the user's access token, the body a whole
    conversation, and nothing reads either again. One such request is shared per method and
    URL without a query (building one costs about 9 µs, on every proxied call)."""
    key = (request.method, str(request.url))
    kept = _sent.get(key)
    if kept is None:
        kept = httpx.Request(request.method, request.url)
        if len(_sent) < _SENT_LIMIT and not request.url.query:  # kept for good: no query
            _sent[key] = kept
    return kept


def new_upstream_client(
    timeout: httpx.Timeout, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The client an `AuthAI` makes when given none: an `UpstreamTransport` (or `transport`),
    no redirects and no cookie jar (one client serves every user, so nothing of one user's
    call may ride on another's). Pass it as `http_client=` to keep that with a transport of
    your own (an egress proxy, say), or to share one client between mounts."""
    return UpstreamClient(
        timeout=timeout, transport=transport if transport is not None else UpstreamTransport()
    )
