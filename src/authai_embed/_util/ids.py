"""Ids for the answers the proxy makes up (`chatcmpl-...`): unique and unguessable.

The randomness is drawn once, as a key, and each id is the keyed BLAKE2b hash of a counter: as
unpredictable to a client as random bytes, without a read of the kernel's random source (a
system call that gives up the GIL) per proxied request.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets

__all__ = ["IdMint"]


class IdMint:
    """Makes ids of the form `<prefix><24 url-safe characters>`; one per `AuthAI`."""

    __slots__ = ("_counter", "_key")

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._counter = itertools.count()

    def new(self, prefix: str) -> str:
        """A fresh id: 18 bytes (144 bits) of keyed hash output, base64url-encoded."""
        number = next(self._counter).to_bytes(8, "big")
        digest = hashlib.blake2b(number, key=self._key, digest_size=18).digest()
        return prefix + base64.urlsafe_b64encode(digest).decode("ascii")
