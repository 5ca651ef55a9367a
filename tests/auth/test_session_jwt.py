from __future__ import annotations

import base64
import json
import secrets

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from authai_embed import Secrets
from authai_embed._util.b64 import b64url_encode
from authai_embed.auth.session_jwt import MAX_JWT_LENGTH, SessionSigner
from authai_embed.errors import Unauthorized
from authai_embed.testing import ManualClock

KEY = bytes(range(32))
NOW = 1_800_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def keys() -> Secrets:
    return Secrets.generate()


def signer(secrets_: Secrets, clock: ManualClock, ttl: int = 3600) -> SessionSigner:
    return SessionSigner(secrets_, ttl=ttl, leeway=30, clock=clock)


def _b64(obj: object) -> str:
    return b64url_encode(json.dumps(obj).encode())


def forge(secret: bytes, kid: str, claims: dict[str, object], alg: str = "HS256") -> str:
    return pyjwt.encode(claims, secret, algorithm=alg, headers={"kid": kid})


def good_claims() -> dict[str, object]:
    return {
        "v": 2,
        "rid": "r1",
        "k": b64url_encode(KEY),
        "prov": "openai",
        "iat": int(NOW),
        "exp": int(NOW) + 60,
    }


def test_issue_and_verify(keys: Secrets, clock: ManualClock) -> None:
    token, exp = signer(keys, clock).issue(record_id="r1", key=KEY, provider="openai")
    claims = signer(keys, clock).verify(token)
    assert (claims.record_id, claims.key, claims.provider, claims.expires_at) == (
        "r1",
        KEY,
        "openai",
        exp,
    )
    assert claims.app_id is None


def test_unverified_decode_carries_prov_and_exp_for_the_react_sdk(
    keys: Secrets, clock: ManualClock
) -> None:
    token, exp = signer(keys, clock).issue(record_id="r1", key=KEY, provider="openai")
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["prov"] == "openai"
    assert payload["exp"] == exp
    assert payload["v"] == 2
    header = pyjwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    assert header["kid"] == keys.signing_key.kid


def test_expired_token_is_rejected_after_leeway(keys: Secrets, clock: ManualClock) -> None:
    token, _ = signer(keys, clock, ttl=60).issue(record_id="r1", key=KEY, provider="openai")
    clock.advance(60 + 29)
    signer(keys, clock).verify(token)
    clock.advance(2)
    with pytest.raises(Unauthorized):
        signer(keys, clock).verify(token)


def test_old_key_still_verifies_after_rotation(clock: ManualClock) -> None:
    old, new = secrets.token_hex(32), secrets.token_hex(32)
    identity = secrets.token_hex(32)
    before = Secrets.from_hex(old, identity)
    token, _ = signer(before, clock).issue(record_id="r1", key=KEY, provider="openai")
    after = Secrets.from_hex(f"{new},{old}", identity)
    assert signer(after, clock).verify(token).record_id == "r1"
    fresh, _ = signer(after, clock).issue(record_id="r2", key=KEY, provider="openai")
    assert pyjwt.get_unverified_header(fresh)["kid"] == after.signing_key.kid
    with pytest.raises(Unauthorized):
        signer(before, clock).verify(fresh)
    dropped = Secrets.from_hex(new, identity)
    with pytest.raises(Unauthorized):
        signer(dropped, clock).verify(token)


def _rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def forged_variants(keys: Secrets) -> dict[str, str]:
    secret, kid = keys.signing_key.secret, keys.signing_key.kid
    none_token = f"{_b64({'alg': 'none', 'kid': kid})}.{_b64(good_claims())}."
    variants = {
        "alg_none": none_token,
        "hs512": forge(secret, kid, good_claims(), alg="HS512"),
        "rs256": pyjwt.encode(good_claims(), _rsa_pem(), algorithm="RS256", headers={"kid": kid}),
        "bad_signature": forge(secrets.token_bytes(32), kid, good_claims()),
        "unknown_kid": forge(secret, "nope", good_claims()),
        "no_kid": pyjwt.encode(good_claims(), secret, algorithm="HS256"),
        "garbage": "not.a.jwt",
        "empty": "",
        "oversized": forge(secret, kid, {**good_claims(), "pad": "x" * MAX_JWT_LENGTH}),
        "non_base64_key": forge(secret, kid, {**good_claims(), "k": "***"}),
        "short_key": forge(secret, kid, {**good_claims(), "k": b64url_encode(b"short")}),
        "wrong_version": forge(secret, kid, {**good_claims(), "v": 1}),
        "exp_string": forge(secret, kid, {**good_claims(), "exp": "never"}),
        "iat_in_future": forge(secret, kid, {**good_claims(), "iat": int(NOW) + 3600}),
        "expired": forge(secret, kid, {**good_claims(), "exp": int(NOW) - 3600}),
    }
    for claim in ("v", "rid", "k", "prov", "iat", "exp"):
        claims = good_claims()
        del claims[claim]
        variants[f"missing_{claim}"] = forge(secret, kid, claims)
    # HS/RS confusion: an HS256 token whose "secret" is a public key text.
    variants["hs_with_public_key_text"] = forge(
        b"-----BEGIN PUBLIC KEY-----" + b"x" * 40, kid, good_claims()
    )
    return variants


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_every_forged_or_malformed_token_is_unauthorized(keys: Secrets, clock: ManualClock) -> None:
    s = signer(keys, clock)
    s.verify(forge(keys.signing_key.secret, keys.signing_key.kid, good_claims()))
    for name, token in forged_variants(keys).items():
        with pytest.raises(Unauthorized):
            s.verify(token)
        assert name  # the loop covers each variant by name in failure output


def test_a_cached_verification_still_expires(keys: Secrets, clock: ManualClock) -> None:
    s = signer(keys, clock, ttl=60)
    token, _ = s.issue(record_id="r1", key=KEY, provider="openai")
    assert s.verify(token).record_id == "r1"
    assert s.verify(token).record_id == "r1"  # from the cache
    clock.advance(60 + 31)
    with pytest.raises(Unauthorized):
        s.verify(token)


def test_a_tampered_copy_of_a_cached_token_is_still_checked(
    keys: Secrets, clock: ManualClock
) -> None:
    s = signer(keys, clock)
    token, _ = s.issue(record_id="r1", key=KEY, provider="openai")
    s.verify(token)
    head, payload, sig = token.split(".")
    with pytest.raises(Unauthorized):
        s.verify(f"{head}.{payload}.{sig[:-2]}AA")
