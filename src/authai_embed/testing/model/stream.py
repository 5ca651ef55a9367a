"""The Responses SSE event sequence of one answer, built from a checked call and a scripted reply.

Frames are `event: <type>\\ndata: <json>\\n\\n`, each with a `sequence_number` from 0:
`response.created`, `response.in_progress`, each output item with its parts and deltas, then one
terminal event (`completed`, `incomplete`, `failed`, or a bare `error`) unless the reply cuts.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from typing import Any

from authai_embed.testing.model.script import CodexReply, FunctionCall

__all__ = ["MALFORMED_FRAME", "Frame", "ModelCall", "StreamPlan", "build_frames", "new_id", "usage"]

MALFORMED_FRAME = (
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":\n\n'
)
"""The frame a reply scripted `malformed=True` carries: its `data:` is cut-off JSON."""

_DELTAS = ("response.output_text.delta", "response.function_call_arguments.delta")

Frame = tuple[str, bytes]
"""An event's type (`malformed` for the broken frame) and its bytes on the wire."""


@dataclass(slots=True)
class ModelCall:
    """A model call that passed validation: what the stream needs to answer it."""

    model: str
    instructions: str
    input: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = False
    effort: str | None = None
    summary: str | None = None
    include: list[str] = field(default_factory=list)
    prompt_cache_key: str | None = None
    text: dict[str, Any] = field(default_factory=dict)

    @property
    def wants_encrypted_reasoning(self) -> bool:
        """Whether reasoning items carry `encrypted_content` (stateless multi-turn reasoning)."""
        return "reasoning.encrypted_content" in self.include


def new_id(prefix: str) -> str:
    """A random id such as `resp_...`, `msg_...`, `fc_...`, `call_...`."""
    return f"{prefix}_{secrets.token_hex(16)}"


@dataclass(slots=True)
class StreamPlan:
    """Everything one answer needs besides the call and the reply."""

    response_id: str
    created_at: int
    chunk_size: int
    text: str
    """The message text (`""`: no message item)."""
    reasoning: str | None
    """The reasoning summary (`None`: no summary events)."""
    reasoning_item: bool
    cached_tokens: int = 0
    encrypted_content: str | None = None
    """Set by `build_frames` when the reasoning item carries one."""
    final_output: bool = True
    """The terminal event's `response.output` lists the items (else `[]`, as Codex sends)."""
    omit: tuple[str, ...] = ()
    """Fields left out of every event's `response` object."""
    events: list[dict[str, Any]] = field(default_factory=list)


def _chunks(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _response(call: ModelCall, plan: StreamPlan, status: str, **fields: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "id": plan.response_id,
        "object": "response",
        "created_at": plan.created_at,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": call.instructions,
        "max_output_tokens": None,
        "model": call.model,
        "output": [],
        "parallel_tool_calls": call.parallel_tool_calls,
        "previous_response_id": None,
        "prompt_cache_key": call.prompt_cache_key,
        "reasoning": {"effort": call.effort, "summary": call.summary},
        "service_tier": "auto",
        "store": False,
        "text": {"format": {"type": "text"}, "verbosity": "medium", **call.text},
        "tool_choice": call.tool_choice,
        "tools": call.tools,
        "truncation": "disabled",
        "usage": None,
        "metadata": {},
    }
    response.update(fields)
    if "output" in fields and not plan.final_output:
        response["output"] = []
    for name in plan.omit:
        response.pop(name, None)
    return response


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def usage(call: ModelCall, plan: StreamPlan, calls: tuple[FunctionCall, ...]) -> dict[str, Any]:
    """Token counts derived from the sizes (about 4 characters a token), deterministic."""
    prompt = json.dumps([call.instructions, call.input, call.tools], ensure_ascii=False)
    input_tokens = max(1, _tokens(prompt))
    reasoning = _tokens(plan.reasoning or "") + (8 if plan.reasoning_item else 0)
    output = _tokens(plan.text) + sum(_tokens(c.arguments_text) for c in calls) + reasoning
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": min(plan.cached_tokens, input_tokens)},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output,
    }


def _reasoning_events(call: ModelCall, plan: StreamPlan, index: int) -> dict[str, Any]:
    item_id = new_id("rs")
    add = plan.events.append
    add(
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {"id": item_id, "type": "reasoning", "summary": []},
        }
    )
    summary: list[dict[str, str]] = []
    if plan.reasoning is not None:
        where = {"item_id": item_id, "output_index": index, "summary_index": 0}
        add(
            {
                "type": "response.reasoning_summary_part.added",
                **where,
                "part": {"type": "summary_text", "text": ""},
            }
        )
        for delta in _chunks(plan.reasoning, plan.chunk_size):
            add({"type": "response.reasoning_summary_text.delta", **where, "delta": delta})
        add({"type": "response.reasoning_summary_text.done", **where, "text": plan.reasoning})
        summary = [{"type": "summary_text", "text": plan.reasoning}]
        add({"type": "response.reasoning_summary_part.done", **where, "part": summary[0]})
    if call.wants_encrypted_reasoning:
        plan.encrypted_content = "gAAAAAB" + secrets.token_urlsafe(96)
    item = {
        "id": item_id,
        "type": "reasoning",
        "summary": summary,
        "encrypted_content": plan.encrypted_content,
    }
    add({"type": "response.output_item.done", "output_index": index, "item": item})
    return item


def _message_events(plan: StreamPlan, index: int, status: str) -> dict[str, Any]:
    item_id = new_id("msg")
    add = plan.events.append
    added = {
        "id": item_id,
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }
    add({"type": "response.output_item.added", "output_index": index, "item": added})
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    add({"type": "response.content_part.added", **where, "part": empty})
    for delta in _chunks(plan.text, plan.chunk_size):
        add({"type": "response.output_text.delta", **where, "delta": delta, "logprobs": []})
    add({"type": "response.output_text.done", **where, "text": plan.text, "logprobs": []})
    part = {**empty, "text": plan.text}
    add({"type": "response.content_part.done", **where, "part": part})
    item = {**added, "status": status, "content": [part]}
    add({"type": "response.output_item.done", "output_index": index, "item": item})
    return item


def _call_events(plan: StreamPlan, index: int, call: FunctionCall) -> dict[str, Any]:
    item_id = new_id("fc")
    add = plan.events.append
    added = {
        "id": item_id,
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": call.call_id or new_id("call"),
        "name": call.name,
    }
    add({"type": "response.output_item.added", "output_index": index, "item": added})
    where = {"item_id": item_id, "output_index": index}
    for delta in _chunks(call.arguments_text, plan.chunk_size):
        add({"type": "response.function_call_arguments.delta", **where, "delta": delta})
    add(
        {"type": "response.function_call_arguments.done", **where, "arguments": call.arguments_text}
    )
    item = {**added, "status": "completed", "arguments": call.arguments_text}
    add({"type": "response.output_item.done", "output_index": index, "item": item})
    return item


def _terminal(call: ModelCall, plan: StreamPlan, reply: CodexReply, output: list[Any]) -> None:
    calls = tuple(reply.function_calls)
    tally = dict(reply.usage) if reply.usage is not None else usage(call, plan, calls)
    if reply.finish == "completed":
        done = _response(call, plan, "completed", output=output, usage=tally)
        plan.events.append({"type": "response.completed", "response": done})
    elif reply.finish == "incomplete":
        details = {"reason": reply.incomplete_reason}
        done = _response(
            call, plan, "incomplete", output=output, usage=tally, incomplete_details=details
        )
        plan.events.append({"type": "response.incomplete", "response": done})
    elif reply.finish == "failed":
        error = {"code": reply.error_code, "message": reply.error_message}
        done = _response(call, plan, "failed", output=output, error=error)
        plan.events.append({"type": "response.failed", "response": done})
    elif reply.finish == "error":
        plan.events.append(
            {
                "type": "error",
                "code": reply.error_code,
                "message": reply.error_message,
                "param": None,
            }
        )


def build_frames(call: ModelCall, plan: StreamPlan, reply: CodexReply) -> list[Frame]:
    """The whole answer as SSE frames, in order, with the scripted break applied."""
    started = _response(call, plan, "in_progress")
    plan.events += [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    output: list[Any] = []
    if plan.reasoning_item:
        output.append(_reasoning_events(call, plan, len(output)))
    if plan.text:
        status = "incomplete" if reply.finish == "incomplete" else "completed"
        output.append(_message_events(plan, len(output), status))
    for function_call in reply.function_calls:
        output.append(_call_events(plan, len(output), function_call))
    _terminal(call, plan, reply, output)
    frames: list[Frame] = []
    for number, event in enumerate(plan.events):
        event["sequence_number"] = number
        data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        frames.append((event["type"], f"event: {event['type']}\ndata: {data}\n\n".encode()))
    anchor = next((i + 1 for i, (kind, _) in enumerate(frames) if kind in _DELTAS), None)
    if anchor is None:
        anchor = len(frames) - (0 if reply.finish == "cut" else 1)
    if reply.malformed:
        frames.insert(anchor, ("malformed", MALFORMED_FRAME))
        anchor += 1
    if reply.finish == "cut":
        frames = frames[: reply.cut_after if reply.cut_after is not None else anchor]
    return frames
