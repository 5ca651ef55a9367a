"""The handlers of `/v1/*` (the routes and their guards are in `app.py`'s table).

Each one parses the request, asks the signed-in user's provider backend how to serve it (passed
through, or chat translated to Responses upstream), calls `proxy/relay.py`, and wraps what comes
back in a response.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

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
from authai_embed.providers.base import Endpoint, ModelBackend, Provider
from authai_embed.proxy import relay
from authai_embed.proxy.translate.chat_to_responses import (
    REASONING_SUMMARY_FIELD,
    ChatRequest,
    chat_to_responses,
)
from authai_embed.proxy.translate.response_fill import ResponseDefaults, ResponseFiller
from authai_embed.proxy.translate.responses_input import stateless, typed_input
from authai_embed.proxy.translate.responses_to_chat import (
    ChatCompletionAggregator,
    ChatStreamTranslator,
    ResponseAggregator,
)
from authai_embed.proxy.usage_tap import ask_for_usage, tapped_chat_stream
from authai_embed.settings import Settings
from authai_embed.usage.metering import Meter, Metering
from authai_embed.usage.tally import tally_of_json

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
        metering: Metering | None = None,
    ) -> None:
        self._ids = IdMint()
        self._metering = metering
        self._sessions = sessions
        self._providers = providers
        self._settings = settings
        self._clock = clock

    async def unsupported(self, request: Request) -> Response:
        """Any other `/v1/*` path or method (no sign-in needed to learn that)."""
        return unsupported_endpoint(request.path[4:])

    async def models(self, request: Request) -> Response:
        """The provider's catalog in OpenAI's list shape, without the models the user's quota
        does not allow."""
        session = signed_in(request)
        backend = self._backend(session)
        session, models = await relay.retrying(self._sessions, session, backend.list_models)
        allowed = None
        if self._metering is not None:
            allowed = await self._metering.allowed_models(session.user_id)
        data = [
            {"id": m.id, "object": "model", "created": MODEL_CREATED, "owned_by": m.owned_by}
            for m in models
            if allowed is None or m.id in allowed
        ]
        return JSONResponse({"object": "list", "data": data})

    async def chat_completions(self, request: Request) -> Response | StreamingResponse:
        """Chat Completions in and out: passed through, or translated to Responses upstream."""
        body = await self.json_object(request)
        return await self.chat(signed_in(request), body, size=await self.body_size(request))

    async def body_size(self, request: Request) -> int:
        """The request body's size in bytes (read once; the quota's token estimate)."""
        return len(await request.body(self._settings.max_body_bytes))

    async def chat(
        self, session: Session, body: dict[str, Any], *, size: int = 0
    ) -> Response | StreamingResponse:
        """The chat path below the route, for `session` and a Chat Completions `body` (also what
        serves `/v1/messages`): a 200 answer, whole or streamed; errors are raised. `size` is
        the request's size in bytes, for a quota's estimate."""
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
        meter = await self._begin(session, chat.model, size)
        if meter is None:
            return await self._chat(session, backend, chat, body, target, None)
        try:
            return await self._chat(session, backend, chat, body, target, meter)
        except BaseException as exc:
            _failed(meter, exc)
            raise

    async def _chat(
        self,
        session: Session,
        backend: ModelBackend,
        chat: ChatRequest,
        body: dict[str, Any],
        target: Endpoint,
        meter: Meter | None,
    ) -> Response | StreamingResponse:
        if target != "chat/completions":
            return await self._translated(session, backend, chat, meter)
        # Our own extension field stays here; everything else is the caller's body.
        payload = {k: v for k, v in body.items() if k != REASONING_SUMMARY_FIELD}
        strip = meter is not None and chat.stream and not ask_for_usage(payload)
        try:
            upstream = await relay.open_upstream(self._sessions, session, backend, target, payload)
        except UpstreamError as exc:
            # A 400 may have taught the backend that the model is served on /responses only
            # (Copilot's `unsupported_api_for_model`): then the call is made there, once.
            if exc.status != 400:
                raise
            session, served = await relay.retrying(
                self._sessions,
                session,
                lambda c: backend.endpoint_for(c, chat.model, "chat/completions"),
            )
            if served != "responses":
                raise
            logger.info("model %s is served on /responses only: retried there", chat.model[:100])
            return await self._translated(session, backend, chat, meter)
        if chat.stream:
            chunks = relay.relayed(upstream, chat=True, error_frame=chat_stream_error)
            if meter is not None:
                chunks = tapped_chat_stream(chunks, meter.saw, meter.fail, strip=strip)
            closing = _closing(upstream, meter)
            return StreamingResponse(chunks, headers=SSE_HEADERS, closing=closing)
        whole, media_type = await relay.read_whole(upstream)
        if meter is not None:
            meter.tally = tally_of_json(whole)
            meter.close()
        return _whole(whole, media_type)

    async def responses(self, request: Request) -> Response | StreamingResponse:
        """The Responses API passed through, with what the upstream requires filled in."""
        session = signed_in(request)
        body = await self.json_object(request)
        model = body.get("model")
        if not isinstance(model, str) or not model or "input" not in body:
            raise InvalidRequest("model and input are required", param="model")
        backend = self._backend(session)
        session, target = await relay.retrying(
            self._sessions, session, lambda c: backend.endpoint_for(c, model, "responses")
        )
        if target != "responses":
            return responses_unsupported(self._display_name(session))
        meter = await self._begin(session, model, await self.body_size(request))
        if meter is None:
            return await self._responses(session, backend, body, model, target, None)
        try:
            return await self._responses(session, backend, body, model, target, meter)
        except BaseException as exc:
            _failed(meter, exc)
            raise

    async def _responses(
        self,
        session: Session,
        backend: ModelBackend,
        body: dict[str, Any],
        model: str,
        target: Endpoint,
        meter: Meter | None,
    ) -> Response | StreamingResponse:
        wants_stream = body.get("stream") is True
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
                observe=None if meter is None else meter.observe,
            )
            closing = _closing(upstream, meter)
            return StreamingResponse(chunks, headers=SSE_HEADERS, closing=closing)
        if payload.get("stream") is True:  # a backend that only streams: folded into one answer
            answer = await relay.aggregated(upstream, ResponseAggregator(defaults), now=now)
            _counted(meter, answer)
            return JSONResponse(answer)
        whole, media_type = await relay.read_whole(upstream)
        if meter is not None:
            meter.tally = tally_of_json(whole)
            meter.close()
        return _whole_response(whole, media_type, defaults)

    async def _translated(
        self, session: Session, backend: ModelBackend, chat: ChatRequest, meter: Meter | None
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
            aggregator = ChatCompletionAggregator(
                chat.model,
                include_reasoning=chat.include_reasoning,
                completion_id=completion_id,
                created=created,
            )
            completion = await relay.aggregated(upstream, aggregator, now=self._clock.now())
            _counted(meter, completion)
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
        closing = _closing(upstream, meter, translator)
        return StreamingResponse(frames, headers=SSE_HEADERS, closing=closing)

    async def _begin(self, session: Session, model: str, size: int) -> Meter | None:
        """The call's meter (its quota applied first), or `None` when metering is off."""
        if self._metering is None:
            return None
        return await self._metering.begin(session.user_id, session.record.provider, model, size)

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


def _failed(meter: Meter, exc: BaseException) -> None:
    """A call that ended in `exc` before its answer: counted as an error, or, when the client
    went away (a cancellation), as a call without one."""
    if isinstance(exc, Exception):
        meter.fail(exc.status if isinstance(exc, UpstreamError | InvalidRequest) else 502)
    meter.close()


def _counted(meter: Meter | None, answer: Mapping[str, Any]) -> None:
    """A whole answer's usage into its meter, and the call counted."""
    if meter is not None:
        meter.saw(answer.get("usage"))
        meter.close()


def _closing(
    upstream: httpx.Response,
    meter: Meter | None,
    translator: ChatStreamTranslator | None = None,
) -> Callable[[], Awaitable[None]]:
    """What a streamed answer runs when it ends: close the call, then count it."""
    if meter is None:
        return upstream.aclose

    async def close() -> None:
        try:
            await upstream.aclose()
        finally:
            if translator is not None:
                meter.saw(translator.usage)
                if translator.failed:
                    meter.fail()
            meter.close()

    return close


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
