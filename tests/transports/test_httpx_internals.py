"""The httpx internals our code leans on, pinned so that an httpx release which changes them fails
here first. The upstream client (`new_upstream_client`) overrides `httpx.AsyncClient.send` and
skips the stages `send` runs around the transport; `providers/_upstream.model_request` builds a
request as `AsyncClient.build_request` would. When a test here fails: re-read both against the
new httpx, adjust them, update what is pinned, then widen the httpx bound in pyproject.toml."""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from http.cookiejar import CookieJar
from typing import Any

import httpx
import pytest

from authai_embed import new_upstream_client
from authai_embed.providers._upstream import model_request

TIMEOUT = httpx.Timeout(7.0, connect=2.0)

SEND_STAGES: dict[str, frozenset[str]] = {
    # The names (globals and attributes) each stage of `AsyncClient.send` refers to. The override
    # skips all but the transport call and `aread`/`aclose`; a new name means httpx does
    # something more there, which the override may have to do too.
    "send": frozenset(
        {
            "BaseException",
            "CLOSED",
            "ClientState",
            "OPENED",
            "RuntimeError",
            "UseClientDefault",
            "_build_request_auth",
            "_send_handling_auth",
            "_set_timeout",
            "_state",
            "aclose",
            "aread",
            "follow_redirects",
            "isinstance",
        }
    ),
    "_send_handling_auth": frozenset(
        {
            "BaseException",
            "StopAsyncIteration",
            "__anext__",
            "_send_handling_redirects",
            "aclose",
            "append",
            "aread",
            "asend",
            "async_auth_flow",
            "history",
            "list",
        }
    ),
    "_send_handling_redirects": frozenset(
        {
            "BaseException",
            "TooManyRedirects",
            "_build_redirect_request",
            "_event_hooks",
            "_send_single_request",
            "aclose",
            "aread",
            "has_redirect_location",
            "history",
            "len",
            "list",
            "max_redirects",
            "next_request",
        }
    ),
    "_send_single_request": frozenset(
        {
            "AsyncByteStream",
            "BoundAsyncStream",
            "RuntimeError",
            "_default_encoding",
            "_transport_for_url",
            "cookies",
            "default_encoding",
            "extract_cookies",
            "handle_async_request",
            "http_version",
            "info",
            "isinstance",
            "logger",
            "method",
            "perf_counter",
            "reason_phrase",
            "request",
            "request_context",
            "status_code",
            "stream",
            "time",
            "url",
        }
    ),
    "_set_timeout": frozenset(
        {"Timeout", "UseClientDefault", "as_dict", "dict", "extensions", "isinstance", "timeout"}
    ),
}


def _referenced_names(function: Callable[..., Any]) -> frozenset[str]:
    """Every global and attribute name `function`'s code (nested code included) refers to."""
    names: set[str] = set()

    def walk(code: types.CodeType) -> None:
        names.update(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                walk(const)

    walk(function.__code__)
    return frozenset(names)


def _shape(function: Callable[..., Any]) -> list[tuple[str, Any, object]]:
    """A signature without its annotations: (name, kind, default) per parameter."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_async_client_send_has_the_signature_the_override_copies() -> None:
    keyword = inspect.Parameter.KEYWORD_ONLY
    expected = [
        ("self", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("stream", keyword, False),
        ("auth", keyword, httpx.USE_CLIENT_DEFAULT),
        ("follow_redirects", keyword, httpx.USE_CLIENT_DEFAULT),
    ]
    assert _shape(httpx.AsyncClient.send) == expected
    assert _shape(type(new_upstream_client(TIMEOUT)).send) == expected


@pytest.mark.parametrize("stage", sorted(SEND_STAGES))
def test_the_stages_around_the_transport_are_the_ones_the_override_skips(stage: str) -> None:
    assert _referenced_names(getattr(httpx.AsyncClient, stage)) == SEND_STAGES[stage], (
        f"httpx changed AsyncClient.{stage}: check that UpstreamClient.send may still skip it"
    )


@pytest.mark.anyio
async def test_what_the_override_reads_and_sets_is_still_there() -> None:
    client = new_upstream_client(TIMEOUT)
    # The conditions under which it hands over to the full `send`.
    assert client.auth is None
    assert client.event_hooks == {"request": [], "response": []}
    assert client.follow_redirects is False
    # The cookie jar it passes is used as is, so nothing is ever stored.
    assert isinstance(client.cookies.jar, CookieJar)
    assert type(client.cookies.jar) is not CookieJar
    client.cookies.extract_cookies(
        httpx.Response(
            200,
            headers={"set-cookie": "lb=one-user; Path=/"},
            request=httpx.Request("GET", "https://api.example.test/"),
        )
    )
    assert list(client.cookies.jar) == []
    # What it sets on the way out: the request on the response and on a transport error.
    request = httpx.Request("GET", "https://api.example.test/")
    response = httpx.Response(200)
    response.request = request
    assert response.request is request
    error = httpx.ConnectError("unreachable")
    error.request = request
    assert error.request is request
    await client.aclose()


def test_client_headers_and_timeout_have_the_shapes_model_request_reads() -> None:
    client = httpx.AsyncClient(headers={"X-Mixed-Case": "v"}, timeout=TIMEOUT)
    raw = client.headers.raw
    assert all(isinstance(k, bytes) and isinstance(v, bytes) for k, v in raw)
    assert (b"X-Mixed-Case", b"v") in raw
    assert client.timeout.as_dict() == {"connect": 2.0, "read": 7.0, "write": 7.0, "pool": 7.0}
    # `send` fills the timeout in only when it is missing, so one set at build time stays.
    built = client.build_request("POST", "https://api.example.test/")
    assert built.extensions["timeout"] == client.timeout.as_dict()


def test_model_request_builds_what_build_request_would() -> None:
    client = httpx.AsyncClient(headers={"User-Agent": "host-app", "X-Keep": "k"}, timeout=TIMEOUT)
    url = "https://api.example.test/v1/responses?x=1"
    own = {"Authorization": "Bearer t", "user-agent": "ours", "Content-Type": "application/json"}
    body = b'{"model":"m"}'
    fast = model_request(client, url, own, body)
    built = client.build_request("POST", url, headers=own, content=body)
    assert (fast.method, fast.url, fast.content) == (built.method, built.url, built.content)
    assert sorted(fast.headers.multi_items()) == sorted(built.headers.multi_items())
    assert fast.extensions == built.extensions
