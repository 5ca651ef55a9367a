"""HTTP/1.1 framing of the upstream client, without I/O: heads in, bodies out, however cut."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authai_embed._transports.http11 import (
    MAX_HEAD_BYTES,
    BodyDecoder,
    ProtocolError,
    ResponseHead,
    encode_chunk,
    encode_request_head,
    parse_response_head,
)


def head(status: int = 200, *headers: tuple[bytes, bytes], minor: int = 1) -> ResponseHead:
    return ResponseHead(status, b"OK", minor, list(headers))


CHUNKED = (b"transfer-encoding", b"chunked")


def test_a_head_is_parsed_with_the_bytes_that_follow_it() -> None:
    parsed = parse_response_head(
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 12\r\nX-A:  b \r\n\r\nbody"
    )
    assert parsed is not None
    got, rest = parsed
    assert (got.status, got.reason, got.http_minor) == (429, b"Too Many Requests", 1)
    assert got.headers == [(b"retry-after", b"12"), (b"x-a", b"b")]
    assert rest == b"body"


def test_bare_line_feeds_and_a_missing_reason_are_accepted() -> None:
    parsed = parse_response_head(b"HTTP/1.0 204\nServer: x\n\n")
    assert parsed is not None
    assert parsed[0].status == 204
    assert parsed[0].reason == b""
    assert not parsed[0].keeps_alive  # HTTP/1.0


def test_an_incomplete_head_waits_for_more() -> None:
    assert parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Type: text/") is None


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
    ],
)
def test_a_malformed_head_is_a_protocol_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_response_head(raw)


def test_a_head_over_the_limit_is_refused_even_while_incomplete() -> None:
    with pytest.raises(ProtocolError, match="too large"):
        parse_response_head(b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_HEAD_BYTES)


def test_connection_close_ends_keep_alive() -> None:
    assert head(200).keeps_alive
    assert not head(200, (b"connection", b"keep-alive, Close")).keeps_alive


def test_the_request_head_is_one_block_and_refuses_injection() -> None:
    raw = encode_request_head(b"POST", b"/v1/x?a=1", [(b"Host", b"h"), (b"X-A", b"1")])
    assert raw == b"POST /v1/x?a=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n"
    for bad in (
        [(b"X-A", b"1\r\nX-Injected: yes")],
        [(b"X-A", b"1\nX")],
        [(b"X A", b"1")],
        [(b"X-A", b"\0")],
    ):
        with pytest.raises(ProtocolError):
            encode_request_head(b"GET", b"/", bad)
    with pytest.raises(ProtocolError):
        encode_request_head(b"GET", b"/ HTTP/1.1\r\nX: y", [])
    with pytest.raises(ProtocolError):
        encode_request_head(b"G T", b"/", [])


def test_many_chunks_in_one_read_come_out_as_one_piece() -> None:
    events = [b'data: {"n":%d}\n\n' % n for n in range(20)]
    wire = b"".join(encode_chunk(e) for e in events) + encode_chunk(b"")
    decoder = BodyDecoder(head(200, CHUNKED), method=b"POST")
    assert decoder.feed(wire) == b"".join(events)
    assert decoder.done
    assert decoder.excess == b""


def test_chunk_extensions_and_trailers_are_skipped() -> None:
    decoder = BodyDecoder(head(200, CHUNKED), method=b"GET")
    out = decoder.feed(b"5;name=value\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n")
    assert out == b"hello"
    assert decoder.done


@pytest.mark.parametrize(
    "wire",
    [
        b"zz\r\nhello\r\n",  # not hex
        b"5\r\nhelloXX0\r\n\r\n",  # no CRLF after the data
        b"-5\r\nhello\r\n",
        b"1" * 5000,  # an endless size line
    ],
)
def test_broken_chunk_framing_is_a_protocol_error(wire: bytes) -> None:
    decoder = BodyDecoder(head(200, CHUNKED), method=b"GET")
    with pytest.raises(ProtocolError):
        decoder.feed(wire)


def test_a_body_cut_short_is_an_error_but_a_close_delimited_one_is_not() -> None:
    chunked = BodyDecoder(head(200, CHUNKED), method=b"GET")
    chunked.feed(b"5\r\nhel")
    with pytest.raises(ProtocolError, match="before the body was complete"):
        chunked.eof()
    sized = BodyDecoder(head(200, (b"content-length", b"10")), method=b"GET")
    assert sized.feed(b"12345") == b"12345"
    with pytest.raises(ProtocolError):
        sized.eof()
    delimited = BodyDecoder(head(200), method=b"GET")
    assert delimited.close_delimited
    assert delimited.feed(b"anything") == b"anything"
    delimited.eof()
    assert delimited.done


def test_content_length_stops_at_the_length_and_keeps_the_excess() -> None:
    decoder = BodyDecoder(head(200, (b"content-length", b"3")), method=b"GET")
    assert decoder.feed(b"abcHTTP/1.1") == b"abc"
    assert decoder.done
    assert decoder.excess == b"HTTP/1.1"


@pytest.mark.parametrize(
    "headers",
    [
        [(b"transfer-encoding", b"gzip, chunked")],
        [(b"transfer-encoding", b"identity")],
        [(b"content-length", b"3"), (b"content-length", b"4")],
        [(b"content-length", b"-1")],
        [(b"content-length", b"0x10")],
    ],
)
def test_framing_it_cannot_trust_is_refused(headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(ProtocolError):
        BodyDecoder(head(200, *headers), method=b"GET")


@pytest.mark.parametrize(("status", "method"), [(204, b"GET"), (304, b"GET"), (200, b"HEAD")])
def test_answers_without_a_body(status: int, method: bytes) -> None:
    decoder = BodyDecoder(head(status, (b"content-length", b"10")), method=method)
    assert decoder.done


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(st.binary(min_size=1, max_size=40), min_size=0, max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=20),
    trailer=st.booleans(),
)
def test_a_chunked_body_decodes_the_same_however_the_reads_cut_it(
    pieces: list[bytes], cuts: list[int], trailer: bool
) -> None:
    wire = b"".join(encode_chunk(p) for p in pieces) + b"0\r\n"
    wire += b"X-T: 1\r\n\r\n" if trailer else b"\r\n"
    bounds = sorted({c for c in cuts if c < len(wire)} | {0, len(wire)})
    decoder = BodyDecoder(head(200, CHUNKED), method=b"POST")
    out = b"".join(decoder.feed(wire[a:b]) for a, b in itertools.pairwise(bounds))
    assert out == b"".join(pieces)
    assert decoder.done
    assert decoder.excess == b""
