"""The server's access log never shows a sign-in session id: `install_log_filter` masks
`/auth/poll/<id>` in uvicorn's own access-log records, and the mount installs it."""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Iterator

import anyio
import httpx
import pytest
import uvicorn
from uvicorn.logging import AccessFormatter

from authai_embed import MemoryStore, Secrets, install_log_filter, mount_authai
from authai_embed._util.access_log import PollIdFilter
from authai_embed.types import Receive, Scope, Send
from tests._support.loopback import listening_socket

ACCESS = logging.getLogger("uvicorn.access")


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    """uvicorn.access at INFO, formatted by uvicorn's own formatter into a buffer, and without
    any poll-id filter to begin with (restored afterwards)."""
    saved = (ACCESS.filters[:], ACCESS.level, ACCESS.propagate)
    for f in [f for f in ACCESS.filters if isinstance(f, PollIdFilter)]:
        ACCESS.removeFilter(f)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    ACCESS.addHandler(handler)
    ACCESS.setLevel(logging.INFO)
    ACCESS.propagate = False
    yield buffer
    ACCESS.removeHandler(handler)
    ACCESS.filters[:], ACCESS.level, ACCESS.propagate = saved


async def plain(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def serve_and_get(path: str) -> None:
    """One request through a real uvicorn server on loopback, access log on."""
    sock = listening_socket()
    config = uvicorn.Config(plain, log_config=None, access_log=True, lifespan="off")
    server = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            url = f"http://127.0.0.1:{sock.getsockname()[1]}{path}"
            async with httpx.AsyncClient() as client:
                assert (await client.get(url)).status_code == 200
            server.should_exit = True
    finally:
        sock.close()


@pytest.mark.anyio
async def test_uvicorn_access_log_shows_the_poll_path_without_its_id(
    access_log: io.StringIO,
) -> None:
    session_id = secrets.token_urlsafe(24)
    install_log_filter()
    await serve_and_get(f"/authai/auth/poll/{session_id}?t=1")
    await serve_and_get("/authai/auth/providers")
    lines = access_log.getvalue()
    assert session_id not in lines
    assert '"GET /authai/auth/poll/…?t=1 HTTP/1.1" 200' in lines
    assert '"GET /authai/auth/providers HTTP/1.1" 200' in lines


@pytest.mark.anyio
async def test_without_the_filter_uvicorn_logs_the_id(access_log: io.StringIO) -> None:
    """What the filter is for (and proof the test above sees real uvicorn lines)."""
    session_id = secrets.token_urlsafe(24)
    await serve_and_get(f"/authai/auth/poll/{session_id}")
    assert session_id in access_log.getvalue()


def test_the_mount_installs_it_once(access_log: io.StringIO) -> None:
    assert not any(isinstance(f, PollIdFilter) for f in ACCESS.filters)
    for _ in range(2):
        mount_authai(plain, secrets=Secrets.generate(), store=MemoryStore())
        install_log_filter()
    assert sum(isinstance(f, PollIdFilter) for f in ACCESS.filters) == 1


def test_a_mapping_shaped_record_is_masked_in_place() -> None:
    """hypercorn's and gunicorn's access records carry their fields as a mapping."""

    class Atoms(dict[str, object]):
        pass

    atoms = Atoms({"r": "GET /authai/auth/poll/abc123 HTTP/1.1", "s": 200, "U": "/auth/poll/x"})
    record = logging.LogRecord("hypercorn.access", logging.INFO, "", 0, "%(r)s %(s)s", (), None)
    record.args = atoms
    assert PollIdFilter().filter(record) is True
    assert record.args is atoms
    assert record.getMessage() == "GET /authai/auth/poll/… HTTP/1.1 200"
    assert atoms["U"] == "/auth/poll/…"
