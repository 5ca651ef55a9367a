"""HTTP/1.1 framing of the upstream client, without I/O: heads in, bodies out, however cut."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authai_embed._transports.http11 import (
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    MAX_INFORMATIONAL,
    ProtocolError,
    ResponseHead,
    ResponseParser,
    encode_chunk,
    encode_request_head,
)


def head(status: int = 200, *headers: tuple[bytes, bytes], minor: int = 1) -> ResponseHead:
    return ResponseHead(status, b"OK", minor, list(headers))


def raw_head(status: int = 200, *headers: bytes) -> bytes:
    return b"HTTP/1.1 %d OK\r\n%s\r\n" % (status, b"".join(h + b"\r\n" for h in headers))


def after_head(*headers: bytes, status: int = 200, method: bytes = b"GET") -> ResponseParser:
    """A parser that has read a head with `headers` (raw lines) and nothing after it."""
    parser = ResponseParser(method)
    assert parser.feed(raw_head(status, *headers)) == b""
    assert parser.head is not None
    return parser


CHUNKED = b"transfer-encoding: chunked"


def test_a_head_is_parsed_with_the_bytes_that_follow_it() -> None:
    parser = ResponseParser(b"GET")
    body = parser.feed(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 12\r\nX-A:  b \r\n\r\nbody")
    got = parser.head
    assert got is not None
    assert (got.status, got.reason, got.http_minor) == (429, b"Too Many Requests", 1)
    assert got.headers == [(b"retry-after", b"12"), (b"x-a", b"b")]
    assert body == b"body"


def test_bare_line_feeds_and_a_missing_reason_are_accepted() -> None:
    parser = ResponseParser(b"GET")
    parser.feed(b"HTTP/1.0 204\nServer: x\n\n")
    assert parser.head is not None
    assert parser.head.status == 204
    assert parser.head.reason == b""
    assert not parser.head.keeps_alive  # HTTP/1.0
    assert parser.done


def test_an_incomplete_head_waits_for_more() -> None:
    parser = ResponseParser(b"GET")
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/") == b""
    waiting = parser.head
    assert waiting is None
    parser.feed(b"plain\r\n\r\n")
    head = parser.head
    assert head is not None
    assert head.headers == [(b"content-type", b"text/plain")]


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/2.0 200 OK\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n",
        b"\r\nHTTP/1.1 200 OK\r\n\r\n",  # llhttp would skip the empty line
    ],
)
def test_a_malformed_head_is_a_protocol_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseParser(b"GET").feed(raw)


@pytest.mark.parametrize(
    "raw",
    [
        # Leniencies of the hand-written parser, gone with llhttp (h11 refuses them too).
        b"HTTP/1.1 000 Zero\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",  # 000-099 were informational
        b"HTTP/1.1 099 Low\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n",  # control characters in a header value
        b"HTTP/1.1 200 OK\r\nX-A: a\x0bb\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n",  # an empty Transfer-Encoding
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n",  # VT/FF trimmed
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\x0c\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\x0b\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\x0c\r\n\r\nok",
        b"HTTP/1.1 200 O\x00K\r\n\r\n",  # a control character in the reason
        b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip\r\n\r\n",  # any head's coding
    ],
)
def test_what_the_old_parser_let_through_in_a_head_is_refused(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseParser(b"GET").feed(raw)


def test_a_head_over_the_limit_is_refused_even_while_incomplete() -> None:
    with pytest.raises(ProtocolError, match="too large"):
        ResponseParser(b"GET").feed(b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_HEAD_BYTES)


def test_a_head_at_the_limit_is_read_with_the_body_after_it() -> None:
    start = raw_head(200, b"content-length: 2", b"x: ")
    padded = raw_head(200, b"content-length: 2", b"x: " + b"a" * (MAX_HEAD_BYTES - len(start)))
    assert len(padded) == MAX_HEAD_BYTES
    parser = ResponseParser(b"GET")
    assert parser.feed(padded + b"ok") == b"ok"
    assert parser.done


def test_too_many_header_fields_are_refused() -> None:
    fields = [b"x-%d: 1" % n for n in range(MAX_HEADERS + 1)]
    with pytest.raises(ProtocolError, match="header fields"):
        ResponseParser(b"GET").feed(raw_head(200, *fields))


def test_informational_answers_are_bounded_in_number() -> None:
    final = raw_head(200, b"content-length: 0")
    allowed = ResponseParser(b"GET")
    allowed.feed(b"HTTP/1.1 100 Continue\r\n\r\n" * MAX_INFORMATIONAL + final)
    assert allowed.head is not None
    assert allowed.head.status == 200
    with pytest.raises(ProtocolError, match="informational"):
        ResponseParser(b"GET").feed(b"HTTP/1.1 100 Continue\r\n\r\n" * 800 + final)


def test_informational_answers_are_bounded_in_bytes() -> None:
    big = raw_head(103, b"link: </" + b"a" * (MAX_HEAD_BYTES // 3) + b">")
    parser = ResponseParser(b"GET")
    parser.feed(big + big)
    with pytest.raises(ProtocolError, match="too large"):  # each is under the limit, not all
        parser.feed(big + raw_head(200, b"content-length: 0"))


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
        # Names are checked one by one, however they are checked at once.
        [(b"Host", b"h"), (b"X:A", b"1")],
        [(b"Host", b"h"), (b"", b"1")],
        [(b"X\nA", b"1"), (b"Host", b"h")],
        [(b"Host", b"h"), (b"X-A", b"1"), (b"X-B", b"2\r")],
    ):
        with pytest.raises(ProtocolError, match="invalid header"):
            encode_request_head(b"GET", b"/", bad)
    # Any iterable of pairs, not only a list.
    pairs = iter([(b"Host", b"h")])
    assert encode_request_head(b"GET", b"/", pairs) == b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    assert encode_request_head(b"GET", b"/", []) == b"GET / HTTP/1.1\r\n\r\n"
    with pytest.raises(ProtocolError):
        encode_request_head(b"GET", b"/ HTTP/1.1\r\nX: y", [])
    with pytest.raises(ProtocolError):
        encode_request_head(b"G T", b"/", [])


@pytest.mark.parametrize("target", [b"/a b", b"/a\tb", b"/a\x0bb", b"/a\x7f", b" /"])
def test_whitespace_or_a_control_character_in_the_request_target_is_refused(
    target: bytes,
) -> None:
    with pytest.raises(ProtocolError):
        encode_request_head(b"GET", target, [(b"Host", b"h")])


def test_many_chunks_in_one_read_come_out_as_one_piece() -> None:
    events = [b'data: {"n":%d}\n\n' % n for n in range(20)]
    wire = b"".join(encode_chunk(e) for e in events) + encode_chunk(b"")
    parser = after_head(CHUNKED, method=b"POST")
    assert parser.feed(wire) == b"".join(events)
    assert parser.done
    assert not parser.excess


def test_chunk_extensions_and_trailers_are_skipped() -> None:
    parser = after_head(CHUNKED)
    out = parser.feed(b"5;name=value\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n")
    assert out == b"hello"
    assert parser.done


@pytest.mark.parametrize(
    "wire",
    [
        b"zz\r\nhello\r\n",  # not hex
        b"5\r\nhelloXX0\r\n\r\n",  # no CRLF after the data
        b"-5\r\nhello\r\n",
        b"1" * 5000,  # an endless size line
        # Leniencies of the hand-written parser, gone with llhttp:
        b"5\nhello\r\n0\r\n\r\n",  # a bare LF ends a chunk size line
        b"5\r\nhello\r\n0\n\r\n",  # ... or the last chunk's
        b"5\r\nhello\r\n0\r\nX-T: 1\n\r\n",  # ... or a trailer line
        b"5\r\nhello\r\n0\r\nnot a field\r\n\r\n",  # a trailer line that is no field
        b"5\r\nhello\r\n0\r\nX-T: a\x01b\r\n\r\n",
    ],
)
def test_broken_chunk_framing_is_a_protocol_error(wire: bytes) -> None:
    parser = after_head(CHUNKED)
    with pytest.raises(ProtocolError):
        parser.feed(wire)


def test_endless_chunk_framing_without_payload_is_refused() -> None:
    parser = after_head(CHUNKED)
    for _ in range(15):
        parser.feed(b"5;" + b"x" * 4094)
    with pytest.raises(ProtocolError, match="too large"):
        parser.feed(b"x" * 8192)


def test_a_body_cut_short_is_an_error_but_a_close_delimited_one_is_not() -> None:
    chunked = after_head(CHUNKED)
    chunked.feed(b"5\r\nhel")
    with pytest.raises(ProtocolError, match="before the body was complete"):
        chunked.eof()
    sized = after_head(b"content-length: 10")
    assert sized.feed(b"12345") == b"12345"
    with pytest.raises(ProtocolError):
        sized.eof()
    delimited = after_head()
    assert delimited.close_delimited
    assert delimited.feed(b"anything") == b"anything"
    delimited.eof()
    assert delimited.done


def test_content_length_stops_at_the_length_and_notes_the_excess() -> None:
    parser = after_head(b"content-length: 3")
    assert parser.feed(b"abcHTTP/1.1") == b"abc"
    assert parser.done
    assert parser.excess


def test_bytes_after_the_response_in_a_later_read_are_excess() -> None:
    parser = after_head(b"content-length: 3")
    assert parser.feed(b"abc") == b"abc"
    assert not parser.excess
    assert parser.feed(b"\r\n") == b""
    assert parser.excess


@pytest.mark.parametrize(
    "headers",
    [
        [b"transfer-encoding: gzip, chunked"],
        [b"transfer-encoding: identity"],
        [b"transfer-encoding: chunked\t"],  # llhttp would read this body to the close
        [b"transfer-encoding: chunked", b"transfer-encoding: chunked"],
        [b"transfer-encoding: chunked", b"content-length: 3"],
        [b"content-length: 3", b"content-length: 4"],
        [b"content-length: -1"],
        [b"content-length: 0x10"],
    ],
)
def test_framing_it_cannot_trust_is_refused(headers: list[bytes]) -> None:
    with pytest.raises(ProtocolError):
        ResponseParser(b"GET").feed(raw_head(200, *headers) + b"0\r\n\r\n")


@pytest.mark.parametrize(("status", "method"), [(204, b"GET"), (304, b"GET"), (200, b"HEAD")])
def test_answers_without_a_body(status: int, method: bytes) -> None:
    parser = after_head(b"content-length: 10", status=status, method=method)
    assert parser.done
    assert not parser.excess


def test_a_body_after_the_head_of_a_head_answer_is_excess() -> None:
    parser = ResponseParser(b"HEAD")
    assert parser.feed(raw_head(200, b"content-length: 3") + b"abc") == b""
    assert parser.done
    assert parser.excess


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
    parser = after_head(CHUNKED, method=b"POST")
    out = b"".join(parser.feed(wire[a:b]) for a, b in itertools.pairwise(bounds))
    assert out == b"".join(pieces)
    assert parser.done
    assert not parser.excess
