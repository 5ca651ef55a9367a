"""The emulated Codex backend's live settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CodexKnobs", "LimitCode", "StreamLimitCode", "UsageLimitShape"]

UsageLimitShape = Literal["429", "404", "stream"]
LimitCode = Literal["usage_limit_reached", "usage_not_included"]
StreamLimitCode = Literal["rate_limit_exceeded", "server_is_overloaded"]


@dataclass(slots=True)
class CodexKnobs:
    """Live settings of the emulated model backend; a test may change them at any time."""

    chunk_size: int = 8
    """Characters per `output_text.delta` (and per reasoning and arguments delta)."""
    event_delay: float = 0.0
    """Seconds slept (`anyio.sleep`) after each SSE event is sent; 0 sends them back to back."""
    first_byte_delay: float = 0.0
    """Seconds between the response headers and the first SSE event (time to first token)."""
    events_per_second: float = 0.0
    """Above 0: after `first_byte_delay`, events leave on a fixed schedule at this rate (event n
    at n / rate seconds) instead of `event_delay` sleeps: a long answer as a model streams it."""
    answer_events: int = 0
    """Above 0: the answer is this many text deltas (of `pacing.STAMP_PLACEHOLDER` each),
    whatever the prompt; with `events_per_second` it sets how long the stream lasts."""
    stamp_events: bool = False
    """With `answer_events`: each text delta carries the `time.time()` it was sent
    (`T%017.6f `), so a client can measure the delay each event picked up on its way. The
    `done` events repeat the unstamped placeholder text."""
    response_delay: float = 0.0
    """Seconds before the model call answers at all, headers included (a backend that hangs:
    with a client timeout shorter than this, a read timeout before any byte)."""
    usage_limit_reached: bool = False
    """On: every model call answers with the usage limit (`usage_limit_shape`) until it is
    switched off again."""
    usage_limit_shape: UsageLimitShape = "429"
    """How a reached limit is answered, as the real backend has been seen to: `"429"` (the
    usual), `"404"` (the same body under a 404), or `"stream"` (a 200 stream whose first events
    are followed by `response.failed` with `stream_limit_code`)."""
    usage_limit_code: LimitCode = "usage_limit_reached"
    """The error `type` of the `"429"`/`"404"` shapes; `usage_not_included` is the plan that does
    not include Codex at all."""
    stream_limit_code: StreamLimitCode = "rate_limit_exceeded"
    """The `response.failed` code of the `"stream"` shape (its message says "try again in Ns")."""
    usage_limit_resets_in: int = 3600
    """Seconds until the usage limit resets, as the 429 body and the `x-codex-*` headers say."""
    primary_used_percent: float = 12.0
    """The 5-hour window's use, sent as `x-codex-primary-used-percent` on normal answers."""
    secondary_used_percent: float = 4.0
    """The weekly window's use, sent as `x-codex-secondary-used-percent` on normal answers."""
    rate_limit_headers: bool = True
    """Off: answers carry no `x-codex-*` rate-limit headers (as behind a proxy that strips them)."""
    credits_has_credits: bool = False
    """Sent as `x-codex-credits-has-credits`."""
    credits_unlimited: bool = False
    """Sent as `x-codex-credits-unlimited`."""
    credits_balance: str | None = None
    """Sent as `x-codex-credits-balance` when set (the real backend sends it only with credits)."""
    require_client_headers: bool = True
    """Reject calls without `OpenAI-Beta: responses=experimental` or an `originator` (400).

    Stricter than the real backend is known to be; it proves the app sends what the Codex CLI
    sends. Switch it off to test a client that omits them.
    """
    max_body: int = 16 * 1024 * 1024
    """Largest request body accepted (images travel inline as data URLs)."""
    strict_input: bool = True
    """Reject shorthand input messages (no `"type": "message"`, or `content` as a string) with
    a 400. Whether the real backend reads them is unconfirmed (reports say their text is
    dropped); the Codex CLI always sends typed items. Off: read them as the public API does."""
    final_output: bool = False
    """Off (as the real backend is reported to answer): the terminal event's `response.output`
    is `[]`, the items came earlier as `response.output_item.done`. On: it lists them."""
    omit_response_fields: tuple[str, ...] = ()
    """Fields left out of every event's `response` object (e.g. `("object", "created_at")`),
    as some of the backend's events are reported to omit them."""
