"""The token guard (tests/_support/token_guard.py) really fails a test that leaks the marker,
through each channel it watches, and leaves alone what only the emulator's side sees.

Each case runs in its own pytest session (`pytester`, in-process) with the guard and the shared
fixtures loaded as plugins, and the outcome of every inner test is asserted.
"""

from __future__ import annotations

import pytest

INNER = """
import dataclasses
import logging

import httpx
import pytest

from authai_embed.asgi.http import JSONResponse, StreamingResponse
from authai_embed.errors import UpstreamError
from authai_embed.testing import TOKEN_MARKER

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def replace_root(harness, handler):
    routes = harness.authai._routes
    harness.authai._routes = tuple(
        dataclasses.replace(r, handler=handler) if r.path == "/" else r for r in routes
    )


async def test_leak_in_a_response_body(harness):
    async def root(request):
        return JSONResponse({"token": "abc" + TOKEN_MARKER})

    replace_root(harness, root)
    await harness.client.get("/authai/")


async def test_leak_in_a_response_header(harness):
    async def root(request):
        return JSONResponse({}, headers=[(b"x-debug", TOKEN_MARKER.encode())])

    replace_root(harness, root)
    await harness.client.get("/authai/")


async def test_leak_split_across_streamed_chunks(harness):
    async def chunks():
        yield TOKEN_MARKER[:4].encode()
        yield TOKEN_MARKER[4:].encode()

    async def root(request):
        return StreamingResponse(chunks())

    replace_root(harness, root)
    await harness.client.get("/authai/")


async def test_leak_in_a_log_record(harness):
    logging.getLogger("authai_embed.proxy").debug("sent %s", TOKEN_MARKER)


async def test_leak_in_a_caught_exception(harness):
    with pytest.raises(UpstreamError):
        raise UpstreamError("provider said " + TOKEN_MARKER)


async def test_leak_in_an_exception_escaping_the_app(harness):
    async def chunks():
        yield b"ok"
        raise RuntimeError("stream broke " + TOKEN_MARKER)

    async def root(request):
        return StreamingResponse(chunks())

    replace_root(harness, root)
    with pytest.raises(RuntimeError):
        await harness.client.get("/authai/")


async def test_a_whole_session_with_emulator_tokens_is_clean(harness):
    jwt = await harness.sign_in()
    assert any(TOKEN_MARKER in t for t in harness.emulator.issued_tokens())
    response = await harness.client.get(
        "/authai/auth/whoami", headers={"Authorization": "Bearer " + jwt}
    )
    assert response.status_code == 200
"""


def test_the_guard_fails_each_leaking_test_and_passes_the_clean_one(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_inner=INNER)
    inner = pytester.runpytest_inprocess("-p", "tests.conftest", "-p", "no:cacheprovider", "-q")
    # memory and sqlite stores: every inner test runs twice
    inner.assert_outcomes(passed=2, failed=12)
    text = inner.stdout.str()
    for channel in (
        "response body of /",
        "response headers of /: header x-debug",
        "log record of authai_embed.proxy",
        "UpstreamError message",
        "exception escaping the app on /: RuntimeError",
    ):
        assert channel in text, channel
    failed = {
        line.split("::")[1].split("[")[0]
        for line in inner.stdout.lines
        if line.startswith("FAILED")
    }
    assert failed == {
        "test_leak_in_a_response_body",
        "test_leak_in_a_response_header",
        "test_leak_split_across_streamed_chunks",
        "test_leak_in_a_log_record",
        "test_leak_in_a_caught_exception",
        "test_leak_in_an_exception_escaping_the_app",
    }
