"""Every auth failure is the same 401, byte for byte; bad input gets a clear 4xx JSON answer."""

from __future__ import annotations

import dataclasses
import json
import secrets

import jwt as pyjwt
import pytest

from authai_embed._util.b64 import b64url_decode, b64url_encode
from tests._support.harness import Harness

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

UNAUTHORIZED = b'{"error":"unauthorized"}'


def _claims(jwt: str) -> dict[str, object]:
    claims: dict[str, object] = json.loads(b64url_decode(jwt.split(".")[1]))
    return claims


def _resign(harness: Harness, claims: dict[str, object], **header: object) -> str:
    key = harness.secrets.signing_key
    return pyjwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.kid, **header})


async def _swap_ciphertexts(harness: Harness, a: str, b: str) -> None:
    ra = await harness.store.get_record(str(_claims(a)["rid"]))
    rb = await harness.store.get_record(str(_claims(b)["rid"]))
    assert ra is not None
    assert rb is not None
    moved = dataclasses.replace(ra, iv=rb.iv, blob=rb.blob, version=ra.version + 1)
    assert await harness.store.swap_record(moved, ra.version)


async def _failure_tokens(harness: Harness, good: str) -> dict[str, str | None]:
    """One token (or header value) per failure mode; each must give the identical 401.

    Each fails for its own reason alone: the forgeries are made from `good`, whose record stays
    intact (the caller checks it still works), so deleting the one check a variant trips (the
    signature, `exp`, the `kid` lookup, ...) lets that variant through and fails the test."""
    for account in ("acct-b", "acct-c", "acct-d", "acct-e"):
        harness.emulator.add_account(account_id=account, email=f"{account}@example.com")
    claims = _claims(good)
    secret, kid = harness.secrets.signing_key.secret, harness.secrets.signing_key.kid
    header_none = b64url_encode(json.dumps({"alg": "none", "kid": kid}).encode())
    body = b64url_encode(json.dumps(claims).encode())
    tokens: dict[str, str | None] = {
        "no_token": None,
        "garbage": "garbage",
        "bad_signature": pyjwt.encode(claims, secrets.token_bytes(32), "HS256", {"kid": kid}),
        "alg_none": f"{header_none}.{body}.",
        "wrong_algorithm": pyjwt.encode(claims, secret, "HS384", {"kid": kid}),
        "expired": _resign(harness, {**claims, "exp": int(harness.clock.now()) - 3600}),
        "unknown_kid": pyjwt.encode(claims, secret, "HS256", {"kid": "retired"}),
        "provider_mismatch": _resign(harness, {**claims, "prov": "xai"}),
        "wrong_key_claim": _resign(
            harness, {**claims, "k": b64url_encode(secrets.token_bytes(32))}
        ),
        "wrong_app": _resign(harness, {**claims, "app": "tenant-2"}),
    }
    # Record deleted behind the JWT's back.
    deleted = await harness.sign_in(account="acct-c")
    await harness.store.delete_record(str(_claims(deleted)["rid"]))
    tokens["record_deleted"] = deleted
    # Revoked through the API.
    revoked = await harness.sign_in(account="acct-d")
    response = await harness.client.post("/authai/auth/revoke", headers=_bearer(revoked))
    assert response.status_code == 204
    tokens["revoked"] = revoked
    # Ciphertext swapped between two other records: each JWT now meets the other's blob.
    swapped, other = (
        await harness.sign_in(account="acct-b"),
        await harness.sign_in(account="acct-e"),
    )
    await _swap_ciphertexts(harness, swapped, other)
    tokens["swapped_ciphertext"] = swapped
    return tokens


async def test_every_auth_failure_is_the_identical_401(harness: Harness) -> None:
    good = await harness.sign_in()
    tokens = await _failure_tokens(harness, good)
    answers = {}
    for name, token in tokens.items():
        for method, path in (("GET", "/authai/auth/whoami"), ("POST", "/authai/auth/revoke")):
            headers = {} if token is None else _bearer(token)
            response = await harness.client.request(method, path, headers=headers)
            answers[(name, path)] = (response.status_code, response.content)
    assert set(answers.values()) == {(401, UNAUTHORIZED)}, answers
    # The record every forgery was made from is intact: only the forging made them fail.
    response = await harness.client.get("/authai/auth/whoami", headers=_bearer(good))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic abc", "bearer x.y.z", "Token abc", "Bearer " + "a" * 10_000],
)
async def test_malformed_authorization_headers_are_the_same_401(
    harness: Harness, authorization: str
) -> None:
    response = await harness.client.get(
        "/authai/auth/whoami", headers={"Authorization": authorization}
    )
    assert (response.status_code, response.content) == (401, UNAUTHORIZED)


async def test_expired_jwt_is_401_after_its_lifetime(harness: Harness) -> None:
    jwt = await harness.sign_in()
    assert (
        await harness.client.get("/authai/auth/whoami", headers=_bearer(jwt))
    ).status_code == 200
    harness.clock.advance(
        harness.authai.settings.token_ttl + harness.authai.settings.jwt_leeway + 1
    )
    response = await harness.client.get("/authai/auth/whoami", headers=_bearer(jwt))
    assert (response.status_code, response.content) == (401, UNAUTHORIZED)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "fragment"),
    [
        ("POST", "/authai/auth/start", {"content": b"{not json"}, 400, "invalid json body"),
        ("POST", "/authai/auth/start", {"content": b"\xff\xfe"}, 400, "invalid json body"),
        ("POST", "/authai/auth/start", {"json": [1, 2]}, 400, "JSON object"),
        ("POST", "/authai/auth/start", {"json": {"provider": 7}}, 400, "provider must be a string"),
        (
            "POST",
            "/authai/auth/start",
            {"json": {"provider": "nope"}},
            400,
            "unknown provider: nope",
        ),
        ("POST", "/authai/auth/start", {"content": b"[" * 5000 + b"]" * 5000}, 400, "invalid json"),
        (
            "POST",
            "/authai/auth/start",
            {"content": b"{}", "headers": {"content-type": "text/plain"}},
            415,
            "application/json",
        ),
        ("POST", "/authai/auth/start", {"json": {"pad": "x" * 20_000}}, 413, "larger than"),
        ("GET", "/authai/auth/start", {}, 405, "method not allowed"),
        ("GET", "/authai/auth/poll/unknown", {}, 404, "session not found"),
        ("GET", "/authai/auth/poll/" + "A" * 43, {}, 404, "session not found"),
        ("GET", "/authai/auth/poll/..%2F..%2Fetc%2Fpasswd", {}, 404, "session not found"),
        ("GET", "/authai/auth/poll/", {}, 404, "session not found"),
        ("GET", "/authai/nope", {}, 404, "not found"),
    ],
)
async def test_bad_input_gets_a_clear_4xx_json_answer(
    harness: Harness,
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
    fragment: str,
) -> None:
    response = await harness.client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert fragment in response.text
    assert "Traceback" not in response.text


async def test_unknown_session_answers_the_contract_body(harness: Harness) -> None:
    response = await harness.client.get("/authai/auth/poll/" + "B" * 43)
    assert response.status_code == 404
    assert response.json() == {"status": "error", "error": "session not found"}


def _bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


@pytest.mark.parametrize(
    "token",
    [
        b64url_encode(b"[" * 2000) + ".e30.AAAA",  # deep JSON header
        "eyJhbGciOiJIUzI1NiJ9.\xe9\xe9.AAAA",  # not ASCII
        "a" * 10 + "." + "b" * 10 + "." + "c" * 10,
    ],
)
async def test_pathological_jwts_are_the_uniform_401_not_a_500(
    harness: Harness, token: str
) -> None:
    response = await harness.client.get(
        "/authai/auth/whoami", headers={b"Authorization": f"Bearer {token}".encode()}
    )
    assert (response.status_code, response.content) == (401, UNAUTHORIZED)


async def test_a_non_ascii_content_length_is_a_400(harness: Harness) -> None:
    response = await harness.client.post(
        "/authai/auth/start", content=b"{}", headers={b"content-length": "\u00b2".encode("latin-1")}
    )
    assert response.status_code == 400
