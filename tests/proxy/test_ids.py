"""Completion ids: unique within a mount, unrelated across mounts, in OpenAI's shape."""

from __future__ import annotations

import re

from authai_embed._util.ids import IdMint


def test_ids_are_unique_and_url_safe() -> None:
    mint = IdMint()
    ids = [mint.new("chatcmpl-") for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"chatcmpl-[A-Za-z0-9_-]{24}", i) for i in ids)


def test_two_mints_never_share_a_sequence() -> None:
    first, second = IdMint(), IdMint()
    assert {first.new("x") for _ in range(100)}.isdisjoint({second.new("x") for _ in range(100)})
