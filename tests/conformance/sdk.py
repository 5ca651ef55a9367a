"""One face for the four ways a backend reaches the proxy with the official `openai` SDK:
async or sync, in-process or over a real uvicorn server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
import openai
from openai.lib.streaming.responses import ResponseStreamEvent
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response

from tests._support.harness import Harness
from tests._support.loopback import served

MODES = ["async-inprocess", "sync-inprocess", "async-http", "sync-http"]


class SDK:
    """Calls the SDK the same way whatever the mode; sync clients run in a worker thread."""

    def __init__(self, client: openai.AsyncOpenAI | openai.OpenAI) -> None:
        self.client = client

    async def _call(self, fn: Callable[[], Any]) -> Any:
        if isinstance(self.client, openai.AsyncOpenAI):
            return await fn()
        return await anyio.to_thread.run_sync(fn)

    async def create(self, **kwargs: Any) -> ChatCompletion:
        """A non-streamed chat completion."""
        result: ChatCompletion = await self._call(
            lambda: self.client.chat.completions.create(**kwargs)
        )
        return result

    async def stream(self, **kwargs: Any) -> list[ChatCompletionChunk]:
        """A streamed chat completion, read to the end."""
        if isinstance(self.client, openai.AsyncOpenAI):
            stream = await self.client.chat.completions.create(stream=True, **kwargs)
            return [chunk async for chunk in stream]
        client = self.client

        def read() -> list[ChatCompletionChunk]:
            return list(client.chat.completions.create(stream=True, **kwargs))

        return await anyio.to_thread.run_sync(read)

    async def respond(self, **kwargs: Any) -> Response:
        """A non-streamed `responses.create`."""
        result: Response = await self._call(lambda: self.client.responses.create(**kwargs))
        return result

    async def respond_streamed(self, **kwargs: Any) -> tuple[list[ResponseStreamEvent], Response]:
        """A `responses.stream(...)` read to the end: its events and `get_final_response()`."""
        if isinstance(self.client, openai.AsyncOpenAI):
            async with self.client.responses.stream(**kwargs) as stream:
                events = [event async for event in stream]
                return events, await stream.get_final_response()
        client = self.client

        def read() -> tuple[list[ResponseStreamEvent], Response]:
            with client.responses.stream(**kwargs) as stream:
                return list(stream), stream.get_final_response()

        return await anyio.to_thread.run_sync(read)

    async def models(self) -> list[str]:
        """The model ids `/v1/models` lists."""
        if isinstance(self.client, openai.AsyncOpenAI):
            return [m.id async for m in self.client.models.list()]
        client = self.client
        return await anyio.to_thread.run_sync(lambda: [m.id for m in client.models.list()])

    async def embeddings(self) -> Any:
        """An endpoint the proxy does not serve."""
        return await self._call(
            lambda: self.client.embeddings.create(model="text-embedding-3-small", input="x")
        )


@asynccontextmanager
async def sdk_for(mode: str, harness: Harness, jwt: str) -> AsyncIterator[SDK]:
    """An `SDK` for `mode`, signed in as `jwt`; its client is closed on exit."""
    async with AsyncExitStack() as stack:
        client: openai.AsyncOpenAI | openai.OpenAI
        if mode == "async-inprocess":
            client = harness.authai.async_openai_client(jwt)
        elif mode == "sync-inprocess":
            await harness.authai.startup()  # the sync bridge needs the app's loop known
            client = harness.authai.openai_client(jwt)
        else:
            base = await stack.enter_async_context(served(harness.app))
            options: dict[str, Any] = {
                "api_key": jwt,
                "base_url": f"{base}/authai/v1",
                "max_retries": 0,
            }
            client = (
                openai.AsyncOpenAI(**options) if mode == "async-http" else openai.OpenAI(**options)
            )
        try:
            yield SDK(client)
        finally:
            if isinstance(client, openai.AsyncOpenAI):
                await client.close()
            else:
                await anyio.to_thread.run_sync(client.close)
