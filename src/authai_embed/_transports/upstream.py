"""`UpstreamTransport`: the upstream client's HTTP/1.1 transport, built for relaying streams.

httpx's default transport (httpcore and h11) hands a streamed body over one HTTP chunk at a time,
and providers send one SSE event per chunk: a proxy reading through it paid the client stack
once per event, then translated and wrote each event to its own client in a send of its own.
This transport hands over everything that has arrived when the reader asks: a burst of events
is read, translated and written once. Under load, when events queue up, the per-event cost of
relaying falls to a per-read cost; a lone event still goes out the moment it arrives.

Each connection is a plain asyncio protocol that keeps reading into its buffer (pausing only
past `_HIGH_WATER`), so a read costs no system call beyond the `recv` itself. A request leaves in
one write. Connections are kept alive per origin and event loop, most recently used first, and
one the server has closed (or that has gone unused for `keepalive_expiry`) is never reused.

HTTP/1.1 only, which is what the providers' API endpoints serve; TLS from
`httpx.create_ssl_context()` unless given. Timeouts come from the request (`httpx.Timeout`) and
every failure is the `httpx` exception httpcore would raise, so callers treat both transports
alike. Outside asyncio (trio) requests go to `httpx.AsyncHTTPTransport`. As with any httpx
client given its own transport, proxies from the environment are not used.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from authai_embed._transports.http11 import (
    BodyDecoder,
    ProtocolError,
    ResponseHead,
    encode_chunk,
    encode_request_head,
)
from authai_embed._transports.http11 import parse_response_head as _parse_head
from authai_embed._util.loop import running_loop

__all__ = ["UpstreamTransport"]

_HIGH_WATER = 1024 * 1024  # unread bytes past which a connection stops reading
_JOIN_LIMIT = 256 * 1024  # request bodies up to this size go out in the head's write
_DEFAULT_PORTS = {"http": 80, "https": 443}

_Key = tuple[str, str, int, asyncio.AbstractEventLoop]


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: what it has received, and whether it still stands."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._received: list[bytes] = []
        self._size = 0
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._writing_paused = False
        self.closed = False  # the peer closed, the connection failed, or we closed it
        self.idle_since = 0.0

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._received.append(data)
        self._size += len(data)
        if self._size > _HIGH_WATER and not self._reading_paused and self._transport:
            self._reading_paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- used by the transport ----------------------------------------------------------

    def fit_for_reuse(self, now: float, expiry: float) -> bool:
        """Idle, open, nothing unasked-for received, and not kept too long."""
        return not self.closed and not self._received and now - self.idle_since <= expiry

    async def send(self, data: bytes, limit: float | None) -> None:
        transport = self._transport
        if self.closed or transport is None or transport.is_closing():
            raise httpx.WriteError("the connection closed before the request was sent")
        transport.write(data)
        if self._writing_paused and not self.closed:
            self._drained = self._loop.create_future()
            if not await _wait(self._loop, self._drained, limit):
                raise httpx.WriteTimeout("timed out sending the request")
            if self.closed:
                raise httpx.WriteError("the connection closed while the request was sent")

    async def receive(self, limit: float | None) -> bytes:
        """Everything received since the last call (waiting for something), or b"" once the
        peer has closed and nothing is left."""
        if not self._received:
            if self.closed:
                return b""
            self._waiter = self._loop.create_future()
            if not await _wait(self._loop, self._waiter, limit):
                raise httpx.ReadTimeout("timed out waiting for the provider")
            if not self._received:
                return b""
        received = self._received
        data = received[0] if len(received) == 1 else b"".join(received)
        self._received = []
        self._size = 0
        if self._reading_paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()
        return data

    def close(self) -> None:
        """Drop the connection at once (nothing is waited for)."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()


async def _wait(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], limit: float | None
) -> bool:
    """Wait for `future`; False when `limit` seconds passed first. Cheaper than
    `asyncio.timeout()`: one timer, no context manager."""
    if limit is None:
        await future
        return True
    timer = loop.call_later(limit, _expire, future)
    try:
        await future
    except TimeoutError:
        return False
    finally:
        timer.cancel()
    return True


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class _Body(httpx.AsyncByteStream):
    """A response body, one read at a time. Read to its end, the connection goes back to the
    pool; a reader that stops earlier, or any failure, closes it."""

    def __init__(
        self,
        conn: _Connection,
        decoder: BodyDecoder,
        first: bytes,
        read_limit: float | None,
        release: Callable[[_Connection, BodyDecoder], Awaitable[None]],
    ) -> None:
        self._conn: _Connection | None = conn
        self._decoder = decoder
        self._first = first
        self._read_limit = read_limit
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn, decoder = self._conn, self._decoder
        if conn is None:
            raise httpx.StreamClosed()
        try:
            if self._first:
                first, self._first = self._first, b""
                payload = decoder.feed(first)
                if payload:
                    yield payload
            while not decoder.done:
                data = await conn.receive(self._read_limit)
                if not data:
                    decoder.eof()
                    break
                payload = decoder.feed(data)
                if payload:
                    yield payload
        except ProtocolError as exc:
            await self.aclose()
            raise httpx.RemoteProtocolError(str(exc)) from None
        except BaseException:
            await self.aclose()
            raise
        self._conn = None
        await self._release(conn, decoder)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class UpstreamTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` for HTTP/1.1 upstreams: bodies one read at a time, requests
    in one write, keep-alive connections pooled per origin and event loop.

    `max_idle` bounds the idle connections kept per origin; an idle connection older than
    `keepalive_expiry` seconds, or one the server has closed, is never reused.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_idle: int = 256,
        keepalive_expiry: float = 5.0,
    ) -> None:
        if max_idle < 0 or keepalive_expiry < 0:
            raise ValueError("max_idle and keepalive_expiry cannot be negative")
        self._ssl_context = ssl_context
        self._max_idle = max_idle
        self._expiry = keepalive_expiry
        self._idle: dict[_Key, list[_Connection]] = {}
        self._fallback: httpx.AsyncHTTPTransport | None = None
        self._closed = False

    # -- the pool ---------------------------------------------------------------------------

    def _take(self, key: _Key) -> _Connection | None:
        """The most recently used idle connection that is still fit, closing unfit ones."""
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.fit_for_reuse(now, self._expiry):
                return conn
            conn.close()
        return None

    def _put(self, key: _Key, conn: _Connection) -> None:
        if self._closed or self._max_idle == 0 or conn.closed:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle = self._idle.setdefault(key, [])
        if len(idle) >= self._max_idle:
            idle.pop(0).close()
        idle.append(conn)

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, url: httpx.URL, port: int, limit: float | None
    ) -> _Connection:
        context: ssl.SSLContext | None = None
        if url.scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()
            context = self._ssl_context
        host = url.host
        try:
            async with asyncio.timeout(limit):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out connecting to the provider") from None
        except OSError as exc:  # refused, unreachable, no such host, TLS failures
            message = f"could not connect to the provider: {type(exc).__name__}"
            raise httpx.ConnectError(message) from None
        return conn

    # -- one request ------------------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        loop = running_loop()
        if loop is None:  # not asyncio (trio): httpcore speaks every anyio backend
            if self._fallback is None:
                self._fallback = httpx.AsyncHTTPTransport()
            return await self._fallback.handle_async_request(request)
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        port = url.port or _DEFAULT_PORTS[scheme]
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        method = request.method.encode("ascii")
        try:
            head = encode_request_head(method, url.raw_path, request.headers.raw)
        except ProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from None
        key: _Key = (scheme, url.host, port, loop)
        conn = self._take(key)
        if conn is None:
            conn = await self._connect(loop, url, port, timeouts.get("connect"))
        try:
            await _send_request(conn, request, head, timeouts.get("write"))
            response_head, rest = await _read_head(conn, timeouts.get("read"))
            decoder = BodyDecoder(response_head, method=method)
        except ProtocolError as exc:
            conn.close()
            raise httpx.RemoteProtocolError(str(exc)) from None
        except BaseException:
            conn.close()
            raise
        reusable = response_head.keeps_alive and not _asks_close(request)

        async def release(done: _Connection, body: BodyDecoder) -> None:
            if reusable and not body.excess and not body.close_delimited:
                self._put(key, done)
            else:
                done.close()

        stream = _Body(conn, decoder, rest, timeouts.get("read"), release)
        version = b"HTTP/1.1" if response_head.http_minor == 1 else b"HTTP/1.0"
        return httpx.Response(
            response_head.status,
            headers=response_head.headers,
            stream=stream,
            extensions={"http_version": version, "reason_phrase": response_head.reason},
        )

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()
        if self._fallback is not None:
            await self._fallback.aclose()


async def _send_request(
    conn: _Connection, request: httpx.Request, head: bytes, limit: float | None
) -> None:
    chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
    try:
        content: bytes | None = request.content
    except httpx.RequestNotRead:
        content = None
    if content is not None and not chunked:
        if len(content) <= _JOIN_LIMIT:
            await conn.send(head + content, limit)
        else:
            await conn.send(head, limit)
            await conn.send(content, limit)
        return
    await conn.send(head, limit)
    assert isinstance(request.stream, httpx.AsyncByteStream)
    async for part in request.stream:
        if part:
            await conn.send(encode_chunk(part) if chunked else part, limit)
    if chunked:
        await conn.send(encode_chunk(b""), limit)


async def _read_head(conn: _Connection, limit: float | None) -> tuple[ResponseHead, bytes]:
    """The final (non-1xx) response head and the bytes after it."""
    buffer = b""
    while True:
        data = await conn.receive(limit)
        if not data:
            raise httpx.RemoteProtocolError("the server closed the connection unanswered")
        buffer += data
        parsed = _parse_head(buffer)
        while parsed is not None:
            head, buffer = parsed
            if head.status == 101:
                raise ProtocolError("unexpected protocol switch")
            if head.status >= 200:
                return head, buffer
            parsed = _parse_head(buffer)  # an informational answer; the real one follows


def _asks_close(request: httpx.Request) -> bool:
    return "close" in request.headers.get("connection", "").lower()
