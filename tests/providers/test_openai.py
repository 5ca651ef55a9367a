"""The ChatGPT provider against the emulator: device flow, exchange, refresh rotation, faults."""

from __future__ import annotations

import httpx
import pytest

from authai_embed import Credentials, OpenAIUpstream, SignInDisabled, Unauthorized, UpstreamError
from authai_embed.providers.openai.signin import OpenAIProvider
from authai_embed.testing import TOKEN_MARKER, Emulator, ManualClock
from tests._support.harness import ISSUER

pytestmark = pytest.mark.anyio


def provider_for(emulator: Emulator, clock: ManualClock) -> OpenAIProvider:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator))
    return OpenAIProvider(OpenAIUpstream(issuer=ISSUER), http, originator="test-app", clock=clock)


async def signed_in(emulator: Emulator, provider: OpenAIProvider) -> Credentials:
    start = await provider.start_device_login()
    emulator.approve(start.user_code)
    result = await provider.poll_device_login(start.state)
    assert result.status == "complete"
    assert result.credentials is not None
    return result.credentials


async def test_device_flow_exchange_and_account_id(emulator: Emulator, clock: ManualClock) -> None:
    provider = provider_for(emulator, clock)
    start = await provider.start_device_login()
    assert start.verification_url == f"{ISSUER}/codex/device"
    assert start.interval == 5.0  # the server sends "5", a string
    assert start.expires_in == 15 * 60
    assert (await provider.poll_device_login(start.state)).status == "pending"
    assert emulator.device_authorizations()[-1].originator == "test-app"
    emulator.approve(start.user_code)
    result = await provider.poll_device_login(start.state)
    creds = result.credentials
    assert creds is not None
    assert creds.account_id == emulator.default_account.account_id
    assert creds.refresh is not None
    assert creds.expires_at == clock.now() + 3600
    assert creds.originator == "test-app"
    assert TOKEN_MARKER in creds.access
    assert TOKEN_MARKER not in repr(creds)


async def test_refresh_rotates_and_a_reused_token_is_rejected(
    emulator: Emulator, clock: ManualClock
) -> None:
    provider = provider_for(emulator, clock)
    creds = await signed_in(emulator, provider)
    fresh = await provider.refresh(creds)
    assert fresh.refresh != creds.refresh
    assert fresh.access != creds.access
    assert fresh.account_id == creds.account_id
    assert emulator.stats.refreshes == 1
    with pytest.raises(Unauthorized):
        await provider.refresh(creds)  # the old, already-rotated refresh token
    assert emulator.stats.refresh_failures[-1] == "refresh_token_reused"
    assert (await provider.refresh(fresh)).refresh != fresh.refresh


async def test_plain_invalid_grant_is_also_a_rejection(
    emulator: Emulator, clock: ManualClock
) -> None:
    emulator.knobs.refresh_rejection = "invalid_grant"
    provider = provider_for(emulator, clock)
    creds = await signed_in(emulator, provider)
    await provider.refresh(creds)
    with pytest.raises(Unauthorized):
        await provider.refresh(creds)


async def test_denied_and_expired_polls(emulator: Emulator, clock: ManualClock) -> None:
    provider = provider_for(emulator, clock)
    denied = await provider.start_device_login()
    emulator.deny(denied.user_code)
    assert (await provider.poll_device_login(denied.state)).status == "denied"
    late = await provider.start_device_login()
    clock.advance(15 * 60 + 1)
    assert (await provider.poll_device_login(late.state)).status == "expired"


async def test_device_login_disabled_is_a_clear_upstream_error(
    emulator: Emulator, clock: ManualClock
) -> None:
    emulator.knobs.device_login_available = False
    with pytest.raises(SignInDisabled, match="Device code sign-in is turned off") as caught:
        await provider_for(emulator, clock).start_device_login()
    assert caught.value.code == "device_code_disabled"
    assert caught.value.help_url == "https://chatgpt.com/security-settings"


class _Failing(httpx.AsyncBaseTransport):
    """A transport standing for a network fault (nothing answers)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (httpx.ConnectError("refused"), 502, "could not be reached"),
        (httpx.ReadTimeout("slow"), 504, "did not answer in time"),
    ],
)
async def test_network_faults_become_upstream_errors_without_details(
    clock: ManualClock, error: Exception, status: int, words: str
) -> None:
    http = httpx.AsyncClient(transport=_Failing(error))
    provider = OpenAIProvider(OpenAIUpstream(issuer=ISSUER), http, originator="x", clock=clock)
    creds = Credentials("openai", f"at-{TOKEN_MARKER}", f"rt-{TOKEN_MARKER}", None, "acct", "x")
    for call in (provider.start_device_login(), provider.refresh(creds)):
        with pytest.raises(UpstreamError) as info:
            await call
        assert info.value.status == status
        assert words in info.value.message
        assert TOKEN_MARKER not in str(info.value)
        assert info.value.__cause__ is None
