"""An OpenAI-compatible model API, emulated once for Copilot and xAI: `/chat/completions` (JSON
or SSE chunks), `/responses` (the Responses stream, or its final object) and the model list.
Replies are scripted as for the Codex backend; the side in front authenticates, checks the body
and shapes its own errors.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from authai_embed._util.clock import Clock
from authai_embed.asgi.http import JSONResponse, Request, Response, StreamingResponse
from authai_embed.errors import InvalidRequest
from authai_embed.testing.model.records import CodexStats, RecordedRequest
from authai_embed.testing.model.script import CodexReply, ReplyScript
from authai_embed.testing.model.stream import ModelCall, StreamPlan, build_frames, new_id

__all__ = ["Answer", "ChatKnobs", "ChatModel"]


@dataclass(slots=True)
class ChatKnobs:
    """Live settings of an emulated OpenAI-compatible model API."""

    chunk_size: int = 8
    """Characters per streamed content (and arguments) delta."""
    event_delay: float = 0.0
    """Seconds slept after each streamed event."""
    usage_limit_reached: bool = False
    """On: every model call answers the side's 429 rate-limit error."""
    max_body: int = 16 * 1024 * 1024
    final_output: bool = True
    """`/responses`: the final response object lists the output items (off: `[]`, the Codex
    backend's habit, to test a client against it on this side too)."""
    omit_response_fields: tuple[str, ...] = ()
    """`/responses`: fields left out of every `response` object (e.g. `("created_at",)`)."""
    content_encoding: Literal["gzip", "deflate"] | None = None
    """Set: whole (not streamed) answers are compressed so, with `Content-Encoding`, whatever
    the caller's `Accept-Encoding` asked (some servers and proxies on the way ignore it)."""


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


Answer = Callable[[dict[str, Any]], Response | StreamingResponse]
"""`ChatModel.chat` or `ChatModel.responses`: the answer to a body the side has checked."""


class ChatModel:
    """The model API of one emulated side (`emulator.github.model`, `emulator.xai.model`).

    `scripted_error` is the side's error body for a reply scripted as an HTTP error without one.
    """

    def __init__(
        self, clock: Clock, models: list[dict[str, Any]], scripted_error: dict[str, Any]
    ) -> None:
        self._clock = clock
        self.catalog = models
        self._scripted_error = scripted_error
        self.knobs = ChatKnobs()
        self.stats = CodexStats()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._script = ReplyScript()

    # Scripting and records ----------------------------------------------------------------

    def script(self, *replies: CodexReply | str, **fields: Any) -> None:
        """Queue the next answers, as `emulator.codex.script` does."""
        self._script.add(*replies, **fields)

    async def receive(self, request: Request) -> Any:
        """Read, record and count a model call; its JSON body, or `None` when it is not JSON
        (the side answers 400)."""
        try:
            body = await request.json(self.knobs.max_body)
        except InvalidRequest:
            body = None
        with self._lock:
            self.requests.append(RecordedRequest.of(request, body))
        self.stats.requests += 1
        return body

    def last_request(self, suffix: str = "") -> RecordedRequest:
        """The latest recorded call whose path ends with `suffix`; `LookupError` if none."""
        with self._lock:
            for record in reversed(self.requests):
                if record.path.endswith(suffix) and record.method == "POST":
                    return record
        raise LookupError(f"no request to *{suffix} yet")

    # Answers ------------------------------------------------------------------------------

    def models(self) -> JSONResponse:
        """`GET /models`: `{"object": "list", "data": [...]}`."""
        self.stats.model_lists += 1
        return JSONResponse({"object": "list", "data": self.catalog})

    def chat(self, body: dict[str, Any]) -> Response | StreamingResponse:
        """Answer a checked chat completions body with the next scripted reply."""
        reply = self._script.next()
        if reply.is_http_error:
            return self._error(reply)
        messages = body["messages"]
        model = body["model"]
        text = reply.text_for(messages)
        calls: list[dict[str, Any]] = [
            {
                "id": call.call_id or new_id("call"),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_text},
            }
            for call in reply.function_calls
        ]
        prompt = _tokens(json.dumps(messages))
        completion = _tokens(text) + sum(_tokens(c["function"]["arguments"]) for c in calls)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        finish = "tool_calls" if calls else "stop"
        completion_id = f"chatcmpl-{secrets.token_hex(12)}"
        created = int(self._clock.now())
        if body.get("stream") is not True:
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if calls:
                message["tool_calls"] = calls
            choice = {"index": 0, "message": message, "finish_reason": finish}
            return self._encoded(
                JSONResponse(
                    {
                        "id": completion_id,
                        "object": "chat.completion",
                        "created": created,
                        "model": model,
                        "choices": [choice],
                        "usage": usage,
                    }
                )
            )
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        chunks: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        size = max(1, self.knobs.chunk_size)
        chunks += [{"content": text[i : i + size]} for i in range(0, len(text), size)]
        for index, call in enumerate(calls):
            head = {"index": index, "id": call["id"], "type": "function"}
            args = call["function"]["arguments"]
            chunks.append(
                {"tool_calls": [{**head, "function": {"name": call["function"]["name"]}}]}
            )
            chunks += [
                {"tool_calls": [{"index": index, "function": {"arguments": args[i : i + size]}}]}
                for i in range(0, len(args), size)
            ]
        events: list[dict[str, Any]] = [
            {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in chunks
        ]
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if include_usage:
            events.append({**base, "choices": [], "usage": usage})
        frames = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n".encode() for e in events]
        if reply.finish == "cut":
            frames = frames[: reply.cut_after if reply.cut_after is not None else 2]
        else:
            frames.append(b"data: [DONE]\n\n")
        return StreamingResponse(self._stream(frames), 200, [(b"cache-control", b"no-cache")])

    def responses(self, body: dict[str, Any]) -> Response | StreamingResponse:
        """Answer a checked Responses body with the next scripted reply (streamed when
        `stream: true`)."""
        reply = self._script.next()
        if reply.is_http_error:
            return self._error(reply)
        items = body.get("input")
        if isinstance(items, str):
            items = [{"type": "message", "role": "user", "content": items}]
        call = ModelCall(
            model=body["model"],
            instructions=str(body.get("instructions") or ""),
            input=list(items or []),
            tools=list(body.get("tools") or []),
        )
        plan = StreamPlan(
            response_id=new_id("resp"),
            created_at=int(self._clock.now()),
            chunk_size=self.knobs.chunk_size,
            text=reply.text_for(call.input),
            reasoning=None,
            reasoning_item=False,
            final_output=self.knobs.final_output,
            omit=self.knobs.omit_response_fields,
        )
        frames = build_frames(call, plan, reply)
        if body.get("stream") is True:
            raw = [frame for _, frame in frames]
            return StreamingResponse(self._stream(raw), 200, [(b"cache-control", b"no-cache")])
        final = next(
            (e["response"] for e in reversed(plan.events) if isinstance(e.get("response"), dict)),
            None,
        )
        return self._encoded(JSONResponse(final))

    def _encoded(self, response: Response) -> Response:
        """`response` compressed as `knobs.content_encoding` says (unchanged when unset)."""
        encoding = self.knobs.content_encoding
        if encoding is None:
            return response
        packer = zlib.compressobj(wbits=16 + zlib.MAX_WBITS if encoding == "gzip" else 15)
        response.body = packer.compress(response.body) + packer.flush()
        response.headers.append((b"content-encoding", encoding.encode()))
        return response

    def _error(self, reply: CodexReply) -> JSONResponse:
        self.stats.rejected += 1
        headers = [(k.encode(), v.encode()) for k, v in reply.headers.items()]
        return JSONResponse(reply.body or self._scripted_error, reply.status, headers)

    async def _stream(self, frames: Iterable[bytes]) -> AsyncIterator[bytes]:
        with self.stats.streaming():
            for frame in frames:
                yield frame
                if self.knobs.event_delay > 0:
                    await anyio.sleep(self.knobs.event_delay)
