"""The JWT and vault layer: `SessionSigner.verify` answers `SessionClaims` or `Unauthorized` for
any string, including correctly signed tokens with arbitrary headers and claims; `open_sealed`
answers the plaintext or `Unauthorized` for any key, nonce, blob, record id and provider."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from authai_embed._util.b64 import b64url_encode
from authai_embed.auth.session_jwt import SessionClaims, SessionSigner
from authai_embed.auth.vault import Sealed, new_key, open_sealed, seal
from authai_embed.errors import Unauthorized
from authai_embed.settings import Secrets
from authai_embed.testing import ManualClock
from tests.fuzz.strategies import FUZZ, json_values

SECRETS = Secrets.generate()
NOW = 1_800_000_000
SIGNER = SessionSigner(SECRETS, ttl=3600, leeway=30, clock=ManualClock(NOW))
KID = SECRETS.signing_key.kid
TOKEN_ALPHABET = st.sampled_from(list("abcXYZ019-_.=+/ \x00é"))


def _verify(token: str) -> SessionClaims | None:
    try:
        return SIGNER.verify(token)
    except Unauthorized:
        return None


@FUZZ
@given(token=st.text(max_size=300) | st.text(alphabet=TOKEN_ALPHABET, max_size=300))
def test_any_string_is_unauthorized(token: str) -> None:
    assert _verify(token) is None


def _signed(header: Any, claims: Any) -> str:
    head = b64url_encode(json.dumps(header).encode())
    body = b64url_encode(json.dumps(claims).encode())
    mac = hmac.new(SECRETS.signing_key.secret, f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{b64url_encode(mac.digest())}"


CLAIM_VALUES = {
    "v": st.just(2) | json_values,
    "rid": st.text(max_size=30) | json_values,
    "k": st.just(b64url_encode(bytes(32))) | st.text(max_size=50) | json_values,
    "prov": st.just("openai") | json_values,
    "iat": st.just(NOW) | st.integers() | json_values,
    "exp": st.just(NOW + 60) | st.integers() | json_values,
    "app": json_values,
}
claims = st.fixed_dictionaries({}, optional=CLAIM_VALUES) | json_values
headers = (
    st.fixed_dictionaries(
        {},
        optional={
            "alg": st.sampled_from(["HS256", "none", "RS256", "hs256"]) | json_values,
            "kid": st.just(KID) | json_values,
            "typ": json_values,
        },
    )
    | json_values
)


@FUZZ
@given(header=headers, payload=claims)
def test_signed_tokens_with_any_header_and_claims_verify_or_are_unauthorized(
    header: Any, payload: Any
) -> None:
    result = _verify(_signed(header, payload))
    if result is not None:
        assert header["alg"] == "HS256"
        assert header["kid"] == KID
        assert payload["v"] == 2
        assert len(result.key) == 32
        assert result.expires_at > NOW - 30


text_or_surrogates = st.text(max_size=20) | st.sampled_from(["\ud800", "a\udfffb", "\x00"])


@FUZZ
@given(
    key=st.binary(max_size=40),
    iv=st.binary(max_size=20),
    blob=st.binary(max_size=80),
    record_id=text_or_surrogates,
    provider=text_or_surrogates,
)
def test_opening_anything_is_the_plaintext_or_unauthorized(
    key: bytes, iv: bytes, blob: bytes, record_id: str, provider: str
) -> None:
    try:
        open_sealed(key, Sealed(iv, blob), record_id=record_id, provider=provider)
    except Unauthorized:
        return
    raise AssertionError("random bytes opened as a sealed record")


@FUZZ
@given(flip=st.integers(min_value=0, max_value=10_000), record_id=text_or_surrogates)
def test_a_sealed_record_opens_only_untouched_and_in_place(flip: int, record_id: str) -> None:
    key = new_key()
    sealed = seal(key, b"credentials", record_id="rec", provider="openai")
    assert open_sealed(key, sealed, record_id="rec", provider="openai") == b"credentials"
    blob = bytearray(sealed.blob)
    blob[flip % len(blob)] ^= 1 + flip % 255
    attempts: tuple[Callable[[], bytes], ...] = (
        lambda: open_sealed(
            key, Sealed(sealed.iv, bytes(blob)), record_id="rec", provider="openai"
        ),
        lambda: open_sealed(key, sealed, record_id=record_id or "x", provider="xai"),
    )
    for attempt in attempts:
        try:
            attempt()
        except Unauthorized:
            continue
        raise AssertionError("a tampered or moved record opened")
