"""Hostile input: each kind of bad request gets a clear 4xx JSON answer, never a 500, a traceback
or a hang. (tests/asgi/test_auth_failures.py holds the first part of this catalogue; see
docs/reliability.md for the whole of it.)"""

from __future__ import annotations

import json
import secrets
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authai_embed._util.b64 import b64url_decode, b64url_encode
from authai_embed.asgi.http import MAX_HEADER_BYTES
from authai_embed.types import Message
from tests._support.faults import http_scope
from tests._support.harness import Harness, HarnessFactory

pytestmark = [
    pytest.mark.anyio,
    # Input handling does not depend on the store: the fast one is enough.
    pytest.mark.parametrize("store", ["memory"], indirect=True),
]

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}
AUTH_401 = b'{"error":"unauthorized"}'
V1_401 = b'{"error":{"message":"unauthorized","type":"invalid_request_error"}}'


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def assert_clean_4xx(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert "Traceback" not in response.text
    response.json()


# -- bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "headers", "status", "fragment"),
    [
        (b"{not json", {}, 400, "invalid json body"),
        (b'{"model": "gpt-5.4", "messages": [\xff\xfe]}', {}, 400, "invalid json body"),
        (b"[" * 65 + b"]" * 65, {}, 400, "invalid json body"),
        (b"[" * 100_000 + b"]" * 100_000, {}, 400, "invalid json body"),
        (json.dumps(CHAT).encode(), {"content-type": "text/plain"}, 415, "application/json"),
        (json.dumps(CHAT).encode(), {"content-type": "application/x-www-form-urlencoded"}, 415, ""),
        (b'"just a string"', {}, 400, "JSON object"),
        (b"", {}, 400, "invalid json body"),
        (b"NaN", {}, 400, "JSON object"),
    ],
    ids=[
        "invalid-json",
        "invalid-utf8",
        "nested-65",
        "nested-100k",
        "text-plain",
        "form",
        "not-an-object",
        "empty",
        "nan",
    ],
)
async def test_bad_v1_bodies_get_a_clear_4xx(
    harness: Harness, content: bytes, headers: dict[str, str], status: int, fragment: str
) -> None:
    jwt = await harness.sign_in()
    response = await harness.client.post(
        "/authai/v1/chat/completions",
        content=content,
        headers={"content-type": "application/json", **bearer(jwt), **headers},
    )
    assert_clean_4xx(response, status)
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert fragment in response.json()["error"]["message"]
    assert harness.emulator.codex.stats.requests == 0


async def _raw_post(
    harness: Harness, path: str, headers: dict[str, str], chunk: bytes, chunks: int
) -> tuple[int, int, bytes]:
    """POST `chunks` chunks of `chunk` without a Content-Length, as a raw ASGI call; return the
    status, how many chunks the app read, and the body it answered."""
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": read < chunks}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = http_scope("POST", path, {"content-type": "application/json", **headers})
    await harness.authai(scope, receive, send)
    return sent[0]["status"], read, b"".join(m.get("body", b"") for m in sent[1:])


async def test_a_huge_body_is_refused_while_reading_before_parsing(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(max_body_bytes=64 * 1024)
    jwt = await harness.sign_in()
    chunk = b"x" * 16 * 1024
    status, read, body = await _raw_post(
        harness, "/v1/chat/completions", bearer(jwt), chunk, chunks=10_000
    )
    assert status == 413
    assert read == 5  # stopped at the first chunk past the limit: 160 MB were never read
    assert b"larger than 65536 bytes" in body
    status, read, body = await _raw_post(harness, "/auth/start", {}, chunk, chunks=10_000)
    assert (status, read) == (413, 2)  # /auth bodies stop at 16 KiB


async def test_a_declared_huge_body_is_refused_without_reading_it(harness: Harness) -> None:
    jwt = await harness.sign_in()
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    headers = {**bearer(jwt), "content-length": str(10**12)}
    scope = http_scope("POST", "/v1/chat/completions", headers)
    await harness.authai(scope, receive, send)
    assert sent[0]["status"] == 413
    assert read == 0


async def test_too_many_messages_is_a_400_naming_messages(harness: Harness) -> None:
    jwt = await harness.sign_in()
    many = [{"role": "user", "content": "hi"}] * 10_001
    response = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json={**CHAT, "messages": many}
    )
    assert_clean_4xx(response, 400)
    assert response.json()["error"]["param"] == "messages"
    assert harness.emulator.codex.stats.requests == 0


async def test_ten_thousand_messages_are_answered_without_a_hang(harness: Harness) -> None:
    jwt = await harness.sign_in()
    many = [{"role": "user", "content": f"m{n}"} for n in range(10_000)]
    response = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json={**CHAT, "messages": many}
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: m9999"


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("messages", "hi", "messages"),
        ("messages", [5], "messages[0]"),
        ("messages", [{"role": 7, "content": "x"}], "messages[0].role"),
        ("messages", [{"role": "user", "content": 5}], "messages[0].content"),
        ("messages", [], "messages"),
        ("model", 5, "model"),
        ("model", None, "model"),
        ("stream", "yes", "stream"),
        ("tools", {}, "tools"),
        ("tool_choice", 5, "tool_choice"),
        ("stream_options", "x", "stream_options"),
        ("response_format", "json", "response_format"),
        ("reasoning_effort", 3, "reasoning_effort"),
        ("n", 2, "n"),
        ("n", "2", "n"),
        ("n", 0, "n"),
        ("temperature", "hot", "temperature"),
        ("temperature", 3, "temperature"),
        ("top_p", -1, "top_p"),
        ("max_tokens", 0, "max_tokens"),
        ("max_completion_tokens", 1.5, "max_completion_tokens"),
        ("seed", "1", "seed"),
        ("stop", [1], "stop"),
        ("user", 5, "user"),
        ("metadata", [], "metadata"),
        ("logit_bias", "x", "logit_bias"),
        ("store", "no", "store"),
    ],
)
async def test_wrong_field_types_are_a_400_naming_the_field(
    harness: Harness, field: str, value: Any, param: str
) -> None:
    jwt = await harness.sign_in()
    response = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json={**CHAT, field: value}
    )
    assert_clean_4xx(response, 400)
    error = response.json()["error"]
    assert error["param"] == param, error
    assert harness.emulator.codex.stats.requests == 0


@pytest.mark.parametrize(
    "body",
    [
        {"model": 5, "input": "x"},
        {"model": "gpt-5.4"},
        {"input": "x"},
        [],
    ],
)
async def test_bad_responses_bodies_are_a_400(harness: Harness, body: Any) -> None:
    jwt = await harness.sign_in()
    response = await harness.client.post("/authai/v1/responses", headers=bearer(jwt), json=body)
    assert_clean_4xx(response, 400)
    assert harness.emulator.codex.stats.requests == 0


async def test_unknown_model_is_the_providers_400(harness: Harness) -> None:
    jwt = await harness.sign_in()
    for path, body in (
        ("/authai/v1/chat/completions", {**CHAT, "model": "no-such-model"}),
        ("/authai/v1/responses", {"model": "no-such-model", "input": "hi"}),
    ):
        response = await harness.client.post(path, headers=bearer(jwt), json=body)
        assert_clean_4xx(response, 400)
        assert response.json()["error"]["type"] == "provider_error"


@pytest.mark.parametrize("provider", ["nope", "openai2", "../openai", "x" * 10_000, "", "\u0000"])
async def test_unknown_providers_are_a_400(harness: Harness, provider: str) -> None:
    response = await harness.client.post("/authai/auth/start", json={"provider": provider})
    assert_clean_4xx(response, 400)
    assert response.json()["error"].startswith("unknown provider: ")
    assert len(response.text) < 200  # the echo is cut short


# -- headers ----------------------------------------------------------------------------------


async def test_huge_headers_are_a_431(harness: Harness) -> None:
    jwt = await harness.sign_in()
    huge = {"x-pad": "p" * MAX_HEADER_BYTES}
    auth = await harness.client.get("/authai/auth/whoami", headers={**bearer(jwt), **huge})
    assert_clean_4xx(auth, 431)
    assert auth.json() == {"error": "request headers are too large"}
    v1 = await harness.client.post(
        "/authai/v1/chat/completions", headers={**bearer(jwt), **huge}, json=CHAT
    )
    assert_clean_4xx(v1, 431)
    assert v1.json()["error"]["message"] == "request headers are too large"
    many = {f"x-h{n}": "v" * 1000 for n in range(80)}  # 80 KB over many headers
    assert (await harness.client.get("/authai/auth/providers", headers=many)).status_code == 431
    # Generous but legal headers are fine.
    cookies = {"cookie": "; ".join(f"c{n}={'v' * 100}" for n in range(100))}
    fine = await harness.client.get("/authai/auth/whoami", headers={**bearer(jwt), **cookies})
    assert fine.status_code == 200


async def test_head_sends_the_headers_and_no_body(harness: Harness) -> None:
    get = await harness.client.get("/authai/")
    head = await harness.client.head("/authai/")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    refused = await harness.client.head("/authai/auth/whoami")
    assert (refused.status_code, refused.content) == (401, b"")


# -- session ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "session_id",
    [
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
        "a\u0000b",
        "%ff%fe",
        "\u00e9\u00e9\u00e9",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "x" * 10_000,
        "a/b/c",
        "*",
    ],
)
async def test_junk_session_ids_are_a_404(harness: Harness, session_id: str) -> None:
    # A raw ASGI call: the path reaches the app exactly as a server would decode it.
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await harness.authai(http_scope("GET", f"/auth/poll/{session_id}", {}), receive, send)
    assert sent[0]["status"] == 404
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"]) == {"status": "error", "error": "session not found"}


# -- JWT variants -------------------------------------------------------------------------------


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def _sign(harness: Harness, claims: dict[str, Any], **header: Any) -> str:
    key = harness.secrets.signing_key
    return pyjwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.kid, **header})


def _hs256_with_header(harness: Harness, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token whose signature is a valid HMAC-SHA256 under our key, whatever the header says."""
    import hashlib
    import hmac

    signing = (
        b64url_encode(json.dumps(header).encode())
        + "."
        + b64url_encode(json.dumps(claims).encode())
    )
    mac = hmac.new(harness.secrets.signing_key.secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url_encode(mac)


async def _jwt_variants(harness: Harness) -> dict[str, str]:
    good = await harness.sign_in()
    header, claims = _parts(good)
    kid = harness.secrets.signing_key.kid
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    variants: dict[str, str] = {
        "rs256_signed_by_a_stranger": pyjwt.encode(claims, rsa_key, "RS256", {"kid": kid}),
        "rs256_header_on_our_hmac": _hs256_with_header(
            harness, {"alg": "RS256", "kid": kid}, claims
        ),
        "hs256_keyed_with_a_public_pem": _hs256_with_header_key(public_pem, kid, claims),
        "alg_none_lowercase": b64url_encode(json.dumps({"alg": "none", "kid": kid}).encode())
        + "."
        + b64url_encode(json.dumps(claims).encode())
        + ".",
        "alg_NONE_uppercase": _hs256_with_header(harness, {"alg": "NONE", "kid": kid}, claims),
        "kid_not_a_string": _hs256_with_header(harness, {"alg": "HS256", "kid": 7}, claims),
        "kid_missing": _hs256_with_header(harness, {"alg": "HS256"}, claims),
        "kid_unknown": _sign(harness, claims, kid="k" * 200),
        "oversized_4097": good + "A" * (4097 - len(good)),
        "oversized_60k": "eyJ" + "A" * 60_000 + "." + "B" * 10 + "." + "C" * 10,
        "k_not_base64": _sign(harness, {**claims, "k": "!!!not*base64!!!"}),
        "k_empty": _sign(harness, {**claims, "k": ""}),
        "k_16_bytes": _sign(harness, {**claims, "k": b64url_encode(secrets.token_bytes(16))}),
        "k_a_number": _sign(harness, {**claims, "k": 12345}),
        "exp_a_string": _sign(harness, {**claims, "exp": str(claims["exp"])}),
        "exp_a_bool": _sign(harness, {**claims, "exp": True}),
        "iat_in_the_future": _sign(harness, {**claims, "iat": claims["iat"] + 86400}),
        "v_1": _sign(harness, {**claims, "v": 1}),
        "claims_a_list": _hs256_with_header(harness, header, [claims]),  # type: ignore[arg-type]
        "rid_of_another_shape": _sign(harness, {**claims, "rid": {"$ne": None}}),
    }
    for name in ("v", "rid", "k", "prov", "iat", "exp"):
        variants[f"missing_{name}"] = _sign(harness, {c: v for c, v in claims.items() if c != name})
    return variants


def _hs256_with_header_key(key: bytes, kid: str, claims: dict[str, Any]) -> str:
    import hashlib
    import hmac

    header = b64url_encode(json.dumps({"alg": "HS256", "kid": kid}).encode())
    signing = header + "." + b64url_encode(json.dumps(claims).encode())
    return signing + "." + b64url_encode(hmac.new(key, signing.encode(), hashlib.sha256).digest())


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_every_jwt_variant_is_the_uniform_401_everywhere(harness: Harness) -> None:
    variants = await _jwt_variants(harness)
    assert len(variants) == 26
    answers: dict[tuple[str, str], tuple[int, bytes]] = {}
    for name, token in variants.items():
        for path in ("/authai/auth/whoami", "/authai/v1/models"):
            response = await harness.client.get(path, headers=bearer(token))
            answers[(name, path)] = (response.status_code, response.content)
    expected = {(401, AUTH_401), (401, V1_401)}
    assert set(answers.values()) == expected, {k: v for k, v in answers.items() if v[0] != 401}
    assert harness.emulator.codex.stats.model_lists == 0


@pytest.mark.parametrize(
    "kid",
    ["\ud800", "k\udfff", "é", "\u0000", "k" * 33, "", " ", "\n"],
    ids=[
        "lone_surrogate",
        "trailing_surrogate",
        "non_ascii",
        "nul",
        "too_long",
        "empty",
        "space",
        "newline",
    ],
)
async def test_a_malformed_kid_is_the_uniform_401_without_an_error_log(
    harness: Harness, kid: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = await harness.sign_in()
    _, claims = _parts(good)
    # No valid signature is needed to reach the key lookup: the header is read first.
    token = _hs256_with_header(harness, {"alg": "HS256", "kid": kid}, claims)
    with caplog.at_level("WARNING", logger="authai_embed"):
        for path, body in (("/authai/auth/whoami", AUTH_401), ("/authai/v1/models", V1_401)):
            response = await harness.client.get(path, headers=bearer(token))
            assert (response.status_code, response.content) == (401, body)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


async def test_a_revoked_jwt_replayed_is_401_on_every_route(harness: Harness) -> None:
    jwt = await harness.sign_in()
    assert (
        await harness.client.post("/authai/auth/revoke", headers=bearer(jwt))
    ).status_code == 204
    for method, path, body in (
        ("GET", "/authai/auth/whoami", None),
        ("POST", "/authai/auth/revoke", None),
        ("GET", "/authai/v1/models", None),
        ("POST", "/authai/v1/chat/completions", CHAT),
        ("POST", "/authai/v1/responses", {"model": "gpt-5.4", "input": "hi"}),
    ):
        response = await harness.client.request(method, path, headers=bearer(jwt), json=body)
        assert response.status_code == 401
        assert response.content in (AUTH_401, V1_401)
