"""AES-256-GCM sealing of credential records.

Each record has its own random 256-bit key, never stored server-side: it travels in the user's
session JWT (claim `k`). The associated data binds a ciphertext to its record id and provider, so
a blob copied to another row fails to open. docs/security.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from authai_embed.errors import Unauthorized

__all__ = [
    "KEY_BYTES",
    "NONCE_BYTES",
    "Sealed",
    "associated_data",
    "new_key",
    "open_sealed",
    "seal",
]

KEY_BYTES = 32
NONCE_BYTES = 12


@dataclass(frozen=True, slots=True)
class Sealed:
    """A nonce and the ciphertext with its 16-byte GCM tag appended."""

    iv: bytes
    blob: bytes


def new_key() -> bytes:
    """A fresh random AES-256 key for one record."""
    return os.urandom(KEY_BYTES)


def associated_data(record_id: str, provider: str) -> bytes:
    """`b"authai:v2:" + record_id + b"\\x00" + provider`, as the wire contract defines it."""
    return b"authai:v2:" + record_id.encode() + b"\x00" + provider.encode()


def seal(key: bytes, plaintext: bytes, *, record_id: str, provider: str) -> Sealed:
    """Encrypt `plaintext` for one record under a new random nonce."""
    iv = os.urandom(NONCE_BYTES)
    blob = AESGCM(key).encrypt(iv, plaintext, associated_data(record_id, provider))
    return Sealed(iv=iv, blob=blob)


def open_sealed(key: bytes, sealed: Sealed, *, record_id: str, provider: str) -> bytes:
    """Decrypt a sealed record. Any mismatch (key, nonce, record, provider, tampering) raises
    `Unauthorized`, which carries no detail."""
    if len(key) != KEY_BYTES or len(sealed.iv) != NONCE_BYTES:
        raise Unauthorized()
    try:
        return AESGCM(key).decrypt(sealed.iv, sealed.blob, associated_data(record_id, provider))
    except (InvalidTag, UnicodeEncodeError):  # an id no record can have (lone surrogates)
        raise Unauthorized() from None
