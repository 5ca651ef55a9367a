"""The one small request wrapper and the response helpers the core uses instead of a framework.

`Request` reads the body with a hard size limit (checked against `Content-Length` first, then while
reading) and parses JSON strictly. Responses are plain objects that send themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio

from authai_embed._util.final_chunk import FinalChunk, read_to_end
from authai_embed._util.json_text import loads
from authai_embed.asgi.disconnect import watched
from authai_embed.errors import InvalidRequest
from authai_embed.types import Receive, Scope, Send

if TYPE_CHECKING:
    from authai_embed.auth.sessions import Session

__all__ = [
    "MAX_HEADER_BYTES",
    "AnyResponse",
    "JSONResponse",
    "Request",
    "Response",
    "StreamingResponse",
    "check_header_size",
    "route_path",
]

Headers = list[tuple[bytes, bytes]]
MAX_JSON_DEPTH = 64
MAX_HEADER_BYTES = 64 * 1024


def route_path(scope: Scope) -> str:
    """The path below the mount point (Starlette's `Mount` keeps `path` and sets `root_path`)."""
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path or "/"


def check_header_size(scope: Scope, limit: int = MAX_HEADER_BYTES) -> None:
    """`InvalidRequest(431)` when the request's headers add up to more than `limit` bytes.

    Servers usually refuse such requests first; in-process callers and lenient servers reach
    us, and nothing here needs more than a session JWT and a few cookies."""
    size = 0
    for name, value in scope.get("headers", ()):
        size += len(name) + len(value) + 4
        if size > limit:
            raise InvalidRequest("request headers are too large", status=431)


class Request:
    """An HTTP request: method, path below the mount, headers, and a size-limited body."""

    __slots__ = (
        "_body",
        "_headers",
        "method",
        "path",
        "receive",
        "scope",
        "session",
        "session_cookie",
    )

    def __init__(self, scope: Scope, receive: Receive, path: str | None = None) -> None:
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        self.path = route_path(scope) if path is None else path
        self._headers: dict[str, str] | None = None
        self._body: bytes | None = None
        self.session_cookie: str | None = None  # set by cookie mode (cookies.py) when on
        self.session: Session | None = None  # set by the app for routes it authenticates

    @property
    def headers(self) -> Mapping[str, str]:
        """Lower-cased header names to latin-1 decoded values (repeated headers: the last)."""
        if self._headers is None:
            self._headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope["headers"]
            }
        return self._headers

    def release(self) -> None:
        """Let go of the decoded headers and the body read: a streamed answer keeps its request
        for as long as it lasts (minutes, thousands at once), and both hold the session token or
        the conversation. Headers asked for again are decoded again; the body cannot be."""
        self._headers = None
        self._body = None

    @property
    def query(self) -> dict[str, str]:
        """The query string's parameters (a repeated one keeps its last value)."""
        return dict(parse_qsl(self.scope.get("query_string", b"").decode("latin-1")))

    def bearer_token(self) -> str | None:
        """The session token: an `Authorization: Bearer ...` header's, else the session
        cookie's (cookie mode), else `None`."""
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer":
            return self.session_cookie
        return token.strip() or self.session_cookie

    async def body(self, limit: int) -> bytes:
        """The whole body; `InvalidRequest(413)` as soon as it is known to exceed `limit` bytes."""
        if self._body is not None:
            return self._body
        declared = self.headers.get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdecimal()):
                raise InvalidRequest("invalid Content-Length header", status=400)
            if int(declared) > limit:
                raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise InvalidRequest("client disconnected", status=400)
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        self._body = b"".join(chunks)
        return self._body

    async def json(self, limit: int) -> Any:
        """The body parsed as JSON (UTF-8, depth-limited); `InvalidRequest` if it is not."""
        ctype = (
            self.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
        )
        if ctype not in ("application/json", "") and not ctype.endswith("+json"):
            raise InvalidRequest("content type must be application/json", status=415)
        raw = await self.body(limit)
        try:
            text = raw.decode("utf-8")
            if _too_deep(text):
                raise ValueError("too deep")
            return loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise InvalidRequest("invalid json body") from None


def _too_large(limit: int) -> InvalidRequest:
    return InvalidRequest(f"request body is larger than {limit} bytes", status=413)


_STRUCTURE = re.compile(r'\\.|["\[\]{}]')


def _too_deep(text: str) -> bool:
    """Whether `text` may nest deeper than `MAX_JSON_DEPTH`; a body with fewer brackets than
    that (the usual case) is answered by two counts, without the scan."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    return _nesting_depth(text) > MAX_JSON_DEPTH


def _nesting_depth(text: str) -> int:
    """Upper bound of JSON nesting, counted before parsing so deep input never reaches `json`.

    Only structural characters are visited (escapes, quotes, brackets), so a large string value
    such as a base64 image costs one regex scan, not a Python loop per character.
    """
    depth = deepest = 0
    in_string = False
    for match in _STRUCTURE.finditer(text):
        mark = match.group()
        if mark[0] == "\\":
            continue
        if mark == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif mark in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        else:
            depth -= 1
    return deepest


class Response:
    """A complete response: status, headers and a body sent in one message."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        body: bytes = b"",
        status: int = 200,
        headers: Iterable[tuple[bytes, bytes]] = (),
        media_type: str | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers: Headers = list(headers)
        if media_type is not None:
            self.headers.append((b"content-type", media_type.encode("latin-1")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [*self.headers, (b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        # HEAD: the headers of the GET answer (its length included), never its body.
        body = b"" if scope.get("method") == "HEAD" else self.body
        await send({"type": "http.response.body", "body": body})


class JSONResponse(Response):
    """A compact JSON body with `application/json` and `Cache-Control: no-store`."""

    __slots__ = ()

    def __init__(
        self, data: Any, status: int = 200, headers: Iterable[tuple[bytes, bytes]] = ()
    ) -> None:
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        super().__init__(
            body, status, [*headers, (b"cache-control", b"no-store")], "application/json"
        )

    @classmethod
    def from_bytes(
        cls, body: bytes, status: int = 200, headers: Iterable[tuple[bytes, bytes]] = ()
    ) -> JSONResponse:
        """A response whose JSON body is already encoded (constant answers)."""
        response = cls(None, status, headers)
        response.body = body
        return response


class StreamingResponse:
    """A response whose body comes from an async iterator, sent chunk by chunk as it is produced.

    `closing` is what the response owns (an upstream call): it is run however sending ends,
    even when the client went away before the iterator started (its `finally` never runs then).
    """

    __slots__ = ("chunks", "closing", "headers", "status")

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        status: int = 200,
        headers: Iterable[tuple[bytes, bytes]] = (),
        media_type: str = "text/event-stream",
        closing: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.chunks = chunks
        self.closing = closing
        self.status = status
        self.headers: Headers = [*headers, (b"content-type", media_type.encode("latin-1"))]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def gone() -> bool:
            while (await receive())["type"] != "http.disconnect":
                pass
            return True

        await watched(self.stream_to(send), gone)

    async def stream_to(self, send: Send) -> None:
        """Send the response without listening for a disconnect: for a caller that already
        does (the mount watches a `/v1` request from its first byte to its last)."""
        try:
            start = {"type": "http.response.start", "status": self.status, "headers": self.headers}
            await send(start)
            chunks = self.chunks
            async for chunk in chunks:
                if type(chunk) is FinalChunk:  # the body ends with it (`_util.final_chunk`)
                    await send({"type": "http.response.body", "body": bytes(chunk)})
                    del chunk
                    await read_to_end(chunks)  # the producer finishes its call; nothing is sent
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                del chunk  # not kept while the next is awaited (most of a long stream's life)
            await send({"type": "http.response.body", "body": b""})
        finally:
            with anyio.CancelScope(shield=True):
                aclose = getattr(self.chunks, "aclose", None)
                if aclose is not None:
                    await aclose()
                if self.closing is not None:
                    await self.closing()


AnyResponse = Response | StreamingResponse
"""What a handler returns: a whole response, or a streamed one."""
