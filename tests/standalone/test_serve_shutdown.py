"""SIGTERM is a graceful shutdown: a stream already open runs to its end, up to
`AUTH_AI_SHUTDOWN_GRACE` seconds; past that bound the server stops anyway."""

from __future__ import annotations

import contextlib
import json

import httpx
import pytest

from tests._support.serve_process import serving, sign_in

pytestmark = pytest.mark.e2e

# The emulator's model echoes the prompt 8 characters per event: about 60 events.
PROMPT = "The quick brown fox jumps over the lazy dog. " * 10


def _stream(http: httpx.Client, jwt: str) -> httpx.Response:
    request = http.build_request(
        "POST",
        "/v1/chat/completions",
        headers={"authorization": f"Bearer {jwt}"},
        json={
            "model": "gpt-5.4",
            "stream": True,
            "messages": [{"role": "user", "content": PROMPT}],
        },
    )
    return http.send(request, stream=True)


def _content(frames: list[str]) -> str:
    text = ""
    for frame in frames:
        if frame.startswith("data: {"):
            for choice in json.loads(frame[6:])["choices"]:
                text += choice["delta"].get("content") or ""
    return text


def test_sigterm_lets_an_open_stream_finish() -> None:
    env = {"AUTH_AI_EMULATOR_EVENT_DELAY": "0.05"}
    with serving("--emulator", env=env) as served:
        jwt = sign_in(served.base_url)
        with httpx.Client(base_url=served.base_url, timeout=30.0) as http:
            response = _stream(http, jwt)
            lines = response.iter_lines()
            frames = [next(lines)]  # the stream has begun: now the server is told to stop
            served.terminate()
            frames += [line for line in lines if line]
            response.close()
        served.stop()
    assert frames[-1] == "data: [DONE]"
    assert PROMPT.strip() in _content(frames)


def test_a_stream_longer_than_the_grace_is_cut_and_the_server_exits() -> None:
    env = {"AUTH_AI_EMULATOR_EVENT_DELAY": "0.5", "AUTH_AI_SHUTDOWN_GRACE": "1"}
    with serving("--emulator", env=env) as served:
        jwt = sign_in(served.base_url)
        with httpx.Client(base_url=served.base_url, timeout=30.0) as http:
            response = _stream(http, jwt)
            lines = response.iter_lines()
            frames = [next(lines)]
            served.terminate()
            # The connection is closed mid-stream: that is what a cut looks like.
            with contextlib.suppress(httpx.HTTPError):
                frames += [line for line in lines if line]
            response.close()
        err = served.stop()
    assert "data: [DONE]" not in frames
    assert "timeout graceful shutdown exceeded" in err
