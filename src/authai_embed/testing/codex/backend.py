"""The emulated ChatGPT Codex backend (`emulator.codex`): the model calls behind "Sign in with
ChatGPT", checked as the real backend checks them (bearer token, `chatgpt-account-id`, the Codex
client headers, the body), answered with the Responses SSE stream and `x-codex-*` headers.
Every call is recorded (without `Authorization`); `stats` also counts abandoned streams.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import anyio

from authai_embed._util.b64 import b64url_decode
from authai_embed.asgi.http import JSONResponse, Request, StreamingResponse
from authai_embed.errors import InvalidRequest
from authai_embed.testing.codex.catalog import catalog
from authai_embed.testing.codex.errors import (
    TOKEN_EXPIRED,
    TOKEN_INVALIDATED,
    Rejected,
    auth_error,
    detail,
)
from authai_embed.testing.codex.knobs import CodexKnobs
from authai_embed.testing.codex.limits import (
    limit_reply,
    rate_limit_headers,
    scripted_error,
    usage_limit,
)
from authai_embed.testing.codex.pacing import STAMP_PLACEHOLDER, paced, stamp_text
from authai_embed.testing.codex.request import LITE_HEADER, parse_call
from authai_embed.testing.codex.usage import USAGE_PATH, AccountUsage, usage_body
from authai_embed.testing.model.records import CodexStats, RecordedRequest
from authai_embed.testing.model.script import CodexReply, ReplyScript
from authai_embed.testing.model.stream import Frame, ModelCall, StreamPlan, build_frames, new_id
from authai_embed.testing.openai.accounts import Account
from authai_embed.testing.openai.state import AuthState

__all__ = ["FEDRAMP_HEADER", "MODELS_PATH", "RESPONSES_PATH", "USAGE_PATH", "CodexBackend"]

RESPONSES_PATH = "/backend-api/codex/responses"
MODELS_PATH = "/backend-api/codex/models"
FEDRAMP_HEADER = "x-openai-fedramp"
"""Sent (`true`) by clients of accounts whose id token says `chatgpt_account_is_fedramp`."""


def _encode(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


def _token_expired(token: str, now: float) -> bool:
    """Whether `token` is a JWT whose `exp` has passed (as opposed to unknown or revoked)."""
    parts = token.split(".")
    try:
        claims = json.loads(b64url_decode(parts[1])) if len(parts) == 3 else None
    except ValueError:
        return False
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return isinstance(exp, int | float) and exp <= now


class CodexBackend:
    """The Codex model backend's routes and state; one per `Emulator` (`emulator.codex`)."""

    def __init__(self, state: AuthState, check_access_token: Callable[[str], Account | None]):
        self._state = state
        self._check_access_token = check_access_token
        self.knobs = CodexKnobs()
        self.stats = CodexStats()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._script = ReplyScript()
        self._issued_reasoning: set[str] = set()
        self._prompts: dict[str, str] = {}
        self._usage: dict[str, AccountUsage] = {}

    # Scripting ----------------------------------------------------------------------------

    def script(self, *replies: CodexReply | str, **fields: Any) -> None:
        """Queue the next answers, oldest first: `CodexReply`s, strings (a plain text answer), or
        the fields of one `CodexReply` as keywords (`script(text="Hi", finish="cut")`).

        Each accepted model call takes one; with none queued the model echoes the last user text.
        """
        self._script.add(*replies, **fields)

    @property
    def pending(self) -> int:
        """Scripted replies not yet used."""
        return len(self._script)

    def clear_script(self) -> None:
        """Drop the replies not yet used."""
        self._script.clear()

    def set_usage(self, account_id: str, *, primary: float, secondary: float = 0.0) -> None:
        """Give one account its own window use (percent), on the usage endpoint and in the
        `x-codex-*` headers of its answers; the other accounts keep the knobs' numbers."""
        self._usage[account_id] = AccountUsage(primary, secondary)

    def last_request(self, path: str = RESPONSES_PATH) -> RecordedRequest:
        """The latest recorded call to `path`; `LookupError` if there was none."""
        with self._lock:
            for record in reversed(self.requests):
                if record.path == path:
                    return record
        raise LookupError(f"no request to {path} yet")

    # Routes -------------------------------------------------------------------------------

    async def responses(self, request: Request) -> JSONResponse | StreamingResponse:
        """`POST /backend-api/codex/responses`: an SSE stream, or the backend's HTTP error."""
        record = self._record(request)
        self.stats.requests += 1
        if self.knobs.response_delay > 0:
            await anyio.sleep(self.knobs.response_delay)
        try:
            body, body_error = await self._read_json(request)
            record.body = body
            account = self._authenticate(request, needs_beta=True)
            if body_error is not None:
                raise detail(body_error.message, body_error.status)
            lite_header = request.headers.get(LITE_HEADER, "").strip().lower() == "true"
            call = parse_call(
                body,
                self._issued_reasoning,
                lite_header=lite_header,
                strict_input=self.knobs.strict_input,
            )
            now = self._state.clock.now()
            limited = self.knobs.usage_limit_reached
            if limited and self.knobs.usage_limit_shape != "stream":
                raise usage_limit(account, self.knobs, now)
            reply = limit_reply(self.knobs) if limited else self._script.next()
            if reply.is_http_error:
                raise scripted_error(reply, account, self.knobs, now)
        except Rejected as exc:
            record.status = exc.status
            self.stats.rejected += 1
            return JSONResponse(exc.body, exc.status, _encode(exc.headers))
        record.status = 200
        if limited:  # the stream shape: no reasoning or message before the failure
            call.summary = None
        frames = self._frames(call, reply, request)
        now = self._state.clock.now()
        own = self._usage.get(account.account_id)
        if limited:
            limits = rate_limit_headers(
                self.knobs, now, primary=100.0, resets_in=self.knobs.usage_limit_resets_in
            )
        elif own is not None:
            limits = rate_limit_headers(
                self.knobs,
                now,
                primary=own.primary_used_percent,
                secondary=own.secondary_used_percent,
            )
        else:
            limits = rate_limit_headers(self.knobs, now)
        headers = [
            ("cache-control", "no-cache"),
            *limits,
            *reply.headers.items(),
        ]
        return StreamingResponse(self._stream(frames), 200, _encode(headers))

    async def models(self, request: Request) -> JSONResponse:
        """`GET /backend-api/codex/models?client_version=...`: `{"models": [ModelInfo, ...]}`,
        without the models whose `minimal_client_version` is above the version asked."""
        record = self._record(request)
        self.stats.model_lists += 1
        version = request.query.get("client_version")
        try:
            self._authenticate(request, needs_beta=False)
            if not version:
                raise detail("client_version is required")
        except Rejected as exc:
            record.status = exc.status
            return JSONResponse(exc.body, exc.status)
        record.status = 200
        models = catalog(version)
        return JSONResponse({"models": models}, 200, [(b"etag", b'"emulator-models-1"')])

    async def usage(self, request: Request) -> JSONResponse:
        """`GET /backend-api/wham/usage`: the account's plan, windows and credits (`usage.py`)."""
        record = self._record(request)
        try:
            account = self._authenticate(request, needs_beta=False)
        except Rejected as exc:
            record.status = exc.status
            return JSONResponse(exc.body, exc.status)
        record.status = 200
        now = self._state.clock.now()
        return JSONResponse(
            usage_body(account, self.knobs, self._usage.get(account.account_id), now)
        )

    # Checks -------------------------------------------------------------------------------

    def _record(self, request: Request) -> RecordedRequest:
        record = RecordedRequest.of(request)
        with self._lock:
            self.requests.append(record)
        return record

    async def _read_json(self, request: Request) -> tuple[Any, InvalidRequest | None]:
        try:
            return await request.json(self.knobs.max_body), None
        except InvalidRequest as exc:
            return None, exc

    def _authenticate(self, request: Request, *, needs_beta: bool) -> Account:
        token = request.bearer_token()
        if token is None:
            raise detail("Unauthorized", 401)
        account = self._check_access_token(token)
        if account is None:
            if _token_expired(token, self._state.clock.now()):
                raise auth_error("token_expired", TOKEN_EXPIRED)
            raise auth_error("token_invalidated", TOKEN_INVALIDATED)
        account_id = request.headers.get("chatgpt-account-id", "").strip()
        if not account_id:
            raise detail("Missing chatgpt-account-id header", 403)
        if account_id != account.account_id:
            raise detail("The chatgpt-account-id header does not match the signed-in user", 403)
        if account.fedramp and request.headers.get(FEDRAMP_HEADER, "").lower() != "true":
            # A FedRAMP workspace is served apart; a call without the header is refused.
            raise detail(f"This account requires the {FEDRAMP_HEADER}: true header", 403)
        if self.knobs.require_client_headers:
            beta = request.headers.get("openai-beta", "")
            if needs_beta and "responses=experimental" not in beta:
                raise detail("Missing header OpenAI-Beta: responses=experimental")
            if not request.headers.get("originator", "").strip():
                raise detail("Missing header originator")
        return account

    # The stream ---------------------------------------------------------------------------

    def _frames(self, call: ModelCall, reply: CodexReply, request: Request) -> list[Frame]:
        wants_summary = call.summary is not None
        reasoning = reply.reasoning
        if wants_summary and reasoning is None:
            reasoning = f"**Answering**\n\nReplying to {len(call.input)} input item(s) directly."
        text, chunk_size = reply.text_for(call.input), self.knobs.chunk_size
        if self.knobs.answer_events > 0:
            text, chunk_size = stamp_text(self.knobs.answer_events), len(STAMP_PLACEHOLDER)
        plan = StreamPlan(
            response_id=new_id("resp"),
            created_at=int(self._state.clock.now()),
            chunk_size=chunk_size,
            text=text,
            reasoning=reasoning if wants_summary else None,
            reasoning_item=wants_summary or reply.reasoning is not None,
            cached_tokens=self._cached_tokens(call, request),
            final_output=self.knobs.final_output,
            omit=self.knobs.omit_response_fields,
        )
        frames = build_frames(call, plan, reply)
        if plan.encrypted_content is not None:
            with self._lock:
                self._issued_reasoning.add(plan.encrypted_content)
        return frames

    def _cached_tokens(self, call: ModelCall, request: Request) -> int:
        """About a quarter of the characters this prompt shares with the previous one of the same
        conversation (`prompt_cache_key`, else the `session_id` header); 0 for a new one."""
        key = call.prompt_cache_key or request.headers.get("session_id")
        if not key:
            return 0
        prompt = json.dumps([call.instructions, call.input, call.tools], ensure_ascii=False)
        with self._lock:
            previous = self._prompts.get(key, "")
            self._prompts[key] = prompt
        shared = 0
        for a, b in zip(previous, prompt, strict=False):
            if a != b:
                break
            shared += 1
        return shared // 4

    async def _stream(self, frames: list[Frame]) -> AsyncIterator[bytes]:
        """Send `frames` one by one, counted as finished or abandoned."""
        stats, knobs = self.stats, self.knobs
        with stats.streaming():
            if knobs.events_per_second > 0:
                schedule = paced(
                    frames,
                    first_delay=knobs.first_byte_delay,
                    per_second=knobs.events_per_second,
                    stamp=knobs.stamp_events,
                )
                async for kind, frame in schedule:
                    yield frame
                    stats.events.append(kind)
                return
            if knobs.first_byte_delay > 0:
                await anyio.sleep(knobs.first_byte_delay)
            for number, (kind, frame) in enumerate(frames):
                yield frame
                stats.events.append(kind)
                if knobs.event_delay > 0 and number < len(frames) - 1:
                    await anyio.sleep(knobs.event_delay)
