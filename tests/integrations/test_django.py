"""Django: `mount_authai(get_asgi_application())` serves /authai, the rest stays Django's; the
middleware, `@authai_required` (sync and async views) and the system check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai.types.chat import ChatCompletionMessageParam

from authai_embed import AuthAI, MemoryStore, Secrets, WhoAmI, mount_authai
from authai_embed.integrations.django import (
    async_openai_client,
    authai_required,
    openai_client,
)
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio

CURRENT: AuthAI | None = None
"""The `AuthAI` the views use (`AUTHAI_INSTANCE` names this), set by each test."""

CHAT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


def django_app() -> Any:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test-only-not-secret",
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver", "t", "app.test"],
            MIDDLEWARE=[
                "django.middleware.csrf.CsrfViewMiddleware",
                "authai_embed.integrations.django.AuthAIMiddleware",
            ],
            INSTALLED_APPS=["authai_embed.integrations.django"],
            AUTHAI_INSTANCE=f"{__name__}.CURRENT",
        )
        django.setup()
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


def hello(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("django says hi")


def _who(user: WhoAmI | None) -> dict[str, Any]:
    return {"anonymous": True} if not user else {"id": user.user_id, "provider": user.provider}


def me_sync(request: Any) -> Any:
    from django.http import JsonResponse

    return JsonResponse(_who(request.authai_user))


async def me_async(request: Any) -> Any:
    from django.http import JsonResponse

    return JsonResponse(_who(await request.authai_auser()))


async def lazy_in_async(request: Any) -> Any:
    from django.http import JsonResponse

    try:
        bool(request.authai_user)
    except RuntimeError as exc:
        return JsonResponse({"error": str(exc)})
    return JsonResponse({"error": None})


@authai_required
def chat_sync(request: Any) -> Any:
    from django.http import JsonResponse

    answer = openai_client(request).chat.completions.create(model="gpt-5.4", messages=CHAT)
    user: WhoAmI = request.authai_user
    return JsonResponse({"text": answer.choices[0].message.content, "provider": user.provider})


@authai_required
async def chat_async(request: Any) -> Any:
    from django.http import JsonResponse

    client = async_openai_client(request)
    answer = await client.chat.completions.create(model="gpt-5.4", messages=CHAT)
    user: WhoAmI = request.authai_user
    return JsonResponse({"text": answer.choices[0].message.content, "provider": user.provider})


def _urls() -> list[Any]:
    from django.urls import path

    return [
        path("hello", hello),
        path("me-sync", me_sync),
        path("me-async", me_async),
        path("lazy-in-async", lazy_in_async),
        path("chat-sync", chat_sync),
        path("chat-async", chat_async),
    ]


urlpatterns: list[Any] = []  # Django reads this module as ROOT_URLCONF; filled in the tests


@pytest.fixture
def django_client(harness: Harness) -> Iterator[httpx.AsyncClient]:
    """A client of Django's ASGI application whose views use the harness's `AuthAI`."""
    global CURRENT
    application = django_app()
    urlpatterns[:] = _urls()
    CURRENT = harness.authai
    yield httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t")
    CURRENT = None


async def test_django_keeps_its_paths_and_authai_serves_its_mount() -> None:
    application = django_app()
    urlpatterns[:] = _urls()
    authai = mount_authai(application, store=MemoryStore(), secrets=Secrets.generate())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=authai), base_url="http://t")
    assert (await client.get("/hello")).text == "django says hi"
    assert (await client.get("/authai/")).json() == {"ok": True, "service": "authai-relay"}
    who = await client.get("/authai/auth/whoami")
    assert who.status_code == 401
    assert who.content == b'{"error":"unauthorized"}'


@pytest.mark.parametrize("path", ["/me-sync", "/me-async"])
async def test_the_middleware_tells_who_is_calling(
    harness: Harness, django_client: httpx.AsyncClient, path: str
) -> None:
    jwt = await harness.sign_in()
    who = await harness.authai.whoami(jwt)
    signed_in = await django_client.get(path, headers={"Authorization": f"Bearer {jwt}"})
    assert signed_in.json() == {"id": who.user_id, "provider": "openai"}
    assert (await django_client.get(path)).json() == {"anonymous": True}
    bad = await django_client.get(path, headers={"Authorization": "Bearer junk"})
    assert bad.json() == {"anonymous": True}


async def test_the_lazy_attribute_in_an_async_view_says_what_to_use(
    harness: Harness, django_client: httpx.AsyncClient
) -> None:
    jwt = await harness.sign_in()
    answer = await django_client.get("/lazy-in-async", headers={"Authorization": f"Bearer {jwt}"})
    assert "await request.authai_auser()" in answer.json()["error"]


@pytest.mark.parametrize("path", ["/chat-sync", "/chat-async"])
async def test_authai_required_views_chat_as_the_user_without_a_csrf_token(
    harness: Harness, django_client: httpx.AsyncClient, path: str
) -> None:
    jwt = await harness.sign_in()
    # A POST with no CSRF token: CsrfViewMiddleware is on, the view is exempt (bearer auth).
    answer = await django_client.post(path, headers={"Authorization": f"Bearer {jwt}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["provider"] == "openai"
    assert answer.json()["text"]


@pytest.mark.parametrize("path", ["/chat-sync", "/chat-async"])
async def test_authai_required_is_a_401_without_a_session(
    django_client: httpx.AsyncClient, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer junk"}):
        answer = await django_client.post(path, headers=headers)
        assert (answer.status_code, answer.json()) == (401, {"detail": "unauthorized"})
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/chat-sync", "/chat-async"])
async def test_cookie_mode_refuses_a_cross_site_post(
    make_harness: Any, django_client: httpx.AsyncClient, path: str
) -> None:
    global CURRENT
    harness: Harness = await make_harness(session_cookie=True)
    CURRENT = harness.authai
    started = (await harness.client.post("/authai/auth/start", json={})).json()
    harness.approve("openai", started["userCode"])
    harness.clock.advance(started["pollIntervalMs"] / 1000)
    polled = await harness.client.get(f"/authai/auth/poll/{started['sessionId']}")
    cookie = polled.headers["set-cookie"].split(";")[0]
    cross = {"Cookie": cookie, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    refused = await django_client.post(path, headers=cross)
    assert (refused.status_code, refused.json()) == (403, {"detail": "cross-site request refused"})
    same = {"Cookie": cookie, "Origin": "http://t", "Sec-Fetch-Site": "same-origin"}
    assert (await django_client.post(path, headers=same)).status_code == 200


# -- the system check -------------------------------------------------------------------------


# Past `Secrets.from_hex`'s placeholder test (8 distinct bytes), not random all the same.
WEAK_SECRETS = Secrets.from_hex("0123456789abcdef" * 4, "fedcba9876543210" * 4)
WEAK = AuthAI(secrets=WEAK_SECRETS, store=MemoryStore())
STRONG = AuthAI(secrets=Secrets.generate(), store=MemoryStore())
NOT_AN_AUTHAI = object()


def _check(instance: str | None) -> list[str]:
    from django.test import override_settings

    from authai_embed.integrations.django.checks import check_authai

    django_app()
    with override_settings(AUTHAI_INSTANCE=instance):
        return [f"{message.id}: {message.msg}" for message in check_authai()]


def test_the_check_passes_strong_secrets() -> None:
    assert _check(f"{__name__}.STRONG") == []


def test_the_check_reports_weak_secrets() -> None:
    assert _check(f"{__name__}.WEAK") == [
        "authai_embed.W001: AUTH_AI_JWT_SECRET looks weak (too few distinct bytes to be random)",
        "authai_embed.W001: AUTH_AI_IDENTITY_SECRET looks weak (too few distinct bytes to be "
        "random)",
    ]


def test_the_check_reports_missing_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "authai_missing_secrets.py").write_text(
        "from authai_embed import AuthAI, Secrets\nauthai = AuthAI(secrets=Secrets.from_env({}))\n"
    )
    monkeypatch.syspath_prepend(tmp_path)
    found = _check("authai_missing_secrets.authai")
    assert len(found) == 1
    assert found[0].startswith("authai_embed.E002: ")
    assert "AUTH_AI_JWT_SECRET is not set" in found[0]


@pytest.mark.parametrize(
    ("instance", "code"),
    [(None, "E001"), ("no_such_module.authai", "E003"), (f"{__name__}.NOT_AN_AUTHAI", "E004")],
)
def test_the_check_reports_a_bad_instance(instance: str | None, code: str) -> None:
    found = _check(instance)
    assert len(found) == 1
    assert found[0].startswith(f"authai_embed.{code}: ")


def test_the_check_runs_with_manage_py_check() -> None:
    from django.core import checks

    django_app()
    assert any(
        getattr(check, "__name__", "") == "check_authai"
        for check in checks.registry.registry.get_checks()
    )
