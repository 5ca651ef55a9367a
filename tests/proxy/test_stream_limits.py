"""The hold-back of a stream's opening (`proxy/stream_limits`), the reading of limit waits, the
`x-codex-*` snapshot parser, and a stream folded into one answer (`relay.aggregated`), on their
own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from authai_embed.errors import UpstreamError
from authai_embed.providers._upstream import usage_wait
from authai_embed.providers.openai.limits import LimitWindow, UsageSnapshot, UsageSnapshots
from authai_embed.proxy import relay, stream_limits
from authai_embed.proxy.stream_limits import HOLD_BYTES, HOLD_EVENTS, _events, hold_start
from authai_embed.proxy.translate.response_aggregate import ResponseAggregator
from authai_embed.proxy.translate.sse import SSEDecoder, SSEEvent, parse_json_event

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0


def frame(kind: str, **fields: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n".encode()


def failed(code: str, message: str = "Slow down. Please try again in 3s.") -> bytes:
    return frame("response.failed", response={"error": {"code": code, "message": message}})


async def chunks(*pieces: bytes, broken: bool = False) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece
    if broken:
        raise httpx.ReadError("cut")


async def drain(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in stream])


OPENING = frame("response.created") + frame("response.in_progress")


async def test_a_limit_among_the_opening_events_raises_its_429() -> None:
    with pytest.raises(UpstreamError) as caught:
        await hold_start(chunks(OPENING, failed("rate_limit_exceeded")), NOW)
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (
        429,
        "rate_limit_exceeded",
        3,
    )


async def test_unnamed_events_are_read_for_their_type() -> None:
    unnamed = b"".join(b"data: " + piece.split(b"data: ", 1)[1] for piece in (OPENING,))
    limit = b"data: " + failed("usage_limit_reached").split(b"data: ", 1)[1]
    with pytest.raises(UpstreamError) as caught:
        await hold_start(chunks(unnamed, limit), NOW)
    assert (caught.value.status, caught.value.code) == (429, "usage_limit_reached")


async def test_a_good_opening_is_held_by_its_event_names_without_a_json_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[SSEEvent] = []
    parse = parse_json_event

    def counting(event: SSEEvent) -> dict[str, Any] | None:
        parsed.append(event)
        return parse(event)

    monkeypatch.setattr(stream_limits, "parse_json_event", counting)
    delta = frame("response.output_text.delta", delta="Hi")
    stream = await hold_start(chunks(OPENING, delta), NOW)
    assert await drain(stream) == OPENING + delta
    assert parsed == []  # the relay parses every event once; the hold adds no second parse
    with pytest.raises(UpstreamError):  # a failure's data is still read
        await hold_start(chunks(OPENING, failed("rate_limit_exceeded")), NOW)
    assert [event.event for event in parsed] == ["response.failed"]


async def test_the_first_output_event_ends_the_hold() -> None:
    delta = frame("response.output_text.delta", delta="Hi")
    late = failed("rate_limit_exceeded")
    stream = await hold_start(chunks(OPENING, delta, late), NOW)
    assert await drain(stream) == OPENING + delta + late


async def test_the_hold_is_bounded_in_events_and_bytes() -> None:
    many = frame("response.in_progress") * (HOLD_EVENTS + 1)
    stream = await hold_start(chunks(many, failed("rate_limit_exceeded")), NOW)
    assert (await drain(stream)).startswith(many)
    big = frame("response.created", response={"instructions": "x" * HOLD_BYTES})
    stream = await hold_start(chunks(big, failed("rate_limit_exceeded")), NOW)
    assert (await drain(stream)).startswith(big)


async def test_other_failures_and_broken_streams_are_left_to_the_relay() -> None:
    other = OPENING + failed("server_error")
    assert await drain(await hold_start(chunks(other), NOW)) == other
    malformed = b"event: response.created\ndata: {nope\n\n"
    assert await drain(await hold_start(chunks(malformed), NOW)) == malformed
    stream = await hold_start(chunks(OPENING, broken=True), NOW)
    assert await anext(stream) == OPENING
    with pytest.raises(httpx.ReadError):
        await anext(stream)


def test_limit_waits_come_from_the_body_then_the_message_then_the_header() -> None:
    assert usage_wait({"resets_in_seconds": 90, "resets_at": NOW + 10}, NOW) == 90
    assert usage_wait({"resets_at": NOW + 10.2}, NOW) == 11
    assert usage_wait({"message": "Please try again in 250ms."}, NOW) == 1
    assert usage_wait({"resets_at": NOW - 5, "resets_in_seconds": True}, NOW, 7) == 7
    assert usage_wait({"resets_in_seconds": float("inf")}, NOW) == 60
    assert usage_wait({"resets_in_seconds": 10**12}, NOW) == 31 * 86400


def test_the_snapshot_reads_headers_leniently() -> None:
    headers = httpx.Headers(
        {
            "X-Codex-Primary-Used-Percent": "12.5",
            "x-codex-primary-reset-after-seconds": "60",
            "x-codex-primary-window-minutes": "soon",
            "x-codex-secondary-used-percent": "nan",
            "x-codex-credits-has-credits": "maybe",
        }
    )
    snapshot = UsageSnapshot.from_headers(headers, NOW)
    assert snapshot is not None
    assert snapshot.primary == LimitWindow(12.5, None, int(NOW) + 60)
    assert (snapshot.secondary, snapshot.credits, snapshot.plan_type) == (None, None, None)
    assert UsageSnapshot.from_headers(httpx.Headers({"x-codex-other": "1"}), NOW) is None


def test_snapshots_are_bounded_least_recently_seen_first() -> None:
    snapshots = UsageSnapshots(limit=2)
    one = UsageSnapshot(None, None, None, None, None, NOW)
    for account in ("a", "b", "a", "c"):
        snapshots.put(account, one)
    assert len(snapshots) == 2
    assert snapshots.get("b") is None
    assert snapshots.get("a") is one


def test_an_answers_headers_become_a_snapshot_when_asked_for_and_useless_ones_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`put_headers` keeps the headers; the snapshot is made by the first `get`, equal to the
    one made at once, and only once. Headers that make no snapshot leave the previous one."""
    made: list[float] = []
    make = UsageSnapshot.from_headers

    def counted(codex: Any, now: float, *, plan_type: str | None = None) -> Any:
        made.append(now)
        return make(codex, now, plan_type=plan_type)

    codex = {
        "x-codex-primary-used-percent": "42.5",
        "x-codex-primary-window-minutes": "300",
        "x-codex-primary-reset-after-seconds": "60",
        "x-codex-credits-has-credits": "true",
        "x-codex-credits-unlimited": "false",
    }
    want = UsageSnapshot.from_headers(codex, NOW, plan_type="plus")
    monkeypatch.setattr(UsageSnapshot, "from_headers", counted)
    snapshots = UsageSnapshots()
    assert snapshots.put_headers("a", codex, NOW, "plus")
    assert made == []
    assert snapshots.get("a") == want
    assert snapshots.get("a") == want
    assert made == [NOW]
    useless = {"x-codex-primary-used-percent": "lots", "x-codex-credits-has-credits": "true"}
    assert not snapshots.put_headers("a", useless, NOW + 1, "plus")
    assert snapshots.get("a") == want
    assert not snapshots.put_headers("b", useless, NOW + 1, None)
    assert snapshots.get("b") is None


class _Upstream(httpx.AsyncByteStream):
    """An answer's body: `frames`, then (unless `ends`) a wait that never ends."""

    def __init__(self, frames: list[bytes], *, ends: bool = False) -> None:
        self.frames, self.ends, self.closed = frames, ends, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.frames:
            yield chunk
        if not self.ends:
            await anyio.sleep_forever()

    async def aclose(self) -> None:
        self.closed = True


def completed(text: str) -> bytes:
    return frame(
        "response.completed",
        response={"id": "resp_1", "status": "completed", "output": [], "usage": None},
    ) + frame("response.output_text.delta", delta=text)


async def test_a_folded_answer_stops_at_its_terminal_event_and_closes_the_call() -> None:
    body = _Upstream([frame("response.created", response={}), completed("late")])
    upstream = httpx.Response(200, stream=body)
    fold = ResponseAggregator()
    with anyio.fail_after(5):
        answer = await relay.aggregated(upstream, fold, now=NOW)
    assert (answer["id"], body.closed) == ("resp_1", True)


async def test_a_folded_answer_failing_with_a_limit_is_its_429() -> None:
    body = _Upstream([frame("response.created", response={}), failed("rate_limit_exceeded")])
    with pytest.raises(UpstreamError) as caught:
        await relay.aggregated(httpx.Response(200, stream=body), ResponseAggregator(), now=NOW)
    assert (caught.value.status, caught.value.code, body.closed) == (
        429,
        "rate_limit_exceeded",
        True,
    )


async def test_a_folded_answer_cut_short_is_an_error() -> None:
    body = _Upstream([frame("response.created", response={})], ends=True)
    with pytest.raises(UpstreamError) as caught:
        await relay.aggregated(httpx.Response(200, stream=body), ResponseAggregator(), now=NOW)
    assert caught.value.status == 502


class _CountingDecoder(SSEDecoder):
    """Counts the bytes it is fed."""

    fed = 0

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self.fed += len(chunk)
        return super().feed(chunk)


@pytest.mark.parametrize(
    "chunk",
    [
        b'event: a\ndata: {}\n\nevent: b\ndata: {}\n\ndata: {"c":1}\n\ndata: {"d"',
        b"event: a\r\ndata: {}\r\n\r\nevent: b\r\ndata: {}\r\n\r\n",
        b"data: {}\n\n\n\ndata: x\n",
    ],
)
def test_holding_decodes_a_chunk_as_the_decoder_does_but_only_as_far_as_it_reads(
    chunk: bytes,
) -> None:
    """The hold's events are the decoder's for the whole chunk, and reading only the first one
    leaves the rest of a chunk with plain `\\n` breaks undecoded (the relay decodes it)."""
    assert list(_events(SSEDecoder(), chunk)) == SSEDecoder().feed(chunk)
    lazy = _CountingDecoder()
    first = next(_events(lazy, chunk))
    assert first == SSEDecoder().feed(chunk)[0]
    if b"\r" not in chunk:
        assert lazy.fed == chunk.index(b"\n\n") + 2
