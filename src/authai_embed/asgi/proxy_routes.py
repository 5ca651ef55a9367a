"""The OpenAI-compatible proxy (`/v1/*`): chat completions on the Codex Responses API, the
Responses pass-through, and the model list.

Every call authenticates the JWT, refreshes the user's tokens if due, and opens the upstream
stream; an upstream 401 refreshes once and retries once. Streams are never buffered: each upstream
event is translated and sent as it arrives, and a client that goes away cancels the upstream
request (the `finally` blocks close it).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from authai_embed.clock import Clock
from authai_embed.errors import InvalidRequest, Unauthorized, UpstreamError
from authai_embed.lifecycle import Lifecycle, Session
from authai_embed.logs import get_logger
from authai_embed.providers.codex import CodexBackend, UpstreamUnauthorized
from authai_embed.settings import Settings
from authai_embed.translate.chat_to_responses import chat_to_responses
from authai_embed.translate.responses_to_chat import (
    ChatStreamTranslator,
    aggregate_chat_completion_async,
    aggregate_response_async,
    translate_stream,
)
from authai_embed.translate.sse import DONE, encode_data, encode_event, iter_json_events

from .errors import unsupported_endpoint
from .http import JSONResponse, Request, Response, StreamingResponse

__all__ = ["ProxyRoutes"]

logger = get_logger("proxy")

DEFAULT_INSTRUCTIONS = "You are a helpful assistant."
MODEL_CREATED = 1_735_689_600  # the catalog has no dates; a fixed, plausible `created`
_RESPONSES_DROPPED = (
    "max_output_tokens",
    "temperature",
    "top_p",
    "metadata",
    "user",
    "service_tier",
)

Handler = Callable[[Request, Session], Awaitable[Response | StreamingResponse]]


class ProxyRoutes:
    """Route table and handlers of `/v1/*`."""

    def __init__(
        self, *, lifecycle: Lifecycle, codex: CodexBackend, settings: Settings, clock: Clock
    ) -> None:
        self._lifecycle = lifecycle
        self._codex = codex
        self._settings = settings
        self._clock = clock
        self._table: dict[tuple[str, str], Handler] = {
            ("GET", "/v1/models"): self.models,
            ("POST", "/v1/chat/completions"): self.chat_completions,
            ("POST", "/v1/responses"): self.responses,
        }

    async def dispatch(self, request: Request) -> Response | StreamingResponse:
        """Serve one `/v1/*` request; unknown routes get `unsupported_endpoint` (no auth needed)."""
        handler = self._table.get((request.method, request.path.rstrip("/")))
        if handler is None:
            return unsupported_endpoint(request.path[4:])
        session = await self._lifecycle.usable_session(request.bearer_token())
        return await handler(request, session)

    # -- routes ---------------------------------------------------------------------------

    async def models(self, request: Request, session: Session) -> Response:
        """The provider's catalog in OpenAI's list shape."""
        try:
            models = await self._codex.list_models(session.credentials)
        except UpstreamUnauthorized:
            session = await self._lifecycle.refresh(session, force=True)
            try:
                models = await self._codex.list_models(session.credentials)
            except UpstreamUnauthorized:
                raise Unauthorized() from None
        data = [
            {"id": m["slug"], "object": "model", "created": MODEL_CREATED, "owned_by": "openai"}
            for m in models
        ]
        return JSONResponse({"object": "list", "data": data})

    async def chat_completions(
        self, request: Request, session: Session
    ) -> Response | StreamingResponse:
        """Chat Completions in, Responses upstream, Chat Completions out."""
        body = await self._json_object(request)
        chat = chat_to_responses(body, default_instructions=DEFAULT_INSTRUCTIONS)
        if chat.dropped:
            logger.debug("dropped parameters the backend rejects: %s", ", ".join(chat.dropped))
        payload = chat.payload
        upstream = await self._open(session, payload)
        completion_id = "chatcmpl-" + secrets.token_urlsafe(18)
        created = int(self._clock.now())
        if not chat.stream:
            completion = await _aggregated(
                upstream,
                lambda events: aggregate_chat_completion_async(
                    events,
                    model=chat.model,
                    include_reasoning=chat.include_reasoning,
                    completion_id=completion_id,
                    created=created,
                ),
            )
            return JSONResponse(completion)
        translator = ChatStreamTranslator(
            chat.model,
            include_usage=chat.include_usage,
            include_reasoning=chat.include_reasoning,
            completion_id=completion_id,
            created=created,
        )

        async def frames() -> AsyncIterator[bytes]:
            try:
                async for piece in translate_stream(upstream.aiter_raw(), translator):
                    yield piece
            except (UpstreamError, httpx.HTTPError) as exc:
                yield encode_data({"error": _stream_error(exc)})
                yield DONE
            finally:
                await upstream.aclose()

        return StreamingResponse(frames(), headers=_SSE_HEADERS)

    async def responses(self, request: Request, session: Session) -> Response | StreamingResponse:
        """The Responses API passed through, with what the backend requires filled in."""
        body = await self._json_object(request)
        model = body.get("model")
        if not isinstance(model, str) or not model or "input" not in body:
            raise InvalidRequest("model and input are required", param="model")
        wants_stream = body.get("stream") is True
        payload = {k: v for k, v in body.items() if k not in _RESPONSES_DROPPED}
        payload["store"] = False
        payload["stream"] = True
        instructions = payload.get("instructions")
        if not isinstance(instructions, str) or not instructions:
            payload["instructions"] = DEFAULT_INSTRUCTIONS
        upstream = await self._open(session, payload)
        if not wants_stream:
            return JSONResponse(await _aggregated(upstream, aggregate_response_async))

        async def passthrough() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    yield chunk
            except httpx.HTTPError as exc:
                yield encode_event("error", {"type": "error", **_stream_error(exc)})
            finally:
                await upstream.aclose()

        return StreamingResponse(passthrough(), headers=_SSE_HEADERS)

    # -- helpers --------------------------------------------------------------------------

    async def _json_object(self, request: Request) -> dict[str, Any]:
        body = await request.json(self._settings.max_body_bytes)
        if not isinstance(body, dict):
            raise InvalidRequest("request body must be a JSON object")
        return body

    async def _open(self, session: Session, payload: dict[str, Any]) -> httpx.Response:
        """Open the upstream stream; on a 401, refresh once and retry once."""
        conversation = _conversation_id(session, payload)
        payload.setdefault("prompt_cache_key", conversation)
        try:
            return await self._codex.open_stream(
                session.credentials, payload, session_id=conversation
            )
        except UpstreamUnauthorized:
            session = await self._lifecycle.refresh(session, force=True)
        try:
            return await self._codex.open_stream(
                session.credentials, payload, session_id=conversation
            )
        except UpstreamUnauthorized:
            raise Unauthorized() from None


_SSE_HEADERS = [(b"cache-control", b"no-store"), (b"x-accel-buffering", b"no")]


def _conversation_id(session: Session, payload: dict[str, Any]) -> str:
    """A stable id per conversation (same user, model, instructions and first turn), so the
    backend can reuse its prompt cache across the turns of one chat."""
    if isinstance(payload.get("prompt_cache_key"), str):
        return str(payload["prompt_cache_key"])
    first = payload.get("input")
    head = first[:1] if isinstance(first, list) else first
    seed = json.dumps(
        [session.record.account_id_hash, payload.get("model"), payload.get("instructions"), head],
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )
    return str(uuid.UUID(bytes=hashlib.sha256(seed.encode()).digest()[:16]))


async def _aggregated(
    upstream: httpx.Response,
    aggregate: Callable[[AsyncIterator[dict[str, Any]]], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Fold the upstream stream into one answer as it arrives (nothing kept but the result)."""
    try:
        return await aggregate(iter_json_events(upstream.aiter_raw()))
    except httpx.HTTPError:
        raise UpstreamError("the provider's stream broke off", status=502) from None
    finally:
        await upstream.aclose()


def _stream_error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, UpstreamError):
        return {"message": exc.message, "type": "provider_error", "code": exc.code}
    return {"message": "the provider's stream broke off", "type": "provider_error", "code": None}
