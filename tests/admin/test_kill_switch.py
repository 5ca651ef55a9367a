"""The kill switch: pauses answered with 503 and a clear message, shared through the store,
seen by every mount within `CACHE_SECONDS`, and read at most once per interval per mount."""

from __future__ import annotations

import pytest

from authai_embed import AuthStore, InvalidRequest, MemoryStore
from authai_embed.admin.kill_switch import CACHE_SECONDS
from authai_embed.stores.base import Control
from tests._support.harness import START, Harness, HarnessFactory

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hello"}]}


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def chat_status(harness: Harness, jwt: str) -> int:
    response = await harness.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt)
    )
    return response.status_code


async def test_paused_model_calls_get_503_in_openai_envelope(harness: Harness) -> None:
    jwt = await harness.sign_in()
    await harness.authai.pause(by="ops")

    response = await harness.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt)
    )

    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "message": "model calls are paused by the site's administrator",
            "type": "service_unavailable",
            "code": "paused",
        }
    }
    assert "retry-after" not in response.headers
    models = await harness.client.get("/authai/v1/models", headers=bearer(jwt))
    assert models.status_code == 503


async def test_a_pause_with_an_end_sends_retry_after_and_lifts_by_itself(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    await harness.authai.pause(by="ops", until=harness.clock.now() + 90)

    response = await harness.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt)
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "90"

    harness.clock.advance(90)
    assert await chat_status(harness, jwt) == 200


async def test_pausing_one_provider_leaves_the_others_serving(harness: Harness) -> None:
    openai_jwt = await harness.sign_in()
    github_jwt = await harness.sign_in(provider="github")
    await harness.authai.pause(provider="chatgpt", by="ops")  # an alias names the provider

    assert await chat_status(harness, openai_jwt) == 503
    assert (
        await harness.client.get("/authai/v1/models", headers=bearer(github_jwt))
    ).status_code == 200
    response = await harness.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=bearer(openai_jwt)
    )
    assert response.json()["error"]["message"] == (
        "openai model calls are paused by the site's administrator"
    )

    assert await harness.authai.resume(provider="openai", by="ops") is True
    assert await chat_status(harness, openai_jwt) == 200


async def test_paused_signins_get_503_in_the_auth_shape(harness: Harness) -> None:
    jwt = await harness.sign_in()  # signed in before the pause: still served
    await harness.authai.pause(signins=True, by="ops", until="2027-01-15T09:00:00Z")  # START + 1 h

    response = await harness.client.post("/authai/auth/start", json={})

    assert response.status_code == 503
    assert response.json() == {
        "error": "sign-ins are paused by the site's administrator",
        "code": "paused",
    }
    assert response.headers["retry-after"] == str(int(START + 3600 - harness.clock.now()))
    assert await chat_status(harness, jwt) == 200
    await harness.authai.resume(signins=True, by="ops")
    assert (await harness.client.post("/authai/auth/start", json={})).status_code == 200


async def test_a_pause_set_elsewhere_applies_here_after_the_cache_interval(
    make_harness: HarnessFactory,
) -> None:
    here = await make_harness()
    elsewhere = await make_harness(store=here.store)  # another mount sharing the store
    jwt = await here.sign_in()
    assert await chat_status(here, jwt) == 200  # reads (and caches) the controls

    await elsewhere.authai.pause(by="ops")
    here.clock.advance(CACHE_SECONDS - 0.5)
    assert await chat_status(here, jwt) == 200  # the cached state, younger than the interval
    here.clock.advance(0.5)
    assert await chat_status(here, jwt) == 503

    await elsewhere.authai.resume(by="ops")
    assert await chat_status(here, jwt) == 503
    here.clock.advance(CACHE_SECONDS)
    assert await chat_status(here, jwt) == 200


class CountingStore(MemoryStore):
    """A memory store that counts how often the controls are read."""

    def __init__(self) -> None:
        super().__init__()
        self.control_reads = 0

    async def list_controls(self, app_id: str | None) -> list[Control]:
        self.control_reads += 1
        return await super().list_controls(app_id)


async def test_requests_read_the_controls_once_per_interval(make_harness: HarnessFactory) -> None:
    store = CountingStore()
    harness = await make_harness(store=store)
    jwt = await harness.sign_in()
    reads = store.control_reads
    for _ in range(5):
        assert await chat_status(harness, jwt) == 200
    assert store.control_reads - reads <= 1
    harness.clock.advance(CACHE_SECONDS)
    for _ in range(5):
        assert await chat_status(harness, jwt) == 200
    assert store.control_reads - reads <= 2


async def test_controls_lists_the_pauses_in_force(harness: Harness, store: AuthStore) -> None:
    now = harness.clock.now()
    await harness.authai.pause(by="alice")
    await harness.authai.pause(signins=True, by="bob", until=now + 60)

    controls = await harness.authai.controls()

    assert controls.pauses == (
        Control("models", None, "alice", now),
        Control("signins", now + 60, "bob", now),
    )
    assert controls.signins_paused
    assert controls.models_paused("xai")
    harness.clock.advance(60)
    assert [c.name for c in (await harness.authai.controls()).pauses] == ["models"]


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"signins": True, "provider": "openai"}, "provider"),
        ({"provider": "nope"}, "provider"),
        ({"until": "yesterday"}, "until"),
        ({"until": 1.0}, "until"),
    ],
)
async def test_a_pause_that_makes_no_sense_is_refused(
    harness: Harness, options: dict[str, object], param: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await harness.authai.pause(by="ops", **options)  # type: ignore[arg-type]
    assert caught.value.param == param
    assert (await harness.authai.controls()).pauses == ()


async def test_pause_and_resume_are_audited(harness: Harness) -> None:
    await harness.authai.pause(by="alice", provider="xai")
    await harness.authai.resume(by="bob", provider="xai")
    await harness.authai.resume(by="bob", provider="xai")

    entries = await harness.authai.audit_log()

    assert [(e.actor, e.action, e.target, e.detail) for e in entries] == [
        ("alice", "pause", "models:xai", None),
        ("bob", "resume", "models:xai", None),
        ("bob", "resume", "models:xai", "was not paused"),
    ]
    assert all(e.at == harness.clock.now() for e in entries)


async def test_paused_messages_get_503_in_anthropics_envelope(harness: Harness) -> None:
    jwt = await harness.sign_in()
    await harness.authai.pause(by="ops", until=harness.clock.now() + 30)
    body = {"model": "gpt-5.4", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}

    response = await harness.client.post(
        "/authai/v1/messages", json=body, headers={"x-api-key": jwt}
    )

    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert response.json() == {
        "type": "error",
        "error": {
            "type": "overloaded_error",
            "message": "model calls are paused by the site's administrator",
        },
    }
