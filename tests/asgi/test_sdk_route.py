"""`{mount}/sdk.js`: the packaged web component, with its content type, ETag, cache headers,
304 revalidation and HEAD; under a framework mount and under `AuthAI.wrap`."""

from __future__ import annotations

import hashlib
from importlib.resources import files

import httpx
import pytest

from authai_embed import MemoryStore, Secrets, mount_authai
from authai_embed.asgi.sdk_route import SdkScript, sdk_script
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio

PACKAGED = files("authai_embed").joinpath("web", "authai-signin.js").read_bytes()


def test_the_version_is_a_hash_of_the_packaged_script() -> None:
    script = sdk_script()
    assert script.body == PACKAGED
    assert script.version == hashlib.sha256(PACKAGED).hexdigest()[:16]
    assert script.etag == f'"{script.version}"'
    assert SdkScript(PACKAGED + b"\n").version != script.version


def test_the_script_is_a_module_defining_the_element_without_innerhtml() -> None:
    text = PACKAGED.decode()
    assert 'customElements.define("authai-signin"' in text
    assert "innerHTML" not in text
    assert "insertAdjacentHTML" not in text
    assert "document.write" not in text


async def test_get_serves_javascript_with_etag_and_short_cache(harness: Harness) -> None:
    res = await harness.client.get("/authai/sdk.js")
    assert res.status_code == 200
    assert res.headers["content-type"] == "text/javascript; charset=utf-8"
    assert res.headers["etag"] == sdk_script().etag
    assert res.headers["cache-control"] == "public, max-age=300"
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.content == PACKAGED
    assert harness.authai.sdk_version == sdk_script().version


async def test_the_versioned_url_is_immutable_and_a_stale_version_is_not(harness: Harness) -> None:
    pinned = await harness.client.get(f"/authai/sdk.js?v={harness.authai.sdk_version}")
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert pinned.content == PACKAGED
    stale = await harness.client.get("/authai/sdk.js?v=0123456789abcdef")
    assert stale.headers["cache-control"] == "public, max-age=300"


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"other", {etag}', "*"],
)
async def test_a_current_etag_gets_304_without_body(harness: Harness, if_none_match: str) -> None:
    header = if_none_match.format(etag=sdk_script().etag)
    res = await harness.client.get("/authai/sdk.js", headers={"If-None-Match": header})
    assert res.status_code == 304
    assert res.content == b""
    assert res.headers["etag"] == sdk_script().etag
    assert res.headers["cache-control"] == "public, max-age=300"


async def test_a_stale_etag_gets_the_script(harness: Harness) -> None:
    res = await harness.client.get("/authai/sdk.js", headers={"If-None-Match": '"stale"'})
    assert res.status_code == 200
    assert res.content == PACKAGED


async def test_head_has_the_headers_and_no_body(harness: Harness) -> None:
    res = await harness.client.head("/authai/sdk.js")
    assert res.status_code == 200
    assert res.content == b""
    assert res.headers["content-length"] == str(len(PACKAGED))
    assert res.headers["content-type"] == "text/javascript; charset=utf-8"
    assert res.headers["etag"] == sdk_script().etag


async def test_other_methods_are_refused(harness: Harness) -> None:
    res = await harness.client.post("/authai/sdk.js")
    assert res.status_code == 405
    assert res.headers["allow"] == "GET, HEAD"


async def test_served_under_wrap_for_non_framework_apps() -> None:
    async def host(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the host app must not see /authai/sdk.js")

    authai = mount_authai(host, store=MemoryStore(), secrets=Secrets.generate())
    transport = httpx.ASGITransport(app=authai)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        res = await client.get("/authai/sdk.js")
    assert res.status_code == 200
    assert res.content == PACKAGED
