"""The pytest plugin a host's own tests use (`authai_embed.testing.pytest_plugin`): the example
that opens docs/testing.md runs as written, and the fixtures do what they say."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ("-p", "authai_embed.testing.pytest_plugin")
# Every warning an error, as in our suite, except pytest's note that the plugin module cannot be
# assert-rewritten: an earlier test of the same session (the docs harness) may have imported it.
STRICT = (
    "-p",
    "no:cacheprovider",
    "-W",
    "error",
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
)
ASYNCIO = """
import pytest

@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def shim_args() -> tuple[str, ...]:
    """Nothing when the pytest11 entry point is installed (pytest loads the shim itself), else
    the shim by name, as in a checkout run from source (`PYTHONPATH=src`)."""
    installed = any(e.name == "authai_embed" for e in entry_points(group="pytest11"))
    return () if installed else ("-p", "_authai_embed_pytest")


def doc_files() -> dict[str, str]:
    """The files of docs/testing.md's first section: python blocks opening `# <name>.py`."""
    first = (ROOT / "docs" / "testing.md").read_text().split("\n## ")[1]
    blocks = re.findall(r"```python\n# (\w+\.py)\n(.*?)```", first, re.S)
    return {name: body for name, body in blocks}


def test_the_documented_host_example_passes(pytester: pytest.Pytester) -> None:
    files = doc_files()
    assert set(files) == {"myapp.py", "conftest.py", "test_myapp.py"}
    for name, body in files.items():
        pytester.makepyfile(**{name.removesuffix(".py"): body})
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess(*PLUGIN, *STRICT)
    result.assert_outcomes(passed=4)


def test_a_broken_host_route_fails_the_documented_test(pytester: pytest.Pytester) -> None:
    """The example's tests can fail: a /api/me that answers another id is caught."""
    files = doc_files()
    files["myapp.py"] = files["myapp.py"].replace('{"id": user.user_id}', '{"id": "someone"}')
    for name, body in files.items():
        pytester.makepyfile(**{name.removesuffix(".py"): body})
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess(*PLUGIN, *STRICT)
    result.assert_outcomes(passed=3, failed=1)


def test_the_default_app_is_the_mount_alone_and_every_fixture_works(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(ASYNCIO)
    pytester.makepyfile(
        test_default="""
        import pytest

        pytestmark = pytest.mark.anyio

        async def test_fixtures(authai_client, authai_user, authai_mount, authai_emulator,
                                authai_clock, authai_openai):
            assert authai_user.provider == "openai"
            who = await authai_client.get("/authai/auth/whoami", headers=authai_user.headers)
            assert who.json()["user"]["id"] == authai_user.user_id
            assert (await authai_mount.whoami(authai_user.jwt)).user_id == authai_user.user_id
            assert (await authai_client.get("/elsewhere")).status_code == 404
            models = await authai_openai.models.list()
            assert [m.id async for m in models]
            authai_clock.advance(30 * 24 * 3600)
            gone = await authai_client.get("/authai/auth/whoami", headers=authai_user.headers)
            assert gone.status_code == 401

        def test_no_fixture_runs_unless_asked(request):
            assert [n for n in request.fixturenames if n.startswith("authai")] == []
        """
    )
    pytester.runpytest_inprocess(*PLUGIN, *STRICT).assert_outcomes(passed=2)


def test_a_wrapped_app_at_another_path_and_cookie_mode(pytester: pytest.Pytester) -> None:
    """The Django shape (the mount wraps the app) at /ai, with the session in a cookie."""
    pytester.makeconftest(
        """
        import pytest
        from authai_embed import mount_authai

        async def plain(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"host"})

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.fixture
        def authai_app(authai_options):
            options = {**authai_options, "providers": ("github", "openai")}
            return mount_authai(plain, path="/ai", session_cookie=True, **options)
        """
    )
    pytester.makepyfile(
        test_wrapped="""
        import pytest

        pytestmark = pytest.mark.anyio

        async def test_signed_in(authai_client, authai_user):
            assert authai_user.provider == "github"
            assert (await authai_client.get("/other")).text == "host"
            who = await authai_client.get("/ai/auth/whoami", headers=authai_user.headers)
            assert who.json()["user"]["id"] == authai_user.user_id
        """
    )
    # Through the entry point's shim alone, as an installed package registers it. Naming the
    # shim with -p as well would register it twice under two names (pytest refuses that).
    shim = pytester.runpytest_inprocess(*shim_args(), *STRICT)
    shim.assert_outcomes(passed=1)


def test_an_app_not_wired_to_the_emulator_fails_saying_why(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from authai_embed import MemoryStore, Secrets, mount_authai
        from starlette.applications import Starlette

        @pytest.fixture
        def authai_app(authai_options):
            app = Starlette()
            mount_authai(app, secrets=Secrets.generate(), store=MemoryStore())
            return app
        """
    )
    pytester.makepyfile(test_unwired="def test_it(authai_mount):\n    pass\n")
    result = pytester.runpytest_inprocess(*PLUGIN, *STRICT)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*not wired to the emulator: pass **authai_options*"])


def test_the_entry_point_shim_imports_nothing() -> None:
    """pytest imports entry points before coverage starts: the shim must not import the
    package (its fixtures load at configure time, as the wrapped-app test shows)."""
    probe = "import sys, _authai_embed_pytest; print('authai_embed' in sys.modules)"
    command = [sys.executable, "-c", probe]
    out = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    assert out.stdout.strip() == "False"
