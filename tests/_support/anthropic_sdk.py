"""The official `anthropic` SDK pointed at a mount in-process.

The SDK runs on `httpx2`, which refuses an `httpx` client; `Httpx2Bridge` is an `httpx2`
transport that hands each request to an `httpx` client over the library's
`StreamingASGITransport`, so the SDK's calls take the same path as any other in-process client's
and streams arrive event by event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import httpx
import httpx2

from authai_embed import StreamingASGITransport
from authai_embed.types import ASGIApp

BASE_URL = "http://authai.internal"


class _Body(httpx2.AsyncByteStream):
    """The `httpx` response's body, read as the SDK reads it."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.aiter_raw():
            yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


class Httpx2Bridge(httpx2.AsyncBaseTransport):
    """An `httpx2` transport over an `httpx` client that calls `app` in-process."""

    def __init__(self, app: ASGIApp) -> None:
        self._client = httpx.AsyncClient(transport=StreamingASGITransport(app))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        outgoing = self._client.build_request(
            request.method, str(request.url), headers=list(request.headers.raw), content=body
        )
        response = await self._client.send(outgoing, stream=True)
        return httpx2.Response(
            response.status_code, headers=list(response.headers.raw), stream=_Body(response)
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def anthropic_client(app: ASGIApp, key: str, *, mount: str = "/authai") -> anthropic.AsyncAnthropic:
    """An `AsyncAnthropic` whose key is the session JWT, calling `app` (mounted at `mount`)."""
    http = httpx2.AsyncClient(transport=Httpx2Bridge(app), base_url=BASE_URL)
    return anthropic.AsyncAnthropic(
        api_key=key, base_url=f"{BASE_URL}{mount}", http_client=http, max_retries=0
    )
