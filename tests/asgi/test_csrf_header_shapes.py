"""`passes_csrf_check` reads every header shape a host has, and never passes one it cannot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.http.request import HttpHeaders
from starlette.datastructures import Headers

from authai_embed import AuthAI, MemoryStore, Secrets

Raw = list[tuple[bytes, bytes]]

HOSTILE: Raw = [
    (b"Host", b"app.test"),
    (b"Origin", b"https://evil.test"),
    (b"Sec-Fetch-Site", b"cross-site"),
]
FOREIGN_ORIGIN: Raw = [(b"Host", b"app.test"), (b"Origin", b"https://evil.test")]
FRIENDLY: Raw = [
    (b"Host", b"app.test"),
    (b"Origin", b"https://app.test"),
    (b"Sec-Fetch-Site", b"same-origin"),
]
SIBLING: Raw = [
    (b"Host", b"app.test"),
    (b"Origin", b"https://ok.test"),
    (b"Sec-Fetch-Site", b"same-site"),
]


def asgi_list(raw: Raw) -> Any:
    return [(k.lower(), v) for k, v in raw]


def bytes_dict(raw: Raw) -> Any:
    return {k.lower(): v for k, v in raw}


def capitalised_bytes_dict(raw: Raw) -> Any:
    return dict(raw)


def str_dict(raw: Raw) -> Any:
    return {k.decode().lower(): v.decode() for k, v in raw}


def capitalised_str_dict(raw: Raw) -> Any:
    return {k.decode(): v.decode() for k, v in raw}


def upper_str_dict(raw: Raw) -> Any:
    return {k.decode().upper(): v.decode() for k, v in raw}


def starlette_headers(raw: Raw) -> Any:
    return Headers(raw=asgi_list(raw))


def django_headers(raw: Raw) -> Any:
    meta = {"HTTP_" + k.decode().upper().replace("-", "_"): v.decode() for k, v in raw}
    return HttpHeaders(meta)


SHAPES: list[Callable[[Raw], Any]] = [
    asgi_list,
    bytes_dict,
    capitalised_bytes_dict,
    str_dict,
    capitalised_str_dict,
    upper_str_dict,
    starlette_headers,
    django_headers,
]


@pytest.fixture
def authai() -> AuthAI:
    return AuthAI(
        secrets=Secrets.generate(), store=MemoryStore(), allowed_origins=("https://ok.test",)
    )


@pytest.mark.parametrize("shape", SHAPES, ids=lambda f: f.__name__)
def test_a_cross_site_request_is_refused_in_every_header_shape(
    authai: AuthAI, shape: Callable[[Raw], Any]
) -> None:
    assert authai.passes_csrf_check(shape(HOSTILE), "https") is False
    assert authai.passes_csrf_check(shape(FOREIGN_ORIGIN), "https") is False


@pytest.mark.parametrize("shape", SHAPES, ids=lambda f: f.__name__)
def test_a_same_origin_or_listed_request_passes_in_every_header_shape(
    authai: AuthAI, shape: Callable[[Raw], Any]
) -> None:
    assert authai.passes_csrf_check(shape(FRIENDLY), "https") is True
    assert authai.passes_csrf_check(shape(SIBLING), "https") is True


@pytest.mark.parametrize(
    "headers",
    [
        None,
        "origin: https://evil.test",
        b"origin: https://evil.test",
        42,
        ["origin", "https://evil.test"],
        [(b"origin",)],
        {1: b"https://evil.test"},
        {"origin": 1},
        [("origin", None)],
    ],
)
def test_an_unreadable_shape_is_a_type_error_never_a_pass(authai: AuthAI, headers: Any) -> None:
    with pytest.raises(TypeError):
        authai.passes_csrf_check(headers, "https")


def test_a_checked_header_sent_twice_differently_is_refused(authai: AuthAI) -> None:
    twice = [*asgi_list(FRIENDLY), (b"origin", b"https://evil.test")]
    assert authai.passes_csrf_check(twice, "https") is False
    same_twice = [*asgi_list(FRIENDLY), (b"origin", b"https://app.test")]
    assert authai.passes_csrf_check(same_twice, "https") is True
