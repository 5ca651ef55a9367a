"""The OpenAI-compatible proxy (`/v1/*`): chat completions, the Responses API and the model list,
each routed to the signed-in user's own provider.

Every call authenticates the JWT, refreshes the user's tokens if due, and asks the record's
provider for its `ModelBackend`. The backend says how a call is served: passed through to the
same upstream endpoint, or (a chat call on a Responses-only model) translated chat ⇄ responses
here. An upstream 401 refreshes once and retries once. Streams are never buffered: each upstream
event is relayed or translated as it arrives, and a client that goes away cancels the upstream
request (the `finally` blocks close it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
import httpx

from authai_embed._util.clock import Clock
from authai_embed._util.ids import IdMint
from authai_embed._util.logs import get_logger
from authai_embed.asgi.errors import responses_unsupported, unsupported_endpoint
from authai_embed.asgi.http import JSONResponse, Request, Response, StreamingResponse
from authai_embed.auth.sessions import Session, Sessions
from authai_embed.credentials import Credentials
from authai_embed.errors import InvalidRequest, Unauthorized, UpstreamError
from authai_embed.providers.base import Endpoint, ModelBackend, Provider, UpstreamUnauthorized
from authai_embed.proxy.translate.chat_to_responses import (
    REASONING_SUMMARY_FIELD,
    ChatRequest,
    chat_to_responses,
)
from authai_embed.proxy.translate.passthrough import checked_responses_stream
from authai_embed.proxy.translate.responses_to_chat import (
    ChatStreamTranslator,
    aggregate_chat_completion_async,
    aggregate_response_async,
    translate_stream,
)
from authai_embed.proxy.translate.sse import DONE, encode_data, encode_event, iter_json_events
from authai_embed.settings import Settings

__all__ = ["ProxyRoutes"]

logger = get_logger("proxy")

MODEL_CREATED = 1_735_689_600  # the catalogs have no dates; a fixed, plausible `created`
_PASSTHROUGH_JSON_LIMIT = 32 * 1024 * 1024

Handler = Callable[[Request, Session], Awaitable[Response | StreamingResponse]]
T = TypeVar("T")


class ProxyRoutes:
    """Route table and handlers of `/v1/*`."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        providers: Mapping[str, Provider],
        settings: Settings,
        clock: Clock,
        admit: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._admit = admit
        self._ids = IdMint()
        self._sessions = sessions
        self._providers = providers
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
        session = await self._sessions.usable_session(request.bearer_token())
        if self._admit is not None:
            await self._admit(session.user_id)  # the per-user rate limit (asgi/limits.py)
        return await handler(request, session)

    # -- routes ---------------------------------------------------------------------------

    async def models(self, request: Request, session: Session) -> Response:
        """The provider's catalog in OpenAI's list shape."""
        backend = self._backend(session)
        session, models = await self._retrying(session, backend.list_models)
        data = [
            {"id": m.id, "object": "model", "created": MODEL_CREATED, "owned_by": m.owned_by}
            for m in models
        ]
        return JSONResponse({"object": "list", "data": data})

    async def chat_completions(
        self, request: Request, session: Session
    ) -> Response | StreamingResponse:
        """Chat Completions in and out: passed through, or translated to Responses upstream."""
        body = await self._json_object(request)
        # Validated (and bounded) the same way whichever path serves it.
        backend = self._backend(session)
        chat = chat_to_responses(body, default_instructions=backend.default_instructions)
        session, target = await self._retrying(
            session, lambda c: backend.endpoint_for(c, chat.model, "chat/completions")
        )
        if target is None:
            name, model = self._display_name(session), chat.model[:100]
            raise InvalidRequest(f"{name} does not serve the model {model}", param="model")
        if target == "chat/completions":
            # Our own extension field stays here; everything else is the caller's body.
            payload = {k: v for k, v in body.items() if k != REASONING_SUMMARY_FIELD}
            upstream = await self._open(session, target, payload)
            return await _relay(upstream, streamed=chat.stream, chat=True)
        return await self._translated(session, chat)

    async def responses(self, request: Request, session: Session) -> Response | StreamingResponse:
        """The Responses API passed through, with what the upstream requires filled in."""
        body = await self._json_object(request)
        model = body.get("model")
        if not isinstance(model, str) or not model or "input" not in body:
            raise InvalidRequest("model and input are required", param="model")
        wants_stream = body.get("stream") is True
        backend = self._backend(session)
        session, target = await self._retrying(
            session, lambda c: backend.endpoint_for(c, model, "responses")
        )
        if target != "responses":
            return responses_unsupported(self._display_name(session))
        payload = backend.responses_payload(body)
        upstream = await self._open(session, "responses", payload)
        if payload.get("stream") is True and not wants_stream:
            return JSONResponse(await _aggregated(upstream, aggregate_response_async))
        return await _relay(upstream, streamed=wants_stream, chat=False)

    # -- the translated path ----------------------------------------------------------------

    async def _translated(
        self, session: Session, chat: ChatRequest
    ) -> Response | StreamingResponse:
        """Chat Completions in, Responses upstream, Chat Completions out."""
        if chat.dropped:
            logger.debug("dropped parameters the backend rejects: %s", ", ".join(chat.dropped))
        upstream = await self._open(session, "responses", chat.payload)
        completion_id = self._ids.new("chatcmpl-")
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
                await _close(upstream)

        return StreamingResponse(frames(), headers=_SSE_HEADERS)

    # -- helpers --------------------------------------------------------------------------

    async def _json_object(self, request: Request) -> dict[str, Any]:
        body = await request.json(self._settings.max_body_bytes)
        if not isinstance(body, dict):
            raise InvalidRequest("request body must be a JSON object")
        return body

    def _backend(self, session: Session) -> ModelBackend:
        provider = self._providers.get(session.record.provider)
        if provider is None:  # signed in with a provider this mount no longer offers
            raise Unauthorized()
        return provider.backend

    def _display_name(self, session: Session) -> str:
        return self._providers[session.record.provider].display_name

    async def _retrying(
        self, session: Session, call: Callable[[Credentials], Awaitable[T]]
    ) -> tuple[Session, T]:
        """`call(credentials)`; on an upstream 401, refresh once and call once more."""
        try:
            return session, await call(session.credentials)
        except UpstreamUnauthorized:
            session = await self._sessions.refresh(session, force=True)
        try:
            return session, await call(session.credentials)
        except UpstreamUnauthorized:
            raise Unauthorized() from None

    async def _open(
        self, session: Session, endpoint: Endpoint, payload: dict[str, Any]
    ) -> httpx.Response:
        """Open the upstream call (refreshing once on a 401)."""
        backend = self._backend(session)
        conversation = _conversation_id(session, payload)
        _, upstream = await self._retrying(
            session, lambda c: backend.open(c, endpoint, payload, conversation=conversation)
        )
        return upstream


async def _relay(
    upstream: httpx.Response, *, streamed: bool, chat: bool
) -> Response | StreamingResponse:
    """Pass an upstream answer through: streamed chunk by chunk, or read whole (bounded). A
    stream that breaks off ends with an error in the endpoint's own framing."""
    if streamed:

        async def passthrough() -> AsyncIterator[bytes]:
            try:
                if chat:
                    async for chunk in upstream.aiter_raw():
                        yield chunk
                else:  # Responses events are checked, so a cut stream ends in an error event
                    async for frame in checked_responses_stream(upstream.aiter_raw()):
                        yield frame
            except httpx.HTTPError as exc:
                if chat:
                    yield b"\n\n" + encode_data({"error": _stream_error(exc)}) + DONE
                else:
                    yield b"\n\n" + encode_event("error", {"type": "error", **_stream_error(exc)})
            finally:
                await _close(upstream)

        return StreamingResponse(passthrough(), headers=_SSE_HEADERS)
    chunks: list[bytes] = []
    size = 0
    async with _reading(upstream, broke_off="the provider's answer broke off"):
        async for chunk in upstream.aiter_raw():
            size += len(chunk)
            if size > _PASSTHROUGH_JSON_LIMIT:
                raise UpstreamError("the provider's answer is too large", status=502)
            chunks.append(chunk)
    media = upstream.headers.get("content-type", "application/json")
    return Response(b"".join(chunks), 200, [(b"content-type", media.encode("latin-1"))])


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
    async with _reading(upstream, broke_off="the provider's stream broke off"):
        return await aggregate(iter_json_events(upstream.aiter_raw()))


@asynccontextmanager
async def _reading(upstream: httpx.Response, *, broke_off: str) -> AsyncIterator[None]:
    """Read `upstream` in the body; a read that times out becomes a 504 `UpstreamError`, one
    that fails otherwise a 502 with the `broke_off` message. The call is closed either way."""
    try:
        yield
    except httpx.TimeoutException:
        raise UpstreamError("the provider stopped answering in time", status=504) from None
    except httpx.HTTPError:
        raise UpstreamError(broke_off, status=502) from None
    finally:
        await _close(upstream)


async def _close(upstream: httpx.Response) -> None:
    """Close the upstream call, even when the client went away (the scope is cancelled)."""
    with anyio.CancelScope(shield=True):
        await upstream.aclose()


def _stream_error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, UpstreamError):
        return {"message": exc.message, "type": "provider_error", "code": exc.code}
    return {"message": "the provider's stream broke off", "type": "provider_error", "code": None}
