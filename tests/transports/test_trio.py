"""The paths taken outside asyncio: disconnect watching in a task group, and the upstream
client handing requests to httpcore. Run under trio through anyio."""

from __future__ import annotations

import anyio
import httpx
import pytest

from authai_embed._transports.upstream_client import new_upstream_client
from authai_embed.asgi.disconnect import watched

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


async def test_watched_returns_the_result_cancels_on_gone_and_raises_unwrapped() -> None:
    async def five() -> int:
        return 5

    async def never() -> bool:
        await anyio.sleep(10)
        return True

    async def soon() -> bool:
        await anyio.sleep(0.01)
        return True

    async def slow() -> int:
        await anyio.sleep(10)
        return 0

    async def fails() -> int:
        raise ValueError("boom")

    assert await watched(five(), never) == (5, False)
    with anyio.fail_after(5):
        assert await watched(slow(), soon) == (None, True)
    with pytest.raises(ValueError, match="boom"):  # not an ExceptionGroup
        await watched(fails(), never)


async def test_the_upstream_client_falls_back_to_httpcore() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610

    async def answer(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
            await stream.send(
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            )

    client = new_upstream_client(httpx.Timeout(5.0))
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, answer)
        try:
            response = await client.get(f"http://127.0.0.1:{port}/")
            assert (response.status_code, response.text) == (200, "ok")
            assert client._direct._fallback is not None  # type: ignore[attr-defined]
        finally:
            await client.aclose()
            tg.cancel_scope.cancel()
