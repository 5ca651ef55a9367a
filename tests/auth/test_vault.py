from __future__ import annotations

import pytest

from authai_embed.auth.vault import NONCE_BYTES, Sealed, associated_data, new_key, open_sealed, seal
from authai_embed.errors import Unauthorized


def test_round_trip() -> None:
    key = new_key()
    sealed = seal(key, b"secret", record_id="r1", provider="openai")
    assert open_sealed(key, sealed, record_id="r1", provider="openai") == b"secret"
    assert len(sealed.iv) == NONCE_BYTES
    assert b"secret" not in sealed.blob


def test_every_seal_uses_a_fresh_nonce() -> None:
    key = new_key()
    nonces = {seal(key, b"x", record_id="r", provider="openai").iv for _ in range(200)}
    assert len(nonces) == 200


def test_fresh_keys_differ() -> None:
    assert len({new_key() for _ in range(50)}) == 50


def test_associated_data_matches_the_contract() -> None:
    assert associated_data("rid", "openai") == b"authai:v2:rid\x00openai"


@pytest.mark.parametrize(
    ("record_id", "provider"), [("r2", "openai"), ("r1", "xai"), ("r1\x00openai", "")]
)
def test_ciphertext_is_bound_to_its_record_and_provider(record_id: str, provider: str) -> None:
    key = new_key()
    sealed = seal(key, b"secret", record_id="r1", provider="openai")
    with pytest.raises(Unauthorized):
        open_sealed(key, sealed, record_id=record_id, provider=provider)


def test_wrong_key_tampering_and_bad_nonce_are_unauthorized() -> None:
    key = new_key()
    sealed = seal(key, b"secret", record_id="r", provider="openai")
    with pytest.raises(Unauthorized):
        open_sealed(new_key(), sealed, record_id="r", provider="openai")
    flipped = bytes([sealed.blob[0] ^ 1]) + sealed.blob[1:]
    with pytest.raises(Unauthorized):
        open_sealed(key, Sealed(sealed.iv, flipped), record_id="r", provider="openai")
    with pytest.raises(Unauthorized):
        open_sealed(key, Sealed(b"short", sealed.blob), record_id="r", provider="openai")
    with pytest.raises(Unauthorized):
        open_sealed(b"short", sealed, record_id="r", provider="openai")
