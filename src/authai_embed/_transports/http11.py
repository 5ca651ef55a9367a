"""HTTP/1.1 for the upstream client, without I/O: the request head, the response head and the
response body's framing (RFC 9112).

The body decoder hands over everything a read brought in one piece: a read holding twenty small
chunks (one SSE event each, as providers send them) gives one `bytes`, where a per-chunk parser
would give twenty. That is what lets the proxy translate and write a burst of events at once.

Only what a client of a provider's API needs is here, and it is strict: a response it cannot
frame without guessing is a `ProtocolError`, never a silently shortened body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "MAX_HEAD_BYTES",
    "BodyDecoder",
    "ProtocolError",
    "ResponseHead",
    "encode_chunk",
    "encode_request_head",
    "parse_response_head",
]

MAX_HEAD_BYTES: Final = 64 * 1024
"""A status line and headers larger than this are refused, as h11 does."""

_MAX_CHUNK_LINE: Final = 4096
_MAX_TRAILER_BYTES: Final = 64 * 1024
_STATUS_LINE: Final = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([^\r\n]*))?")
_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_BLOCK: Final = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\r\n\0]*\r?\n)*")
_CHUNK_HEAD: Final = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]{0,4000})?\r?\n")
"""A chunk's size line: hex size, an ignored extension, the line end (one C-level match)."""
_FORBIDDEN_IN_HEADERS: Final = re.compile(rb"[\r\n\0]")


class ProtocolError(Exception):
    """The peer broke HTTP/1.1 framing (or we were asked to send something that would)."""


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """A parsed status line and header block."""

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
    (a header injection) raises `ProtocolError` instead of being sent."""
    if not _TOKEN.fullmatch(method) or not target or _FORBIDDEN_IN_HEADERS.search(target):
        raise ProtocolError("invalid request line")
    lines = [method + b" " + target + b" HTTP/1.1"]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _FORBIDDEN_IN_HEADERS.search(value):
            raise ProtocolError(f"invalid header {name[:40]!r}")
        lines.append(name + b": " + value)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked request body (empty `data` is the last chunk)."""
    if not data:
        return b"0\r\n\r\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def parse_response_head(buffer: bytes) -> tuple[ResponseHead, bytes] | None:
    """The head at the start of `buffer` and the bytes after it, or None while it is incomplete.

    Lines may end in CRLF or a bare LF (RFC 9112 §2.2). Raises `ProtocolError` for a malformed
    head, a folded header line, or a head over `MAX_HEAD_BYTES`.
    """
    end = buffer.find(b"\n\r\n")
    size = 3
    bare = buffer.find(b"\n\n")
    if bare != -1 and (end == -1 or bare < end):
        end, size = bare, 2
    if end == -1:
        if len(buffer) > MAX_HEAD_BYTES:
            raise ProtocolError("the response head is too large")
        return None
    if end + size > MAX_HEAD_BYTES:
        raise ProtocolError("the response head is too large")
    status_end = buffer.find(b"\n", 0, end + 1)
    match = _STATUS_LINE.fullmatch(buffer[:status_end].removesuffix(b"\r"))
    if match is None:
        raise ProtocolError("malformed status line")
    block = buffer[status_end + 1 : end + 1]  # every header line, each with its line end
    if not _HEADER_BLOCK.fullmatch(block):  # one pass: names are tokens, no folding, no CR/NUL
        raise ProtocolError("malformed header line")
    headers: list[tuple[bytes, bytes]] = []
    for line in block.split(b"\n")[:-1]:
        name, _, value = line.partition(b":")
        headers.append((name.lower(), value.strip(b" \t\r")))
    minor, status, reason = match.group(1), match.group(2), match.group(3) or b""
    head = ResponseHead(int(status), reason, int(minor), headers)
    return head, buffer[end + size :]


class BodyDecoder:
    """A response body's payload from the bytes that follow its head, read by read.

    `feed(data)` returns the payload bytes `data` completes (possibly empty); `done` turns true
    when the body is complete, and `excess` then holds bytes that came after it (a server that
    sends them cannot be trusted with another request). `eof()` is called when the peer closes:
    it raises `ProtocolError` unless the body was delimited by the close.
    """

    __slots__ = ("_buf", "_left", "_mode", "_trailer", "done", "excess")

    def __init__(self, head: ResponseHead, *, method: bytes) -> None:
        self.excess = b""
        self._buf = b""
        self._trailer = 0
        self.done = False
        self._left = 0
        status = head.status
        if method == b"HEAD" or status in (204, 304) or 100 <= status < 200:
            self._mode = "none"
            self.done = True
            return
        codings = b",".join(head.values(b"transfer-encoding")).lower()
        if codings:
            if [c.strip() for c in codings.split(b",")] != [b"chunked"]:
                raise ProtocolError("unsupported transfer-encoding")
            self._mode = "size"
            return
        lengths = {v.strip() for v in head.values(b"content-length")}
        if not lengths:
            self._mode = "close"
            return
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise ProtocolError("invalid content-length")
        self._left = int(next(iter(lengths)))
        self._mode = "length"
        self.done = self._left == 0

    @property
    def close_delimited(self) -> bool:
        """The body ends when the peer closes (no length, not chunked): never reusable."""
        return self._mode == "close"

    def feed(self, data: bytes) -> bytes:
        """The payload bytes in `data`, joined; raises `ProtocolError` on broken framing."""
        if self.done:
            self.excess += data
            return b""
        mode = self._mode
        if mode == "close":
            return data
        if mode == "length":
            if len(data) < self._left:
                self._left -= len(data)
                return data
            payload, self.excess = data[: self._left], data[self._left :]
            self._left = 0
            self.done = True
            return payload
        return self._chunked(self._buf + data if self._buf else data)

    def eof(self) -> None:
        """The peer closed the connection; raises `ProtocolError` if the body is incomplete."""
        if not self.done and self._mode != "close":
            raise ProtocolError("the server closed the connection before the body was complete")
        self.done = True

    def _chunked(self, buf: bytes) -> bytes:
        out: list[bytes] = []
        pos, end = 0, len(buf)
        mode, left = self._mode, self._left
        while pos < end:
            if mode == "size":
                head = _CHUNK_HEAD.match(buf, pos)
                if head is None:  # a size line not all here yet, or a malformed one
                    nl = buf.find(b"\n", pos, pos + _MAX_CHUNK_LINE)
                    if nl == -1:
                        if end - pos >= _MAX_CHUNK_LINE:
                            raise ProtocolError("chunk size line too long")
                        break
                    raise ProtocolError("malformed chunk size")
                left = int(head.group(1), 16)
                pos = head.end()
                if not left:
                    mode = "trailer"
                    continue
                stop = pos + left
                if stop + 2 <= end:  # the whole chunk is here (the usual case): take it at once
                    if buf[stop : stop + 2] != b"\r\n":
                        raise ProtocolError("a chunk does not end in CRLF")
                    out.append(buf[pos:stop])
                    pos, left = stop + 2, 0
                else:
                    mode = "data"
            elif mode == "data":
                take = min(left, end - pos)
                out.append(buf[pos : pos + take])
                pos += take
                left -= take
                if left == 0:
                    mode = "crlf"
            elif mode == "crlf":
                if end - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise ProtocolError("a chunk does not end in CRLF")
                pos += 2
                mode = "size"
            else:  # trailer fields after the last chunk, up to a blank line; ignored
                nl = buf.find(b"\n", pos)
                if nl == -1:
                    if self._trailer + end - pos > _MAX_TRAILER_BYTES:
                        raise ProtocolError("trailer too large")
                    break
                line = buf[pos:nl].removesuffix(b"\r")
                self._trailer += nl + 1 - pos
                if self._trailer > _MAX_TRAILER_BYTES:
                    raise ProtocolError("trailer too large")
                pos = nl + 1
                if not line:
                    self.done = True
                    self.excess = buf[pos:]
                    pos = end
        self._mode, self._left = mode, left
        self._buf = buf[pos:] if not self.done else b""
        if not out:
            return b""
        return out[0] if len(out) == 1 else b"".join(out)
