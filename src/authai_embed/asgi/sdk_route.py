"""`GET {mount}/sdk.js`: the `<authai-signin>` web component, served with caching headers.

The script ships inside the package (`authai_embed/web/authai-signin.js`) and is read once. Its
ETag is a hash of its content; the plain URL may be cached for a few minutes, and the URL that
names the current hash (`sdk.js?v=<hash>`, see `AuthAI.sdk_version`) forever.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files

from authai_embed.asgi.http import Request, Response
from authai_embed.types import Receive, Scope, Send

__all__ = ["SDK_PATH", "SdkScript", "sdk_script", "serve_sdk"]

SDK_PATH = "/sdk.js"
_SHORT_CACHE = b"public, max-age=300"
_LONG_CACHE = b"public, max-age=31536000, immutable"


class SdkScript:
    """The component's bytes, their version (a content hash) and the responses that serve them."""

    __slots__ = ("body", "etag", "version")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.version = hashlib.sha256(body).hexdigest()[:16]
        self.etag = f'"{self.version}"'

    def respond(self, request: Request) -> Response:
        """200 with the script (no body for HEAD), 304 when the client's copy is current,
        405 for any other method."""
        if request.method not in ("GET", "HEAD"):
            return Response(b"", 405, [(b"allow", b"GET, HEAD")])
        pinned = request.query.get("v") == self.version
        headers = [
            (b"etag", self.etag.encode()),
            (b"cache-control", _LONG_CACHE if pinned else _SHORT_CACHE),
            (b"x-content-type-options", b"nosniff"),
        ]
        if _matches(request.headers.get("if-none-match", ""), self.etag):
            return Response(b"", 304, headers)
        headers.append((b"content-type", b"text/javascript; charset=utf-8"))
        if request.method == "HEAD":
            return _HeadResponse(len(self.body), headers)
        return Response(self.body, 200, headers)


class _HeadResponse(Response):
    """The headers of a 200, with the GET's Content-Length and no body."""

    __slots__ = ("length",)

    def __init__(self, length: int, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(b"", 200, headers)
        self.length = length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [*self.headers, (b"content-length", str(self.length).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 13.1.2): W/"x" matches "x"; "*" matches any current entity.
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


@cache
def sdk_script() -> SdkScript:
    """The packaged component, read once per process."""
    return SdkScript(files("authai_embed").joinpath("web", "authai-signin.js").read_bytes())


async def serve_sdk(request: Request) -> Response:
    """The route's handler: the packaged component, for any method (others get its 405)."""
    return sdk_script().respond(request)
