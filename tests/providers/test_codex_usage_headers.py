"""How the Codex backend notes each answer's usage headers: the `x-codex-*` headers read in one
pass as `httpx.Headers` reads them, and the plan type read once per account and token."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from authai_embed.credentials import Credentials
from authai_embed.providers.openai.backend import CodexBackend
from authai_embed.providers.openai.config import OpenAIUpstream
from authai_embed.providers.openai.limits import UsageSnapshot, codex_headers
from authai_embed.testing.clock import ManualClock

NOW = 1_800_000_000.0
PLAN_CLAIM = "https://api.openai.com/auth"


def token(plan: str | None, **claims: Any) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    auth = {} if plan is None else {"chatgpt_plan_type": plan}
    return f"{part({'alg': 'RS256'})}.{part({PLAN_CLAIM: auth, **claims})}.signature"


def credentials(access: str, account: str = "acct-1") -> Credentials:
    return Credentials("openai", access, "refresh", None, account, "codex_cli_rs")


def backend() -> CodexBackend:
    return CodexBackend(
        OpenAIUpstream(), httpx.AsyncClient(), originator="codex_cli_rs", clock=ManualClock(NOW)
    )


USAGE = httpx.Headers(
    [
        (b"Content-Type", b"text/event-stream"),
        (b"X-Codex-Primary-Used-Percent", b"12.5"),
        (b"x-codex-primary-reset-after-seconds", b"60"),
        (b"x-codex-secondary-used-percent", b"3"),
        (b"x-codex-secondary-used-percent", b"4"),
        (b"x-codex-credits-has-credits", b"true"),
        (b"x-codex-credits-unlimited", b"false"),
        (b"x-codex-credits-balance", "5 €".encode()),  # UTF-8: the headers' encoding
    ]
)


def test_codex_headers_read_what_httpx_headers_read() -> None:
    found = codex_headers(USAGE)
    names = {name.lower() for name in USAGE if name.lower().startswith("x-codex-")}
    assert found == {name: USAGE[name] for name in names}
    assert found["x-codex-secondary-used-percent"] == "3, 4"  # repeated: joined, as httpx does
    assert codex_headers(httpx.Headers({"content-type": "text/event-stream"})) == {}
    assert UsageSnapshot.from_headers(found, NOW) == UsageSnapshot.from_headers(USAGE, NOW)


def test_non_ascii_values_are_decoded_with_the_headers_encoding() -> None:
    assert codex_headers(USAGE)["x-codex-credits-balance"] == "5 €"
    latin = httpx.Headers([(b"x-codex-credits-balance", "5 \xa3".encode("latin-1"))])
    assert codex_headers(latin) == {"x-codex-credits-balance": "5 \xa3"}


def test_each_answer_notes_a_snapshot_with_the_tokens_plan() -> None:
    codex = backend()
    plus = credentials(token("plus"))
    noted = codex._note_usage(plus, USAGE)
    assert noted is not None
    assert noted == UsageSnapshot.from_headers(USAGE, NOW, plan_type="plus")
    assert codex.usage_snapshot("acct-1") == noted
    assert codex._note_usage(plus, httpx.Headers({"content-type": "text/plain"})) is None


def test_the_plan_type_follows_the_token_of_each_account() -> None:
    codex = backend()
    assert codex._plan_type(credentials(token("plus"))) == "plus"
    assert codex._plan_type(credentials(token("plus"))) == "plus"
    # A refreshed token naming another plan is read again; another account has its own.
    assert codex._plan_type(credentials(token("pro"))) == "pro"
    assert codex._plan_type(credentials(token("team"), "acct-2")) == "team"
    assert codex._plan_type(credentials(token("pro"))) == "pro"
    assert codex._plan_type(credentials(token(None))) is None
    assert codex._plan_type(credentials("not-a-jwt")) is None
    assert codex._plan_type(credentials(token("plus") + ".extra")) is None
