"""`UpstreamTransport`: the upstream client's HTTP/1.1 transport, built for relaying streams.

httpx's default transport hands a streamed body over one HTTP chunk (one SSE event) at a time;
this one hands over everything that has arrived when the reader asks, so a burst of events is
read, translated and written once. Connections: `connection.py`; pooling: `pool.py`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable

import httpx

from authai_embed._transports.connection import Connection
from authai_embed._transports.http11 import (
    ProtocolError,
    ResponseHead,
    ResponseParser,
    encode_chunk,
    encode_request_head,
)
from authai_embed._transports.pool import Key, Pool
from authai_embed._util.loop import running_loop

__all__ = ["UpstreamTransport"]

_JOIN_LIMIT = 256 * 1024  # request bodies up to this size go out in the head's write
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Body(httpx.AsyncByteStream):
    """A response body, one read at a time. Read to its end, the connection goes back to the
    pool; a reader that stops earlier, or any failure, closes it."""

    def __init__(
        self,
        conn: Connection,
        parser: ResponseParser,
        first: bytes | ProtocolError,
        read_limit: float | None,
        release: Callable[[Connection, ResponseParser], None],
    ) -> None:
        self._conn: Connection | None = conn
        self._parser = parser
        self._first = first
        self._read_limit = read_limit
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn, parser = self._conn, self._parser
        if conn is None:
            raise httpx.StreamClosed()
        try:
            first, self._first = self._first, b""
            if isinstance(first, ProtocolError):
                raise first
            if first:
                yield first
            del first  # the opening may be large, and the stream long
            while not parser.done:
                data = await conn.receive(self._read_limit)
                if not data:
                    parser.eof()
                    break
                payload = parser.feed(data)
                del data
                if payload:
                    yield payload
                del payload  # neither is kept while the next read is awaited
        except ProtocolError as exc:
            await self.aclose()
            raise httpx.RemoteProtocolError(str(exc)) from None
        except BaseException:
            await self.aclose()
            raise
        self._conn = None
        parser.dispose()
        self._release(conn, parser)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._parser.dispose()
            conn.close()


class UpstreamTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` for HTTP/1.1 upstreams: bodies one read at a time, requests
    in one write, keep-alive connections pooled per origin and event loop.

    At most `max_connections` connections per origin stand at once (in use or idle); a request
    over the cap waits for one, up to the request's pool timeout, then `httpx.PoolTimeout`.
    `max_idle` bounds the idle ones kept per origin; an idle connection older than
    `keepalive_expiry` seconds, or one the server has closed, is never reused. TLS from
    `httpx.create_ssl_context()` unless given; every failure is the `httpx` exception httpcore
    would raise. Outside asyncio (trio) requests go to `httpx.AsyncHTTPTransport`, and as with
    any httpx client given its own transport, proxies from the environment are not used.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 256,
        max_idle: int = 256,
        keepalive_expiry: float = 5.0,
    ) -> None:
        if max_idle < 0 or keepalive_expiry < 0:
            raise ValueError("max_idle and keepalive_expiry cannot be negative")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._ssl_context = ssl_context
        self._pool = Pool(
            max_connections=max_connections, max_idle=max_idle, keepalive_expiry=keepalive_expiry
        )
        self._fallback: httpx.AsyncHTTPTransport | None = None

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, url: httpx.URL, port: int, limit: float | None
    ) -> Connection:
        context: ssl.SSLContext | None = None
        if url.scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = httpx.create_ssl_context()
            context = self._ssl_context
        host = url.host
        try:
            async with asyncio.timeout(limit):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop),
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

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pool
        if pool.closed:
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
        raw = request.headers.raw  # a list built on each access: once here
        try:
            head = encode_request_head(method, url.raw_path, raw)
        except ProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from None
        length, asks_close = _framing(request, raw)
        key: Key = (scheme, url.host, port, loop)
        conn = await pool.acquire(
            key,
            lambda: self._connect(loop, url, port, timeouts.get("connect")),
            timeouts.get("pool"),
        )
        parser = ResponseParser(method)
        try:
            await _send_request(conn, request, head, length, timeouts.get("write"))
            response_head, first = await _read_head(conn, parser, timeouts.get("read"))
        except ProtocolError as exc:
            parser.dispose()
            conn.close()
            raise httpx.RemoteProtocolError(str(exc)) from None
        except BaseException:
            parser.dispose()
            conn.close()
            raise
        reusable = response_head.keeps_alive and not asks_close

        def release(done: Connection, body: ResponseParser) -> None:
            ok = reusable and not body.excess and not body.close_delimited
            pool.release(key, done, reusable=ok)

        stream = _Body(conn, parser, first, timeouts.get("read"), release)
        version = b"HTTP/1.1" if response_head.http_minor == 1 else b"HTTP/1.0"
        response = httpx.Response(
            response_head.status,
            headers=response_head.headers,
            stream=stream,
            extensions={"http_version": version, "reason_phrase": response_head.reason},
        )
        parser.drop_headers()  # the response has its own copy
        return response

    async def aclose(self) -> None:
        self._pool.close()
        if self._fallback is not None:
            await self._fallback.aclose()


def _framing(request: httpx.Request, raw: list[tuple[bytes, bytes]]) -> tuple[int | None, bool]:
    """The body length the request's head (`raw`, its headers) declares (0 without one), or
    None when chunked; and whether it asks to close the connection afterwards. Framing the
    server could read another way than we send it is refused, and a body of known size must
    match: a mismatch would let bytes pass as a second request. One pass over the headers (it
    runs once per model call)."""
    codings: list[bytes] = []
    lengths: list[bytes] = []
    asks_close = False
    for name, value in raw:
        name = name.lower()
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            codings.append(value)
        elif name == b"connection" and b"close" in value.lower():
            asks_close = True
    if codings:
        if lengths or [c.strip().lower() for c in codings] != [b"chunked"]:
            raise httpx.LocalProtocolError("the request's Transfer-Encoding cannot be sent")
        return None, asks_close
    if not lengths:
        declared = 0
    elif len(set(lengths)) == 1 and lengths[0].isascii() and lengths[0].isdigit():
        declared = int(lengths[0])
    else:
        raise httpx.LocalProtocolError("the request's Content-Length is invalid")
    try:
        content = request.content
    except httpx.RequestNotRead:
        return declared, asks_close  # a stream: counted while it is sent
    if len(content) != declared:
        raise httpx.LocalProtocolError("the request body does not match its Content-Length")
    return declared, asks_close


async def _send_request(
    conn: Connection, request: httpx.Request, head: bytes, length: int | None, limit: float | None
) -> None:
    try:
        content: bytes | None = request.content
    except httpx.RequestNotRead:
        content = None
    if content is not None and length is not None:  # checked against `length` already
        if len(content) <= _JOIN_LIMIT:
            await conn.send(head + content, limit)
        else:
            await conn.send(head, limit)
            await conn.send(content, limit)
        return
    await conn.send(head, limit)
    assert isinstance(request.stream, httpx.AsyncByteStream)
    sent = 0
    async for part in request.stream:
        if not part:
            continue
        if length is None:
            await conn.send(encode_chunk(part), limit)
            continue
        sent += len(part)
        if sent > length:  # the caller closes the connection: the excess is never sent
            raise httpx.LocalProtocolError("the request body is longer than its Content-Length")
        await conn.send(part, limit)
    if length is None:
        await conn.send(encode_chunk(b""), limit)
    elif sent < length:
        raise httpx.LocalProtocolError("the request body is shorter than its Content-Length")


async def _read_head(
    conn: Connection, parser: ResponseParser, limit: float | None
) -> tuple[ResponseHead, bytes | ProtocolError]:
    """The final (non-1xx) response head and the body bytes its reads brought; a body already
    broken in them is handed on as the error, to be raised by the body, as any later one."""
    while True:
        data = await conn.receive(limit)
        if not data:
            raise httpx.RemoteProtocolError("the server closed the connection unanswered")
        try:
            payload = parser.feed(data)
        except ProtocolError as exc:
            if parser.head is None:
                raise
            return parser.head, exc
        if parser.head is not None:
            return parser.head, payload
