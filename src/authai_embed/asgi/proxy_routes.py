"""The handlers of `/v1/*` (the routes and their guards are in `app.py`'s table).

Each one parses the request, asks the signed-in user's provider backend how to serve it (passed
through, or chat translated to Responses upstream), calls `proxy/relay.py`, and wraps what comes
back in a response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from authai_embed._util.clock import Clock
from authai_embed._util.ids import IdMint
from authai_embed._util.logs import get_logger
from authai_embed.asgi.errors import (
    chat_stream_error,
    responses_stream_error,
    responses_unsupported,
    unsupported_endpoint,
)
from authai_embed.asgi.http import JSONResponse, Request, Response, StreamingResponse
from authai_embed.auth.sessions import Session, Sessions
from authai_embed.errors import InvalidRequest, Unauthorized, UpstreamError
from authai_embed.observe.calls import note_model, note_usage
from authai_embed.providers.base import ModelBackend, Provider
from authai_embed.proxy import relay
from authai_embed.proxy.translate.chat_to_responses import (
    REASONING_SUMMARY_FIELD,
    ChatRequest,
    chat_to_responses,
)
from authai_embed.proxy.translate.response_fill import ResponseDefaults, ResponseFiller
from authai_embed.proxy.translate.responses_input import stateless, typed_input
from authai_embed.proxy.translate.responses_to_chat import (
    ChatStreamTranslator,
    aggregate_chat_completion_async,
    aggregate_response_async,
)
from authai_embed.settings import Settings

__all__ = ["SSE_HEADERS", "ProxyRoutes", "signed_in"]

logger = get_logger("proxy")

MODEL_CREATED = 1_735_689_600  # the catalogs have no dates; a fixed, plausible `created`
SSE_HEADERS = [(b"cache-control", b"no-store"), (b"x-accel-buffering", b"no")]


class ProxyRoutes:
    """The handlers of `/v1/*`. Errors propagate as exceptions; the app answers them."""

    def __init__(
        self,
        sessions: Sessions,
        providers: Mapping[str, Provider],
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._ids = IdMint()
        self._sessions = sessions
        self._providers = providers
        self._settings = settings
        self._clock = clock

    async def unsupported(self, request: Request) -> Response:
        """Any other `/v1/*` path or method (no sign-in needed to learn that)."""
        return unsupported_endpoint(request.path[4:])

    async def models(self, request: Request) -> Response:
        """The provider's catalog in OpenAI's list shape."""
        session = signed_in(request)
        backend = self._backend(session)
        session, models = await relay.retrying(self._sessions, session, backend.list_models)
        data = [
            {"id": m.id, "object": "model", "created": MODEL_CREATED, "owned_by": m.owned_by}
            for m in models
        ]
        return JSONResponse({"object": "list", "data": data})

    async def chat_completions(self, request: Request) -> Response | StreamingResponse:
        """Chat Completions in and out: passed through, or translated to Responses upstream."""
        return await self.chat(signed_in(request), await self.json_object(request))

    async def chat(self, session: Session, body: dict[str, Any]) -> Response | StreamingResponse:
        """The chat path below the route, for `session` and a Chat Completions `body` (also what
        serves `/v1/messages`): a 200 answer, whole or streamed; errors are raised."""
        # Validated (and bounded) the same way whichever path serves it.
        backend = self._backend(session)
        chat = chat_to_responses(body, default_instructions=backend.default_instructions)
        session, target = await relay.retrying(
            self._sessions,
            session,
            lambda c: backend.endpoint_for(c, chat.model, "chat/completions"),
        )
        if target is None:
            name, model = self._display_name(session), chat.model[:100]
            raise InvalidRequest(f"{name} does not serve the model {model}", param="model")
        if target != "chat/completions":
            return await self._translated(session, backend, chat)
        # Our own extension field stays here; everything else is the caller's body.
        payload = {k: v for k, v in body.items() if k != REASONING_SUMMARY_FIELD}
        try:
            upstream = await relay.open_upstream(self._sessions, session, backend, target, payload)
        except UpstreamError as exc:
            # A 400 may have taught the backend that the model is served on /responses only
            # (Copilot's `unsupported_api_for_model`): then the call is made there, once.
            if exc.status != 400:
                raise
            session, target = await relay.retrying(
                self._sessions,
                session,
                lambda c: backend.endpoint_for(c, chat.model, "chat/completions"),
            )
            if target != "responses":
                raise
            logger.info("model %s is served on /responses only: retried there", chat.model[:100])
            return await self._translated(session, backend, chat)
        if chat.stream:
            chunks = relay.relayed(upstream, chat=True, error_frame=chat_stream_error)
            return StreamingResponse(chunks, headers=SSE_HEADERS, closing=upstream.aclose)
        return _whole(*await relay.read_whole(upstream))

    async def responses(self, request: Request) -> Response | StreamingResponse:
        """The Responses API passed through, with what the upstream requires filled in."""
        session = signed_in(request)
        body = await self.json_object(request)
        model = body.get("model")
        if not isinstance(model, str) or not model or "input" not in body:
            raise InvalidRequest("model and input are required", param="model")
        wants_stream = body.get("stream") is True
        backend = self._backend(session)
        session, target = await relay.retrying(
            self._sessions, session, lambda c: backend.endpoint_for(c, model, "responses")
        )
        if target != "responses":
            return responses_unsupported(self._display_name(session))
        # Typed items for every provider: the one shape each upstream reads (docs/proxy.md).
        payload = backend.responses_payload({**body, "input": typed_input(body["input"])})
        if payload.get("store") is False:  # the upstream keeps nothing it could look up
            stateless(payload)
        upstream = await relay.open_upstream(self._sessions, session, backend, target, payload)
        now = self._clock.now()
        defaults = ResponseDefaults(self._ids.new("resp_"), int(now), model)
        if wants_stream:
            started = await relay.held(upstream, now=now)
            chunks = relay.relayed(
                upstream,
                chat=False,
                error_frame=responses_stream_error,
                chunks=started,
                defaults=defaults,
            )
            return StreamingResponse(chunks, headers=SSE_HEADERS, closing=upstream.aclose)
        if payload.get("stream") is True:  # a backend that only streams: folded into one answer
            answer = await relay.aggregated(
                upstream, lambda events: aggregate_response_async(events, defaults), now=now
            )
            return JSONResponse(answer)
        return _whole_response(*await relay.read_whole(upstream), defaults)

    async def _translated(
        self, session: Session, backend: ModelBackend, chat: ChatRequest
    ) -> Response | StreamingResponse:
        """Chat Completions in, Responses upstream, Chat Completions out."""
        if chat.dropped:
            logger.debug("dropped parameters the backend rejects: %s", ", ".join(chat.dropped))
        upstream = await relay.open_upstream(
            self._sessions, session, backend, "responses", chat.payload
        )
        completion_id = self._ids.new("chatcmpl-")
        created = int(self._clock.now())
        if not chat.stream:
            completion = await relay.aggregated(
                upstream,
                lambda events: aggregate_chat_completion_async(
                    events,
                    model=chat.model,
                    include_reasoning=chat.include_reasoning,
                    completion_id=completion_id,
                    created=created,
                ),
                now=self._clock.now(),
            )
            return JSONResponse(completion)
        translator = ChatStreamTranslator(
            chat.model,
            include_usage=chat.include_usage,
            include_reasoning=chat.include_reasoning,
            completion_id=completion_id,
            created=created,
        )
        started = await relay.held(upstream, now=self._clock.now())
        frames = relay.translated(
            upstream, translator, error_frame=chat_stream_error, chunks=started
        )
        return StreamingResponse(frames, headers=SSE_HEADERS, closing=upstream.aclose)

    async def json_object(self, request: Request) -> dict[str, Any]:
        """The request's body, which must be a JSON object (within the size limit)."""
        body = await request.json(self._settings.max_body_bytes)
        if not isinstance(body, dict):
            raise InvalidRequest("request body must be a JSON object")
        note_model(body.get("model"))
        return body

    def _backend(self, session: Session) -> ModelBackend:
        provider = self._providers.get(session.record.provider)
        if provider is None:  # signed in with a provider this mount no longer offers
            raise Unauthorized()
        return provider.backend

    def _display_name(self, session: Session) -> str:
        return self._providers[session.record.provider].display_name


def signed_in(request: Request) -> Session:
    """The session the app opened for this route (the table declares `auth="session"`)."""
    if request.session is None:
        raise Unauthorized()
    return request.session


def _whole(body: bytes, media_type: str) -> Response:
    return Response(body, 200, [(b"content-type", media_type.encode("latin-1"))])


def _whole_response(body: bytes, media_type: str, defaults: ResponseDefaults) -> Response:
    """A whole Responses object passed through, completed where the upstream left fields out;
    anything that is not one is passed on as it came."""
    try:
        answer = json.loads(body)
    except ValueError:
        return _whole(body, media_type)
    if not isinstance(answer, dict):
        return _whole(body, media_type)
    note_usage(answer.get("usage"))
    filled = ResponseFiller(defaults).fill(answer, "response.completed")
    return _whole(body, media_type) if filled is None else JSONResponse(filled)
