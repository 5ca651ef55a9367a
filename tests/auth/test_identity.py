from __future__ import annotations

import base64
import hashlib
import hmac

from authai_embed.auth.identity import user_id


def test_user_id_matches_the_contract_formula() -> None:
    key = b"k" * 32
    expected = base64.urlsafe_b64encode(
        hmac.new(key, b"openai\x00acct-1", hashlib.sha256).digest()
    ).rstrip(b"=")
    assert user_id(key, "openai", "acct-1") == expected.decode()


def test_user_id_is_stable_and_separates_providers_and_keys() -> None:
    key = b"k" * 32
    assert user_id(key, "openai", "a") == user_id(key, "openai", "a")
    assert user_id(key, "openai", "a") != user_id(key, "xai", "a")
    assert user_id(key, "openai", "a") != user_id(b"j" * 32, "openai", "a")
    # The separator keeps (provider, account) pairs from colliding.
    assert user_id(key, "open", "aia") != user_id(key, "opena", "ia")
    assert "=" not in user_id(key, "openai", "a")
