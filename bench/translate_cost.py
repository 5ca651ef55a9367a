"""Measurement 2b: the per-event cost of the streaming translation on one core.

A real upstream stream is captured once from the emulator (one chunk per SSE event, as it
arrives from the network or the in-process transport), then replayed through the decoder and the
Chat Completions translator many times. The baseline is what any client of the raw stream pays:
the SSE decoder and `json.loads` of each event, without translation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from authai_embed.proxy.translate.responses_to_chat import ChatStreamTranslator
from authai_embed.proxy.translate.sse import SSEDecoder, parse_json_event

from .rig import RESPONSES, InProcessRig, chat_body

__all__ = ["TranslationCost", "capture_stream", "measure_translation"]


@dataclass(frozen=True, slots=True)
class TranslationCost:
    """µs per upstream event: decoding + translating (ours) vs decoding alone (baseline)."""

    events: int
    ours_us: float
    decode_us: float

    @property
    def events_per_second(self) -> float:
        return 1e6 / self.ours_us


async def capture_stream(rig: InProcessRig, text_chars: int) -> list[bytes]:
    """The raw chunks of one upstream answer of about `text_chars` characters of text."""
    body = chat_body(stream=True)
    headers, payload = await rig.direct_request(body)
    rig.emulator.codex.script(text=("Benchmarks measure, they do not guess. " * 50)[:text_chars])
    chunks: list[bytes] = []
    async with rig.direct.stream("POST", RESPONSES, headers=headers, content=payload) as r:
        chunks.extend([chunk async for chunk in r.aiter_raw()])
    return chunks


def _translate(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    translator = ChatStreamTranslator(
        "gpt-5.4",
        include_usage=True,
        include_reasoning=False,
        completion_id="chatcmpl-bench",
        created=1_800_000_000,
    )
    frames = 0
    for chunk in chunks:
        for event in decoder.feed(chunk):
            obj = parse_json_event(event)
            if obj is not None:
                frames += len(translator.feed(obj))
    frames += len(translator.finish())
    return frames


def _decode(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    events = 0
    for chunk in chunks:
        for event in decoder.feed(chunk):
            if parse_json_event(event) is not None:
                events += 1
    return events


def _best_us_per_event(
    run: Callable[[list[bytes]], int], chunks: list[bytes], events: int, rounds: int
) -> float:
    """The best of 5 batches of this thread's CPU time (the least disturbed by other
    processes), µs per event."""
    best = float("inf")
    for _ in range(5):
        start = time.thread_time()
        for _ in range(rounds):
            run(chunks)
        best = min(best, (time.thread_time() - start) / (rounds * events))
    return best * 1e6


def measure_translation(chunks: list[bytes], rounds: int) -> TranslationCost:
    """Decode + translate `chunks` `rounds` times per batch; µs per event."""
    events = _decode(chunks)
    if events == 0 or _translate(chunks) == 0:
        raise RuntimeError("the captured stream has no events")
    return TranslationCost(
        events=events,
        ours_us=_best_us_per_event(_translate, chunks, events, rounds),
        decode_us=_best_us_per_event(_decode, chunks, events, rounds),
    )
