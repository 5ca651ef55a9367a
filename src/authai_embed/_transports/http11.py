"""HTTP/1.1 for the upstream client, without I/O: the request head we write, and the response we
read with llhttp (`httptools`, the parser uvicorn uses) under our own limits (RFC 9112).

A read's body bytes come out joined: a read holding twenty chunks (one SSE event each) gives one
`bytes`, which lets the proxy translate and write a burst at once. A response it cannot frame
without guessing is a `ProtocolError`, never a silently shortened body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import httptools

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_INFORMATIONAL",
    "ProtocolError",
    "ResponseHead",
    "ResponseParser",
    "encode_chunk",
    "encode_request_head",
]

MAX_HEAD_BYTES: Final = 64 * 1024
"""The status lines and header blocks of one answer (its informational ones included) larger
than this together are refused, while still incomplete."""

MAX_INFORMATIONAL: Final = 16
"""More informational (1xx) answers than this before the final one are refused."""

MAX_HEADERS: Final = 256
"""More header fields than this in one head are refused."""

_MAX_FRAMING_RUN: Final = 64 * 1024
"""Chunk size lines, extensions and trailers: this many bytes in a row without payload are
refused (llhttp keeps no such bound, and httptools joins a field split across reads)."""

_TCHAR: Final = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"  # RFC 9110 §5.6.2
_TOKEN: Final = re.compile(_TCHAR + rb"+")
_TOKENS: Final = re.compile(rb"(?:%s+(?:\n%s+)*)?" % (_TCHAR, _TCHAR))
"""Tokens joined by LF, or nothing."""
_FORBIDDEN_IN_HEADERS: Final = re.compile(rb"[\r\n\0]")
_FORBIDDEN_IN_TARGET: Final = re.compile(rb"[\x00-\x20\x7f]")
_REASON: Final = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")  # RFC 9112 §4; llhttp allows controls


class ProtocolError(Exception):
    """The peer broke HTTP/1.1 framing (or we were asked to send something that would)."""


class _Excess(Exception):
    """Raised inside the parser's callbacks to stop at bytes that follow the response."""


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """A parsed status line and header block (names in lower case)."""

    status: int
    reason: bytes
    http_minor: int
    headers: list[tuple[bytes, bytes]]

    def values(self, name: bytes) -> list[bytes]:
        """The values of header `name` (lower case), in order."""
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def keeps_alive(self) -> bool:
        """Whether the connection may carry another request once this answer is read."""
        tokens = {t.strip().lower() for v in self.values(b"connection") for t in v.split(b",")}
        return self.http_minor == 1 and b"close" not in tokens


def encode_request_head(
    method: bytes, target: bytes, headers: Iterable[tuple[bytes, bytes]]
) -> bytes:
    """The request line and headers, ending with the blank line. A CR, LF or NUL in any part
    (a header injection), or whitespace in the target, raises `ProtocolError` instead of being
    sent."""
    if not _TOKEN.fullmatch(method) or not target or _FORBIDDEN_IN_TARGET.search(target):
        raise ProtocolError("invalid request line")
    pairs = headers if isinstance(headers, list) else list(headers)
    fields = [name + b": " + value for name, value in pairs]
    # A few scans of the whole block, not two regular expressions per field (a model call
    # has a dozen, one of them a long token): `in` is a memchr. With no CR, LF or NUL in any
    # field, the names joined by LF are tokens exactly when each one is.
    block = b"".join(fields)
    if (
        b"\r" in block
        or b"\n" in block
        or b"\0" in block
        or not _TOKENS.fullmatch(b"\n".join([name for name, _ in pairs]))
    ):
        for name, value in pairs:
            if not _TOKEN.fullmatch(name) or _FORBIDDEN_IN_HEADERS.search(value):
                raise ProtocolError(f"invalid header {name[:40]!r}")
    return b"\r\n".join([method + b" " + target + b" HTTP/1.1", *fields, b"\r\n"])


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked request body (empty `data` is the last chunk)."""
    if not data:
        return b"0\r\n\r\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


class ResponseParser:
    """One response to a `method` request, read by read; informational answers are skipped.

    `feed(data)` returns the body bytes `data` completes, joined (possibly empty). `head` is set
    once the final head is in, `done` once the body is complete; `excess` then says bytes came
    after it (a server that sends them is not trusted with another request). `eof()` is called
    when the peer closes: it raises `ProtocolError` unless the body was delimited by the close.
    Every refusal is a `ProtocolError`.
    """

    __slots__ = (
        "_error",
        "_framing_run",
        "_has_length",
        "_head_bytes",
        "_headers",
        "_informational",
        "_no_body",
        "_parser",
        "_pieces",
        "_reason",
        "_transfer_encodings",
        "close_delimited",
        "done",
        "excess",
        "head",
        "on_body",
    )

    def __init__(self, method: bytes) -> None:
        self.head: ResponseHead | None = None
        self.done = False
        self.excess = False
        self.close_delimited = False
        self._no_body = method == b"HEAD"
        self._headers: list[tuple[bytes, bytes]] = []
        self._reason = b""
        self._transfer_encodings: list[bytes] = []
        self._has_length = False
        self._informational = 0
        self._head_bytes = 0
        self._framing_run = 0
        self._error: ProtocolError | None = None
        self._pieces: list[bytes] = []
        # The body's pieces go straight into a list: one C call per chunk, no Python frame.
        self.on_body = self._pieces.append
        self._parser = httptools.HttpResponseParser(self)

    # -- feeding ----------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """The body bytes in `data`, joined; raises `ProtocolError` on broken framing."""
        if self.done:
            self.excess = self.excess or bool(data)
            return b""
        if self.head is None:
            self._feed_head(data)
        else:
            self._execute(data)
            if not self._pieces and not self.done:
                self._framing_run += len(data)
                if self._framing_run > _MAX_FRAMING_RUN:
                    raise ProtocolError("chunk framing or trailer too large")
                return b""
            self._framing_run = 0
        pieces = self._pieces
        if not pieces:
            return b""
        if self._no_body:  # bytes after the head of a response to HEAD: not part of it
            pieces.clear()
            self.excess = True
            return b""
        payload = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        pieces.clear()
        return payload

    def drop_headers(self) -> None:
        """Let go of the final head's header fields (once they have been handed over): a
        stream held open for minutes need not keep a second copy of them."""
        head = self.head
        if head is not None and head.headers:
            self.head = ResponseHead(head.status, head.reason, head.http_minor, [])
        self._headers = []

    def dispose(self) -> None:
        """Let the llhttp parser go once the response is over (read to its end, or given up).
        It holds this object's bound callbacks and this object holds it: a cycle that only
        the garbage collector would free, once per upstream request. No feeding after this."""
        if hasattr(self, "_parser"):
            del self._parser

    def eof(self) -> None:
        """The peer closed the connection; raises `ProtocolError` if the body is incomplete."""
        if not self.done and not self.close_delimited:
            raise ProtocolError("the server closed the connection before the body was complete")
        self.done = True

    def _feed_head(self, data: bytes) -> None:
        if not self._head_bytes and data[:1] in (b"\r", b"\n"):  # llhttp would skip them
            raise ProtocolError("malformed status line")
        room = MAX_HEAD_BYTES - self._head_bytes
        # Only what fits the head budget goes in until the head has ended: nothing past the
        # bound is ever parsed (or buffered by httptools) as part of a head.
        self._execute(data[:room] if len(data) > room else data)
        self._head_bytes += min(len(data), room)
        if self.head is None:
            if self._head_bytes >= MAX_HEAD_BYTES:
                raise ProtocolError("the response head is too large")
        elif len(data) > room:
            if self.done:
                self.excess = True
            else:
                self._execute(data[room:])

    def _execute(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            if self._error is None and self.done:
                self.excess = True  # the response was complete; what failed came after it
                return
            self._pieces.clear()
            if self._error is not None:
                raise self._error from None
            # llhttp's reasons are fixed phrases: no received bytes in them
            raise ProtocolError(f"malformed response: {exc}") from None

    def _refuse(self, message: str) -> ProtocolError:
        self._error = ProtocolError(message)
        return self._error

    # -- llhttp's callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.head is not None:  # a second response nobody asked for
            raise _Excess
        self._headers = []
        self._reason = b""
        self._transfer_encodings = []
        self._has_length = False
        # A bare LF ends a head's lines (RFC 9112 §2.2, as h11 reads them); chunk lines and
        # trailers need CRLF (the leniency is switched off again when the head ends).
        self._parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True)

    def on_status(self, reason: bytes) -> None:
        self._reason += reason  # may come in pieces when the status line is split across reads

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.head is not None:  # a trailer field: llhttp checked its syntax; not used
            return
        name = name.lower()
        if name == b"transfer-encoding":
            self._transfer_encodings.append(value)
        elif name == b"content-length":
            self._has_length = True
        headers = self._headers
        headers.append((name, value.rstrip(b" \t")))  # llhttp strips the leading whitespace
        if len(headers) > MAX_HEADERS:
            raise self._refuse("too many header fields")

    def on_headers_complete(self) -> None:
        parser = self._parser
        parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=False)
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise self._refuse("unsupported HTTP version")
        status = parser.get_status_code()
        codings = self._transfer_encodings
        # Exactly `chunked`, in any head: llhttp reads `chunked<TAB>` (or `gzip, chunked`) its
        # own way, and a body framed differently by us and by it must never be guessed at.
        if codings and (len(codings) != 1 or codings[0].rstrip(b" ").lower() != b"chunked"):
            raise self._refuse("unsupported transfer-encoding")
        if not _REASON.fullmatch(self._reason):
            raise self._refuse("malformed status line")
        if status < 200:
            if status < 100:
                raise self._refuse("malformed status line")
            if status == 101:
                raise self._refuse("unexpected protocol switch")
            self._informational += 1
            if self._informational > MAX_INFORMATIONAL:
                raise self._refuse("too many informational responses")
            return  # an informational answer; the real one follows
        if self._no_body or status in (204, 304):
            self.done = True
        elif not self._has_length and not codings:
            self.close_delimited = True
        minor = 1 if version == "1.1" else 0
        self.head = ResponseHead(status, self._reason, minor, self._headers)

    def on_message_complete(self) -> None:
        if self.head is not None:
            self.done = True
