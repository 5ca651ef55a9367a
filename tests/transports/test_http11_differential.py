"""The response parser against h11, on generated and mutated responses, however the reads cut
them: both accept and agree (status, headers, body, where it ends), or both refuse, or it is one
of the few listed places where we refuse on purpose what h11 tolerates. Deterministic and bounded.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import h11
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authai_embed._transports.http11 import MAX_HEAD_BYTES, ProtocolError, ResponseParser

BOUNDED = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass(frozen=True, slots=True)
class Read:
    """What a parser made of a response: the final answer, and whether its body ended before
    the peer closed (False: it ended with the close)."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    ended: bool


REFUSED = "refused"
Outcome = Read | str


def read(status: int, headers: list[tuple[bytes, bytes]], body: bytes, ended: bool) -> Read:
    """A `Read`, with the value of Transfer-Encoding in lower case as h11 gives it."""
    fields = tuple((n, v.lower() if n == b"transfer-encoding" else v) for n, v in headers)
    return Read(status, fields, body, ended)


def ours(method: bytes, reads: list[bytes]) -> Outcome:
    parser = ResponseParser(method)
    body = b""
    try:
        for data in reads:
            body += parser.feed(data)
            if parser.done:
                break
        ended = parser.done
        if not ended:
            parser.eof()
    except ProtocolError:
        return REFUSED
    if parser.head is None:
        return REFUSED  # the transport's "closed the connection unanswered"
    return read(parser.head.status, parser.head.headers, body, ended)


def theirs(method: bytes, raw: bytes) -> Outcome:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "upstream.test")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(raw)
    response: h11.Response | None = None
    body, closed = b"", False
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                if closed:
                    return REFUSED
                conn.receive_data(b"")
                closed = True
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                return read(response.status_code, list(response.headers), body, not closed)
            elif not isinstance(event, h11.InformationalResponse):
                return REFUSED  # PAUSED (a protocol switch) or ConnectionClosed
    except h11.RemoteProtocolError:
        return REFUSED


_HEAD_END = re.compile(rb"\r?\n\r?\n")
_IN_A_HEAD_WE_REFUSE = [
    # Each a place where h11 reads on and we refuse (llhttp's strict mode, or our own rule).
    re.compile(rb"\n[ \t]"),  # a folded header line (obs-fold)
    re.compile(rb"[\x01-\x08\x0e-\x1f\x7f]"),  # a control character in a reason or a value
    re.compile(rb"(?i)\ncontent-length:[^\n]*,|\ncontent-length:.*\ncontent-length:", re.S),
    re.compile(
        rb"(?i)\ntransfer-encoding:.*\ncontent-length:|\ncontent-length:.*\ntransfer-en", re.S
    ),
    re.compile(rb"(?i)\ntransfer-encoding:[^\n]*\t"),  # `chunked<TAB>`: llhttp frames it otherwise
    re.compile(rb"(?:^|\n)HTTP/(?!1\.[01] )"),  # any version but 1.0 and 1.1
    re.compile(rb"(?:^|\n)HTTP/1\.0 1"),  # an informational answer in HTTP/1.0: llhttp closes
]
_AFTER_THE_HEAD_WE_REFUSE = [
    re.compile(rb"(?<!\r)\n"),  # a bare LF in a chunk line or a trailer line
    re.compile(rb"\n[ \t]"),  # a folded trailer line
    re.compile(rb"(?:^|\n)[0-9A-Fa-f]+[ \t]"),  # whitespace after a chunk size
    re.compile(rb"(?:^|\n)[0-9A-Fa-f]+;[!#$%&'*+\-.^_`|~0-9A-Za-z=\";]*(?!\r\n)"),  # odd ext
    re.compile(rb"(?:^|\n)[0-9A-Fa-f]+[^\r\n]*;(?![!#$%&'*+\-.^_`|~0-9A-Za-z])"),  # no ext name
    re.compile(rb"[\x01-\x08\x0e-\x1f\x7f]"),  # a control character in a trailer
]


def refused_on_purpose(raw: bytes) -> bool:
    """Whether `raw` holds one of the constructs we refuse where h11 does not. (Approximate
    after the head, where payload bytes can match too; exact in the heads.)"""
    heads_end = 0
    for end in _HEAD_END.finditer(raw):  # the informational heads and the final one
        heads_end = end.end()
        if not re.match(rb"HTTP/1\.1 1\d\d", raw[end.end() : end.end() + 12]):
            break
    heads = raw[:heads_end] if heads_end else raw
    if any(rule.search(heads) for rule in _IN_A_HEAD_WE_REFUSE):
        return True
    rest = raw[heads_end:]
    return bool(heads_end) and any(rule.search(rest) for rule in _AFTER_THE_HEAD_WE_REFUSE)


def accepted_on_purpose(raw: bytes) -> bool:
    """llhttp skips stray CR and LF between an informational answer and the next status line
    (h11 refuses them); no byte of any answer is read differently because of it."""
    return re.search(rb"\n\r?\n[\r\n]+HTTP/", raw) is not None


# -- generated responses --------------------------------------------------------------------

_TOKEN = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!#$%&'*+^`|~",
    min_size=1,
    max_size=12,
).map(str.encode)
_VALUE = st.binary(max_size=30).map(
    lambda b: bytes(c for c in b if c == 0x09 or 0x20 <= c <= 0x7E or c >= 0x80).strip(b" \t")
)
_OWS = st.sampled_from([b"", b" ", b"  ", b"\t", b" \t"])
_SPACES = st.sampled_from([b"", b" ", b"  "])


@st.composite
def extension(draw: st.DrawFn) -> bytes:
    if not draw(st.booleans()):
        return b""
    name = draw(_TOKEN)
    value = draw(st.sampled_from([b"", b"=" + draw(_TOKEN), b'="quoted value"']))
    return b";" + name + value


@st.composite
def response(draw: st.DrawFn) -> tuple[bytes, bytes, Read]:
    """A well-formed answer: (request method, bytes, what reading them must give)."""
    method = draw(st.sampled_from([b"GET", b"POST", b"HEAD"]))
    eol = st.sampled_from([b"\r\n", b"\r\n", b"\n"])  # a bare LF is fine in a head, not after
    raw = b""
    for status in draw(st.lists(st.sampled_from([100, 102, 103]), max_size=3)):
        raw += b"HTTP/1.1 %d Info" % status + draw(eol)
        if draw(st.booleans()):
            raw += b"link: </a>" + draw(eol)
        raw += draw(eol)
    status = draw(st.sampled_from([200, 201, 204, 301, 304, 404, 429, 500, 599, 999]))
    minor = draw(st.sampled_from([b"1", b"1", b"0"]))
    reason = draw(st.sampled_from([b" OK", b"", b" ", b" Too Many Requests", b" \xe9t\xe9\t!"]))
    raw += b"HTTP/1.%s %d%s" % (minor, status, reason) + draw(eol)
    headers = [(draw(_TOKEN), draw(_VALUE)) for _ in range(draw(st.integers(0, 4)))]
    headers = [
        (n, v) for n, v in headers if n.lower() not in (b"content-length", b"transfer-encoding")
    ]
    body = draw(st.binary(max_size=120))
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    if framing == "length":
        headers.append((b"Content-Length", b"0" * draw(st.integers(0, 2)) + b"%d" % len(body)))
    elif framing == "chunked":
        headers.append((b"Transfer-Encoding", draw(st.sampled_from([b"chunked", b"Chunked"]))))
    order = draw(st.permutations(range(len(headers))))
    for i in order:
        name, value = headers[i]
        # No tab after `chunked`: llhttp would read the body to the close, so we refuse it.
        after = draw(_OWS) if name.lower() != b"transfer-encoding" else draw(_SPACES)
        raw += name + b":" + draw(_OWS) + value + after + draw(eol)
    raw += draw(eol)
    no_body = method == b"HEAD" or status in (204, 304)
    if no_body:
        body = b""
    elif framing == "chunked":
        cuts = sorted(set(draw(st.lists(st.integers(1, max(len(body) - 1, 1)), max_size=4))))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        for piece in (p for p in pieces if p):
            size = b"%x" % len(piece)
            size = size.upper() if draw(st.booleans()) else size
            raw += b"0" * draw(st.integers(0, 2)) + size + draw(extension()) + b"\r\n"
            raw += piece + b"\r\n"
        raw += b"0" + draw(extension()) + b"\r\n"
        for _ in range(draw(st.integers(0, 2))):
            raw += draw(_TOKEN) + b":" + draw(_OWS) + draw(_VALUE) + b"\r\n"
        raw += b"\r\n"
    else:
        raw += body
    final = [(n.lower(), v) for n, v in (headers[i] for i in order)]
    return method, raw, read(status, final, body, no_body or framing != "close")


def splits(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({c % (len(raw) + 1) for c in cuts} | {0, len(raw)})
    return [raw[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@BOUNDED
@given(answer=response(), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_generated_answers_read_as_h11_reads_them_however_they_are_cut(
    answer: tuple[bytes, bytes, Read], cuts: list[int]
) -> None:
    method, raw, expected = answer
    assert ours(method, [raw]) == expected
    assert theirs(method, raw) == expected
    assert ours(method, splits(raw, cuts)) == expected


@settings(BOUNDED, max_examples=40)
@given(answer=response())
def test_every_single_cut_gives_the_same_result(answer: tuple[bytes, bytes, Read]) -> None:
    method, raw, expected = answer
    for cut in range(len(raw) + 1):
        assert ours(method, [raw[:cut], raw[cut:]]) == expected
    assert ours(method, [raw[i : i + 1] for i in range(len(raw))]) == expected


_INTERESTING = [
    b"\r",
    b"\n",
    b"\r\n",
    b" ",
    b"\t",
    b"\0",
    b"\x0b",
    b"\x0c",
    b"\x7f",
    b"\xff",
    b":",
    b";",
    b",",
    b"0",
    b"9",
    b"f",
    b"-",
    b"\r\n\r\n",
    b"chunked",
    b"HTTP/1.1 ",
]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, bytes]:
    method, raw, _ = draw(response())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(_INTERESTING) | st.binary(min_size=1, max_size=2))
        if op == "insert":
            raw = raw[:at] + piece + raw[at:]
        elif op == "delete":
            raw = raw[:at] + raw[at + draw(st.integers(1, 3)) :]
        else:
            raw = raw[:at] + piece + raw[at + len(piece) :]
    return method, raw


@settings(BOUNDED, max_examples=600)
@given(answer=mutated(), cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_mutated_answers_are_read_as_h11_reads_them_or_refused_on_purpose(
    answer: tuple[bytes, bytes], cuts: list[int]
) -> None:
    method, raw = answer
    got, reference = ours(method, [raw]), theirs(method, raw)
    assert ours(method, splits(raw, cuts)) == got  # however the reads cut it
    if got == reference:
        return
    if got == REFUSED:
        assert refused_on_purpose(raw), f"we refuse what h11 reads: {raw!r} -> {reference}"
    else:
        assert accepted_on_purpose(raw), f"we read what h11 does not: {raw!r} -> {got}"
