"""The official `openai` SDK wired to an `AuthAI` in-process: no network hop, real streaming.

The SDK's requests go through `StreamingASGITransport` straight into the mount's ASGI app, so
every request takes the same path as one from outside (auth, translation, errors), and a streamed
completion reaches the caller event by event.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx

from authai_embed._transports.asgi import StreamingASGITransport, ThreadedASGITransport
from authai_embed.errors import ConfigError
from authai_embed.types import ASGIApp

if TYPE_CHECKING:
    import openai

__all__ = ["IN_PROCESS_BASE_URL", "async_openai_client", "openai_client"]

IN_PROCESS_BASE_URL = "http://authai.internal"
_TIMEOUT = httpx.Timeout(600.0, connect=5.0)


def _sdk() -> Any:
    try:
        import openai
    except ImportError:
        raise ConfigError(
            "the in-process client needs the openai package: pip install 'authai-embed[openai]'"
        ) from None
    return openai


def async_openai_client(app: ASGIApp, jwt: str, **options: Any) -> openai.AsyncOpenAI:
    """An `openai.AsyncOpenAI` whose requests go into `app` (the mount) as user `jwt`.

    `options` go to `AsyncOpenAI` (`max_retries` defaults to 0: a usage limit's `Retry-After`
    is often hours, which retrying cannot help).
    """
    sdk = _sdk()
    http = httpx.AsyncClient(
        transport=StreamingASGITransport(app), base_url=IN_PROCESS_BASE_URL, timeout=_TIMEOUT
    )
    options.setdefault("max_retries", 0)
    client: openai.AsyncOpenAI = sdk.AsyncOpenAI(
        api_key=jwt, base_url=f"{IN_PROCESS_BASE_URL}/v1", http_client=http, **options
    )
    return client


def openai_client(
    app: ASGIApp, jwt: str, loop: asyncio.AbstractEventLoop, **options: Any
) -> openai.OpenAI:
    """An `openai.OpenAI` for sync code running in a worker thread, while `app` serves on
    `loop` in another thread. Calling it on `loop`'s own thread raises `RuntimeError`."""
    sdk = _sdk()
    http = httpx.Client(
        transport=ThreadedASGITransport(app, loop), base_url=IN_PROCESS_BASE_URL, timeout=_TIMEOUT
    )
    options.setdefault("max_retries", 0)
    client: openai.OpenAI = sdk.OpenAI(
        api_key=jwt, base_url=f"{IN_PROCESS_BASE_URL}/v1", http_client=http, **options
    )
    return client
