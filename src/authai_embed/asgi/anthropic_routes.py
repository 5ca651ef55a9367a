"""The handlers of the Anthropic Messages dialect: `/v1/messages` and its `count_tokens`.

A Messages request is translated into a Chat Completions one (`proxy/translate/anthropic_*`) and
served by the chat path, so every provider answers it as it answers `/v1/chat/completions`;
the answer, whole or streamed, is translated back. Errors are raised: the app answers them in
Anthropic's envelope (the route table marks these routes `dialect="anthropic"`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from authai_embed._util.ids import IdMint
from authai_embed.asgi.errors import anthropic_stream_error, count_tokens_unsupported
from authai_embed.asgi.http import JSONResponse, Request, Response, StreamingResponse
from authai_embed.asgi.proxy_routes import SSE_HEADERS, ProxyRoutes, signed_in
from authai_embed.errors import UpstreamError
from authai_embed.proxy.translate.anthropic_request import MessagesRequest, messages_to_chat
from authai_embed.proxy.translate.anthropic_response import chat_to_message
from authai_embed.proxy.translate.anthropic_stream import (
    AnthropicStreamTranslator,
    translate_chat_stream,
)

__all__ = ["AnthropicRoutes"]


class AnthropicRoutes:
    """`POST /v1/messages` over the chat path; `count_tokens` answers that it cannot."""

    def __init__(self, proxy: ProxyRoutes) -> None:
        self._proxy = proxy
        self._ids = IdMint()

    async def messages(self, request: Request) -> Response | StreamingResponse:
        """Anthropic Messages in and out, whole or streamed (`anthropic-version` is accepted
        and not needed: the answer's shape is the current one)."""
        session = signed_in(request)
        asked = messages_to_chat(await self._proxy.json_object(request))
        size = await self._proxy.body_size(request)
        answer = await self._proxy.chat(session, asked.chat, size=size)
        message_id = self._ids.new("msg_")
        if isinstance(answer, StreamingResponse):
            return self._streamed(answer, asked, message_id)
        try:
            completion = json.loads(answer.body)
        except ValueError:
            completion = None
        if not isinstance(completion, dict):
            raise UpstreamError("the provider's answer is not JSON", status=502)
        message = chat_to_message(
            completion, model=asked.model, message_id=message_id, stop=asked.stop_sequences
        )
        return JSONResponse(message)

    async def count_tokens(self, request: Request) -> Response:
        """No upstream here can count tokens: a 404 in Anthropic's envelope, saying so."""
        return count_tokens_unsupported()

    def _streamed(
        self, chat: StreamingResponse, asked: MessagesRequest, message_id: str
    ) -> StreamingResponse:
        translator = AnthropicStreamTranslator(
            model=asked.model,
            message_id=message_id,
            stop=asked.stop_sequences,
            error_event=anthropic_stream_error,
        )

        async def frames() -> AsyncIterator[bytes]:
            try:
                async for piece in translate_chat_stream(chat.chunks, translator):
                    yield piece
            finally:
                aclose = getattr(chat.chunks, "aclose", None)
                if aclose is not None:
                    await aclose()

        return StreamingResponse(frames(), headers=SSE_HEADERS, closing=chat.closing)
