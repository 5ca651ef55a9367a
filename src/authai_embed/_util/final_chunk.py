"""`FinalChunk`: a streamed body's piece that its producer knows to be the last.

An ASGI server writes each body message as it comes, and the empty message that ends a body is
a write of its own (for a chunked answer, the `0` chunk). When a producer knows its answer is
complete before its source is (a Responses stream's terminal event has come, the upstream's own
end has not been read yet), it yields its last piece as a `FinalChunk`, and `StreamingResponse`
sends that piece with the end of the body: for a short answer, two writes to the client
instead of four (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterable

__all__ = ["FinalChunk", "read_to_end"]


class FinalChunk(bytes):
    """Bytes that end a streamed body: sent with `more_body: False`; the producer is then run to
    its end (it may still be reading its source, to leave a connection reusable), and anything
    more it yields is not sent."""

    __slots__ = ()


async def read_to_end(chunks: AsyncIterable[bytes]) -> None:
    """Run `chunks` out, keeping nothing: after a `FinalChunk`, the rest of an upstream answer is
    read so that its connection can serve another call, and nothing more is sent."""
    async for chunk in chunks:
        del chunk
