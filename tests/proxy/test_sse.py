"""The SSE decoder and encoders: frames split anywhere, every line ending, bounded events."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authai_embed.errors import UpstreamError
from authai_embed.proxy.translate.sse import (
    DONE,
    SSEDecoder,
    SSEEvent,
    encode_data,
    encode_event,
    iter_json_events,
    json_bytes,
    parse_json_event,
)

UPSTREAM = (
    b'event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\n'
    b": keep-alive\n\n"
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
    b'"delta":"H\xc3\xa9l","sequence_number":1}\n\n'
    b'event: response.completed\ndata: {"type":"response.completed","sequence_number":2}\n\n'
)


def decode_all(chunks: list[bytes], **kwargs: Any) -> list[SSEEvent]:
    decoder = SSEDecoder(**kwargs)
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.close()


def test_upstream_frames_decode_into_named_events() -> None:
    events = decode_all([UPSTREAM])
    assert [e.event for e in events] == [
        "response.created",
        "response.output_text.delta",
        "response.completed",
    ]
    assert json.loads(events[1].data)["delta"] == "Hél"


def test_a_frame_split_at_every_byte_decodes_the_same() -> None:
    whole = decode_all([UPSTREAM])
    assert decode_all([UPSTREAM[i : i + 1] for i in range(len(UPSTREAM))]) == whole


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_is_understood(newline: bytes) -> None:
    stream = UPSTREAM.replace(b"\n", newline)
    assert decode_all([stream]) == decode_all([UPSTREAM])


def test_a_chunk_ending_between_cr_and_lf_does_not_make_a_blank_line() -> None:
    events = decode_all([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])
    assert events == [SSEEvent("message", "a\nb")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert decode_all([b'data: {\ndata:  "a": 1\ndata: }\n\n']) == [
        SSEEvent("message", '{\n "a": 1\n}')
    ]


def test_comments_and_unknown_fields_are_ignored() -> None:
    stream = b": hello\nretry: 10\nfoo: bar\nevent: x\ndata: 1\n\n"
    assert decode_all([stream]) == [SSEEvent("x", "1")]


def test_an_event_without_data_is_not_dispatched_and_its_name_is_forgotten() -> None:
    assert decode_all([b"event: lonely\n\ndata: 2\n\n"]) == [SSEEvent("message", "2")]


def test_field_without_colon_and_without_space() -> None:
    assert decode_all([b"data\ndata:x\n\n"]) == [SSEEvent("message", "\nx")]


def test_only_one_space_after_the_colon_is_removed() -> None:
    assert decode_all([b"data:  two\n\n"]) == [SSEEvent("message", " two")]


def test_the_last_event_id_is_kept() -> None:
    events = decode_all([b"id: 7\ndata: a\n\ndata: b\n\n"])
    assert [e.id for e in events] == ["7", "7"]


def test_a_leading_bom_is_stripped_even_when_split() -> None:
    stream = b"\xef\xbb\xbfdata: a\n\n"
    assert decode_all([stream[:1], stream[1:2], stream[2:]]) == [SSEEvent("message", "a")]


def test_close_hands_over_a_final_event_without_its_blank_line() -> None:
    assert decode_all([b'data: {"type":"x"}\n']) == [SSEEvent("message", '{"type":"x"}')]
    assert decode_all([b'data: {"type":"x"}']) == [SSEEvent("message", '{"type":"x"}')]
    assert decode_all([b"data: a\ndata: b"]) == [SSEEvent("message", "a\nb")]
    assert decode_all([b"event: x\n: comment"]) == []


def test_a_stream_cut_mid_line_yields_a_malformed_event_not_a_silent_end() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'event: response.output_text.delta\ndata: {"type":"response.output_'

    async def collect() -> list[dict[str, Any]]:
        return [event async for event in iter_json_events(chunks())]

    with pytest.raises(UpstreamError) as caught:
        anyio.run(collect)
    assert (caught.value.status, caught.value.code) == (502, "malformed_stream")


def test_empty_chunks_change_nothing_even_between_cr_and_lf() -> None:
    events = decode_all([b"", b"data: a\r", b"", b"", b"\n", b"", b"data: b\r", b"", b"\n\r\n"])
    assert events == [SSEEvent("message", "a\nb")]


def test_an_endless_event_raises_instead_of_growing() -> None:
    decoder = SSEDecoder(max_event_bytes=1024)
    decoder.feed(b"data: ")
    for _ in range(10):  # 1006 bytes pending: still allowed
        decoder.feed(b"x" * 100)
    with pytest.raises(UpstreamError) as caught:
        decoder.feed(b"x" * 100)
    assert caught.value.code == "event_too_large"
    assert caught.value.status == 502


def test_an_event_of_many_data_lines_counts_towards_the_limit() -> None:
    decoder = SSEDecoder(max_event_bytes=1024)
    for _ in range(20):
        decoder.feed(b"data: " + b"y" * 50 + b"\n")
    with pytest.raises(UpstreamError):
        decoder.feed(b"data: " + b"y" * 50 + b"\n")


def test_many_small_events_never_trip_the_limit() -> None:
    decoder = SSEDecoder(max_event_bytes=64)
    events = decoder.feed(b"data: 0123456789\n\n" * 1000)
    assert len(events) == 1000


def test_keep_alive_comments_do_not_count_towards_the_limit() -> None:
    decoder = SSEDecoder(max_event_bytes=64)
    for _ in range(100):
        assert decoder.feed(b": ping\n") == []


def test_parse_json_event_fills_type_and_skips_done() -> None:
    assert parse_json_event(SSEEvent("response.created", '{"a":1}')) == {
        "a": 1,
        "type": "response.created",
    }
    assert parse_json_event(SSEEvent("message", "[DONE]")) is None
    assert parse_json_event(SSEEvent("message", "")) is None


@pytest.mark.parametrize(
    "data",
    [
        '{"delta":"\\ud83d","n":1e400,"m":NaN,"big":123456789012345678901234567890}',
        '{"delta":"\\u00e9\\u0000 x","a":1,"a":2,"f":0.1,"z":-0.0,"e":5e-324}',
        '  {"nested":{"list":[true,false,null,{"k":"v"}]}}  ',
    ],
)
def test_event_json_is_read_as_the_standard_library_reads_it(data: str) -> None:
    """A lone surrogate escape (a model's text cut inside an emoji), numbers out of a float's
    range, NaN, duplicate keys: what `json.loads` makes of them, whichever parser ran."""
    got = parse_json_event(SSEEvent("message", data))
    want = json.loads(data)
    assert repr(got) == repr(want)


@pytest.mark.parametrize("data", ['{"type":"x","delta":', "[1, 2]", "not json", '{"a":1} x'])
def test_a_malformed_event_is_an_upstream_error(data: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        parse_json_event(SSEEvent("response.output_text.delta", data))
    assert (caught.value.status, caught.value.code) == (502, "malformed_stream")


def test_iter_json_events_yields_objects_as_chunks_arrive() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(UPSTREAM), 7):
            yield UPSTREAM[i : i + 7]

    async def collect() -> list[dict[str, Any]]:
        return [event async for event in iter_json_events(chunks())]

    events = anyio.run(collect)
    assert [e["sequence_number"] for e in events] == [0, 1, 2]


def test_encode_data_frames_objects_text_and_bytes() -> None:
    assert encode_data({"a": "é", "b": [1, 2]}) == 'data: {"a":"é","b":[1,2]}\n\n'.encode()
    assert encode_data(b'{"a":1}') == b'data: {"a":1}\n\n'
    assert encode_data("[DONE]") == DONE


def test_encode_data_never_fails_on_lone_surrogates() -> None:
    frame = encode_data({"t": "\ud83d"})
    assert json.loads(decode_all([frame])[0].data) == {"t": "\ud83d"}


def test_encode_data_splits_text_with_line_breaks_over_data_lines() -> None:
    frame = encode_data('{\n"a": 1\n}')
    assert frame == b'data: {\ndata: "a": 1\ndata: }\n\n'
    assert decode_all([frame]) == [SSEEvent("message", '{\n"a": 1\n}')]


def test_encode_event_names_the_event() -> None:
    frame = encode_event("response.completed", {"type": "response.completed"})
    assert frame == b'event: response.completed\ndata: {"type":"response.completed"}\n\n'
    with pytest.raises(ValueError, match="line break"):
        encode_event("bad\nname", {})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
events_strategy = st.lists(
    st.tuples(
        st.text(alphabet=st.characters(blacklist_characters="\r\n", codec="utf-8"), min_size=1),
        st.dictionaries(st.text(), json_values, max_size=4),
    ),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(events=events_strategy, cuts=st.lists(st.integers(min_value=0), max_size=20), data=st.data())
def test_decoding_does_not_depend_on_where_the_stream_is_cut(
    events: list[tuple[str, dict[str, Any]]], cuts: list[int], data: st.DataObject
) -> None:
    newline = data.draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    stream = b"".join(encode_event(name, obj) for name, obj in events)
    stream = stream.replace(b"\n", newline)
    # repeated cut points give empty chunks on purpose
    bounds = sorted([0, len(stream), *(c % (len(stream) + 1) for c in cuts)])
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    decoded = decode_all(chunks)
    assert decoded == decode_all([stream])
    assert [(e.event, json.loads(e.data)) for e in decoded] == [
        (name, json.loads(json_bytes(obj))) for name, obj in events
    ]


sse_lines = st.one_of(
    st.builds(
        lambda t: b"data: " + t.encode(),
        st.text(alphabet=st.characters(blacklist_characters="\r\n", codec="utf-8")),
    ),
    st.builds(lambda t: b"data:" + t.encode(), st.text(alphabet="ab :", max_size=4)),
    st.builds(lambda t: b"event: " + t.encode(), st.text(alphabet="xyz.", max_size=5)),
    st.builds(lambda t: b": " + t.encode(), st.text(alphabet="ping ", max_size=5)),
    st.builds(lambda t: b"id: " + t.encode(), st.text(alphabet="0123", max_size=3)),
    st.just(b"retry: 10"),
    st.just(b"data"),
    st.just(b""),
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(sse_lines, max_size=16),
    newlines=st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=1, max_size=4),
    tail=st.booleans(),
    cuts=st.lists(st.integers(min_value=0), max_size=24),
)
def test_any_line_mix_decodes_the_same_however_it_is_cut(
    lines: list[bytes], newlines: list[bytes], tail: bool, cuts: list[int]
) -> None:
    """Comments, names, ids, multi-line data and mixed line endings: the cut never matters."""
    stream = b"".join(line + newlines[i % len(newlines)] for i, line in enumerate(lines))
    if tail:
        stream += b"data: trailing"  # a last line without its line break
    bounds = sorted([0, len(stream), *(c % (len(stream) + 1) for c in cuts)])
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert decode_all(chunks) == decode_all([stream])
    assert decode_all([stream[i : i + 1] for i in range(len(stream))]) == decode_all([stream])
