"""Django: `mount_authai(get_asgi_application())` serves /authai, the rest stays Django's."""

from __future__ import annotations

import httpx
import pytest

from authai_embed import MemoryStore, Secrets, mount_authai

pytestmark = pytest.mark.anyio


def django_app() -> object:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test-only-not-secret",
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver", "t"],
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
        )
        django.setup()
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


def hello(request: object) -> object:
    from django.http import HttpResponse

    return HttpResponse("django says hi")


def _urls() -> list[object]:
    from django.urls import path

    return [path("hello", hello)]


urlpatterns: list[object] = []  # Django reads this module as ROOT_URLCONF; filled in the test


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
