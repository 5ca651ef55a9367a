"""Every upstream answer is read bounded by its DECODED size: a gzip bomb costs the limit, not
its inflated size, and an unknown encoding is no answer."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from authai_embed.providers._upstream import ANSWER_LIMIT, read_bounded, read_json

pytestmark = pytest.mark.anyio


def _gzip_of_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


class Chunks(httpx.AsyncByteStream):
    """A raw body that arrives in `size`-byte reads, as the network would hand it over."""

    def __init__(self, data: bytes, size: int = 16 * 1024) -> None:
        self._data, self._size = data, size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._data), self._size):
            yield self._data[start : start + self._size]


def _answer(body: bytes, encoding: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if encoding is not None:
        headers["content-encoding"] = encoding
    return httpx.Response(200, headers=headers, stream=Chunks(body))


async def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = _gzip_of_zeros(192 * 1024 * 1024)
    assert len(bomb) < 256 * 1024
    tracemalloc.start()
    try:
        body = await read_json(_answer(bomb, "gzip"), ANSWER_LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert body is None
    assert peak < 8 * ANSWER_LIMIT, peak  # the limit and a chunk or two, not 192 MiB


@pytest.mark.parametrize("encoding", [None, "identity", "gzip", "x-gzip", "deflate", " GZIP "])
async def test_an_answer_within_the_limit_is_decoded(encoding: str | None) -> None:
    raw = b'{"ok": true, "pad": "' + b"x" * 100_000 + b'"}'
    name = (encoding or "").strip().lower()
    if name in ("gzip", "x-gzip"):
        wire = gzip.compress(raw)
    elif name == "deflate":
        wire = zlib.compress(raw)
    else:
        wire = raw
    assert await read_bounded(_answer(wire, encoding), ANSWER_LIMIT) == raw
    assert await read_json(_answer(wire, encoding), ANSWER_LIMIT) == {
        "ok": True,
        "pad": "x" * 100_000,
    }


async def test_one_byte_over_the_limit_is_no_answer() -> None:
    assert await read_bounded(_answer(b"x" * 1001, None), 1000) is None
    assert await read_bounded(_answer(gzip.compress(b"x" * 1001), "gzip"), 1000) is None
    assert await read_bounded(_answer(b"x" * 1000, None), 1000) == b"x" * 1000


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
async def test_an_encoding_we_cannot_bound_is_no_answer(encoding: str) -> None:
    assert await read_bounded(_answer(b"{}", encoding), ANSWER_LIMIT) is None


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_does_not_decompress_is_no_answer(encoding: str) -> None:
    # Not an exception escaping as a 500: the caller treats it as any unreadable answer.
    assert await read_bounded(_answer(b"not compressed at all", encoding), ANSWER_LIMIT) is None
