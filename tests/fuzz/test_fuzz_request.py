"""The request parser (`asgi/http.py`): for any body, headers and chunking, `Request.json`
returns the parsed value or raises `InvalidRequest` (400, 413 or 415), nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authai_embed.asgi.http import MAX_JSON_DEPTH, Request, _nesting_depth
from authai_embed.errors import InvalidRequest
from tests.fuzz.strategies import FUZZ, json_values, run_sync

CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/vnd.api+json",
        "text/plain",
        "",
        "APPLICATION/JSON",
    ]
) | st.text(max_size=30)


def _request(chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> Request:
    queue = list(chunks) or [b""]

    async def receive() -> dict[str, Any]:
        body = queue.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(queue)}

    scope = {"type": "http", "method": "POST", "path": "/v1/x", "headers": headers}
    return Request(scope, receive)


def _headers(content_type: str | None, length: str | None) -> list[tuple[bytes, bytes]]:
    headers = []
    if content_type is not None:
        headers.append((b"content-type", content_type.encode("utf-8", "surrogatepass")))
    if length is not None:
        headers.append((b"content-length", length.encode("utf-8", "surrogatepass")))
    return headers


@FUZZ
@given(
    body=st.binary(max_size=2000),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=5),
    content_type=CONTENT_TYPES,
    length=st.none() | st.text(max_size=12) | st.integers(0, 10**6).map(str),
    limit=st.integers(min_value=1, max_value=4000),
)
def test_any_body_parses_or_is_an_invalid_request(
    body: bytes, cuts: list[int], content_type: str | None, length: str | None, limit: int
) -> None:
    points = sorted({min(c, len(body)) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    request = _request(chunks, _headers(content_type, length))
    try:
        run_sync(request.json(limit))
    except InvalidRequest as exc:
        status = exc.status
    else:
        status = 200
    assert status in (200, 400, 413, 415)


@FUZZ
@given(value=json_values, chunk=st.integers(min_value=1, max_value=64))
def test_any_json_value_round_trips_through_the_parser(value: Any, chunk: int) -> None:
    raw = json.dumps(value).encode()
    chunks = [raw[i : i + chunk] for i in range(0, len(raw), chunk)]
    assert run_sync(_request(chunks, []).json(len(raw) + 1)) == value


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@FUZZ
@given(value=json_values)
def test_the_depth_scan_counts_exactly_for_valid_json(value: Any) -> None:
    assert _nesting_depth(json.dumps(value)) == _depth(value)


@FUZZ
@given(text=st.text(alphabet='[]{}"\\,:ab 0', max_size=300))
def test_the_depth_scan_never_lets_deep_input_reach_the_parser(text: str) -> None:
    request = _request([text.encode()], [])
    try:
        value = run_sync(request.json(10_000))
    except InvalidRequest as exc:
        status = exc.status
    else:
        status = 200
        assert _depth(value) <= MAX_JSON_DEPTH
    assert status in (200, 400)


def _nest(value: Any, kinds: list[bool]) -> str:
    """`value` wrapped once per entry of `kinds`: in a list (True) or an object (False)."""
    text = json.dumps(value)
    for in_list in reversed(kinds):
        text = f"[{text}]" if in_list else '{"a[{": ' + text + "}"
    return text


@FUZZ
@given(
    value=json_values,
    kinds=st.lists(st.booleans(), min_size=MAX_JSON_DEPTH - 3, max_size=3 * MAX_JSON_DEPTH),
)
def test_json_nested_past_the_limit_never_parses(value: Any, kinds: list[bool]) -> None:
    """Valid JSON around the limit (brackets inside strings not counted): parsed up to
    `MAX_JSON_DEPTH`, `invalid json body` past it, even where `json` itself could parse it."""
    text = _nest(value, kinds)
    depth = len(kinds) + _depth(value)
    request = _request([text.encode()], [])
    if depth > MAX_JSON_DEPTH:
        with pytest.raises(InvalidRequest, match=r"^invalid json body$") as refused:
            run_sync(request.json(len(text) + 1))
        assert refused.value.status == 400
    else:
        assert run_sync(request.json(len(text) + 1)) == json.loads(text)
