"""The upstream client's transport against real sockets on loopback: a scripted server that
answers with exact bytes, uvicorn serving the emulator, and TLS with a certificate made here."""

from __future__ import annotations

import asyncio
import datetime
import gc
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from authai_embed import AuthAI, MemoryStore, Secrets
from authai_embed._transports.http11 import MAX_INFORMATIONAL, ResponseParser
from authai_embed._transports.upstream import UpstreamTransport
from authai_embed._transports.upstream_client import UpstreamClient, new_upstream_client
from tests._support.faults import eventually

pytestmark = pytest.mark.anyio

Answer = Callable[["Seen", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Seen:
    """What the scripted server saw: connections accepted and request heads + bodies."""

    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request head and its body (Content-Length or chunked), as raw bytes."""
    head = await reader.readuntil(b"\r\n\r\n")
    lower = head.lower()
    if b"content-length:" in lower:
        length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
        return head + await reader.readexactly(length)
    if b"transfer-encoding: chunked" in lower:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            body += (await reader.readexactly(size + 2))[:size]
            if size == 0:
                return head + b"[chunked]" + body
    return head


@asynccontextmanager
async def scripted(
    answer: Answer, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, Seen]]:
    seen = Seen()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        try:
            await answer(seen, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}", seen
    finally:
        server.close()
        await server.wait_closed()


def replies(*responses: bytes, close: bool = False) -> Answer:
    """Answer each request on a connection with the next response (the last one repeats)."""

    async def answer(
        seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        n = 0
        while True:
            seen.requests.append(await read_request(reader))
            writer.write(responses[min(n, len(responses) - 1)])
            await writer.drain()
            n += 1
            if close:
                return

    return answer


def chunked(*pieces: bytes, headers: bytes = b"") -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n" + headers + b"\r\n" + body


OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


async def test_connections_are_kept_alive_and_reused() -> None:
    async with (
        scripted(replies(OK)) as (url, seen),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        for _ in range(5):
            response = await client.post(url + "/x", content=b'{"a":1}')
            assert response.text == "ok"
        assert seen.connections == 1
        assert seen.requests[0].startswith(b"POST /x HTTP/1.1\r\n")
        assert seen.requests[0].endswith(b'\r\n\r\n{"a":1}')


async def test_a_finished_response_leaves_no_parser_for_the_garbage_collector() -> None:
    """The llhttp parser and our callbacks hold each other: each request's pair is let go
    when its body ends or is closed, not left to the collector (a cycle per request)."""
    gc.collect()
    gc.disable()
    try:
        async with (
            scripted(replies(OK)) as (url, _),
            # The mount's own client: httpx.AsyncClient's stream wrapper is a cycle of its own.
            new_upstream_client(httpx.Timeout(5.0), transport=UpstreamTransport()) as client,
        ):
            for _ in range(20):
                assert (await client.get(url)).text == "ok"
            for _ in range(5):  # closed before the body is read
                async with client.stream("GET", url):
                    pass
            alive = sum(type(o) is ResponseParser for o in gc.get_objects())
    finally:
        gc.enable()
    assert alive == 0


async def test_events_that_arrive_together_are_handed_over_together() -> None:
    events = [b'data: {"n":%d}\n\n' % n for n in range(20)]
    async with (
        scripted(replies(chunked(*events))) as (url, _),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
        client.stream("GET", url) as response,
    ):
        await asyncio.sleep(0.05)  # let every event arrive before the first read
        pieces = [piece async for piece in response.aiter_raw()]
    assert b"".join(pieces) == b"".join(events)
    assert len(pieces) < 3  # the head's read, then the rest: not one per chunk


async def test_a_server_that_closed_an_idle_connection_gets_a_new_one() -> None:
    async with (
        scripted(replies(OK, close=True)) as (url, seen),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        assert (await client.get(url)).text == "ok"
        await asyncio.sleep(0.05)  # the server's close reaches us
        assert (await client.get(url)).text == "ok"
        assert seen.connections == 2


async def test_an_idle_connection_past_its_expiry_is_not_reused() -> None:
    async with (
        scripted(replies(OK)) as (url, seen),
        httpx.AsyncClient(transport=UpstreamTransport(keepalive_expiry=0.0)) as client,
    ):
        await client.get(url)
        await asyncio.sleep(0.01)
        await client.get(url)
        assert seen.connections == 2


async def test_connection_close_and_a_reader_that_stops_early_are_not_reused() -> None:
    closing = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"
    async with scripted(replies(closing, chunked(b"a" * 10, b"b" * 10), OK)) as (url, seen):
        async with httpx.AsyncClient(transport=UpstreamTransport()) as client:
            assert (await client.get(url)).text == "ok"
            async with client.stream("GET", url) as response:
                async for _ in response.aiter_raw():
                    break  # stop before the end: the rest of the body is still on the wire
            assert (await client.get(url)).status_code == 200
        assert seen.connections == 3


async def test_an_answer_nobody_asked_for_is_never_read_as_the_next_callers() -> None:
    """A server that sends a second answer unasked leaves a connection no other user's call may
    take: that answer would be read as theirs."""
    stale = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstale"
    answered = asyncio.Event()

    async def answer(
        seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            seen.requests.append(await read_request(reader))
            writer.write(OK)
            await writer.drain()
            await answered.wait()  # once the answer was read, so it is no excess of that answer
            writer.write(stale)
            await writer.drain()

    async with (
        scripted(answer) as (url, seen),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        assert (await client.get(url + "/user-a")).text == "ok"
        answered.set()
        await asyncio.sleep(0.05)  # the unasked-for answer reaches the idle connection
        assert (await client.get(url + "/user-b")).text == "ok"
        assert seen.connections == 2


async def test_a_body_cut_short_is_a_remote_protocol_error() -> None:
    cut = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel"
    async with (
        scripted(replies(cut, close=True)) as (url, _),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(url)


async def test_a_server_that_answers_nothing_is_a_remote_protocol_error() -> None:
    async def hang_up(
        seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)

    async with (
        scripted(hang_up) as (url, _),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError, match="unanswered"):
            await client.get(url)


async def test_a_silent_server_is_a_read_timeout() -> None:
    async def silent(
        seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with (
        scripted(silent) as (url, _),
        httpx.AsyncClient(
            transport=UpstreamTransport(), timeout=httpx.Timeout(5.0, read=0.1)
        ) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await client.get(url)


async def test_a_stream_that_goes_silent_midway_is_a_read_timeout() -> None:
    """Events that keep coming move the read deadline on; a pause longer than it ends the
    stream with a read timeout, however many reads went before."""

    async def pauses(
        seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(6):  # 6 x 0.05 s: longer than the read timeout in all
            writer.write(b"5\r\nevent\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)
        await asyncio.sleep(5)

    got: list[bytes] = []

    async def read(response: httpx.Response) -> None:
        async for piece in response.aiter_raw():
            got.append(piece)

    async with (
        scripted(pauses) as (url, _),
        httpx.AsyncClient(
            transport=UpstreamTransport(), timeout=httpx.Timeout(5.0, read=0.15)
        ) as client,
        client.stream("GET", url) as response,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await read(response)
    assert b"".join(got) == b"event" * 6


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with scripted(replies(OK)) as (url, _):
        pass  # the port is closed again
    async with httpx.AsyncClient(transport=UpstreamTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)


async def test_informational_answers_are_skipped() -> None:
    early = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + OK
    async with (
        scripted(replies(early)) as (url, _),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        response = await client.get(url)
        assert (response.status_code, response.text) == (200, "ok")


async def test_a_malformed_answer_is_a_remote_protocol_error() -> None:
    async with (
        scripted(replies(b"HTTP/1.1 2xx nope\r\n\r\n")) as (url, _),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(url)


async def test_a_header_injection_is_refused_before_anything_is_sent() -> None:
    async with (
        scripted(replies(OK)) as (url, seen),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        with pytest.raises(httpx.LocalProtocolError):
            await client.get(url, headers={"x-a": "1\r\nx-injected: yes"})
        assert seen.requests == []


async def test_a_streamed_request_body_goes_out_chunked() -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b"hello "
        yield b"world"

    async with (
        scripted(replies(OK)) as (url, seen),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        assert (await client.post(url, content=parts())).text == "ok"
        assert seen.requests[0].endswith(b"[chunked]hello world")


async def test_the_status_headers_and_http_version_reach_httpx() -> None:
    answer = b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\ncontent-length: 4\r\n\r\nslow"
    async with (
        scripted(replies(answer)) as (url, _),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        response = await client.get(url)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.reason_phrase == "Too Many Requests"
    assert response.http_version == "HTTP/1.1"
    assert response.text == "slow"


async def test_the_mounts_own_client_keeps_no_cookies_between_users() -> None:
    set_cookie = b"HTTP/1.1 200 OK\r\nset-cookie: lb=user-a; Path=/\r\ncontent-length: 2\r\n\r\nok"
    async with scripted(replies(set_cookie)) as (url, seen):
        authai = AuthAI(store=MemoryStore(), secrets=Secrets.generate())
        try:
            await authai.http.get(url + "/first")
            await authai.http.get(url + "/second")
        finally:
            await authai.shutdown()
    assert isinstance(authai.http._transport, UpstreamTransport)
    assert b"cookie" not in seen.requests[1].lower()


async def test_the_full_send_of_the_mounts_client_keeps_no_cookies_either() -> None:
    """With a hook set the client runs httpx's whole `send`, cookie extraction included: the
    jar still keeps nothing."""
    set_cookie = b"HTTP/1.1 200 OK\r\nset-cookie: lb=user-a; Path=/\r\ncontent-length: 2\r\n\r\nok"
    heard: list[int] = []

    async def hook(response: httpx.Response) -> None:
        heard.append(response.status_code)

    async with scripted(replies(set_cookie)) as (url, seen):
        authai = AuthAI(store=MemoryStore(), secrets=Secrets.generate())
        authai.http.event_hooks["response"].append(hook)
        try:
            await authai.http.get(url + "/first")
            await authai.http.get(url + "/second")
        finally:
            await authai.shutdown()
    assert heard == [200, 200]
    assert b"cookie" not in seen.requests[1].lower()


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


async def test_tls_with_a_trusted_certificate_and_a_refusal_without(tmp_path: Path) -> None:
    server_ctx, client_ctx = self_signed(tmp_path)
    async with scripted(replies(chunked(b"data: 1\n\n")), tls=server_ctx) as (url, seen):
        async with httpx.AsyncClient(transport=UpstreamTransport(ssl_context=client_ctx)) as c:
            for _ in range(2):
                assert (await c.get(url)).text == "data: 1\n\n"
        assert seen.connections == 1
        async with httpx.AsyncClient(transport=UpstreamTransport()) as untrusting:
            with pytest.raises(httpx.ConnectError):
                await untrusting.get(url)


async def test_the_default_client_has_no_redirects_and_the_given_timeout() -> None:
    client = new_upstream_client(httpx.Timeout(3.0))
    try:
        assert client.timeout == httpx.Timeout(3.0)
        assert not client.follow_redirects
    finally:
        await client.aclose()


def test_negative_pool_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        UpstreamTransport(max_idle=-1)


async def test_the_upstream_client_sends_straight_to_its_transport() -> None:
    async with scripted(replies(OK)) as (url, _):
        client = new_upstream_client(httpx.Timeout(3.0))
        assert isinstance(client, UpstreamClient)
        try:
            response = await client.post(url + "/x", content=b"{}")
            assert (response.status_code, response.text) == (200, "ok")  # read: not a stream
            assert response.request.url == httpx.URL(url + "/x")
        finally:
            await client.aclose()


async def test_the_upstream_client_runs_the_full_send_when_hooks_or_auth_are_set() -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.headers.get("authorization", ""))

    async with scripted(replies(OK)) as (url, _):
        client = new_upstream_client(httpx.Timeout(3.0))
        client.event_hooks["request"].append(hook)
        try:
            await client.get(url)
            await client.get(url, auth=("user", "pass"))
        finally:
            await client.aclose()
    assert seen[0] == ""
    assert seen[1].startswith("Basic ")


async def test_an_upstream_client_failure_names_its_request() -> None:
    async with scripted(replies(OK)) as (url, _):
        pass  # closed again: the connection is refused
    client = new_upstream_client(httpx.Timeout(3.0))
    try:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(url)
        assert caught.value.request.url == httpx.URL(url)
    finally:
        await client.aclose()


async def test_a_flood_of_informational_answers_is_a_remote_protocol_error() -> None:
    flood = b"HTTP/1.1 100 Continue\r\n\r\n" * (MAX_INFORMATIONAL + 1) + OK
    async with (
        scripted(replies(flood)) as (url, _),
        httpx.AsyncClient(transport=UpstreamTransport()) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError, match="informational"):
            await client.get(url)


async def parts(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.mark.parametrize(
    ("declared", "content"),
    [
        ("5", lambda: parts(b"hello", b"GET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n")),
        ("20", lambda: parts(b"hello", b" world")),
        ("10", lambda: b"abc"),
        ("1", lambda: b"abc"),
        ("x", lambda: b"abc"),
    ],
)
async def test_a_request_body_that_does_not_match_its_content_length_is_refused(
    declared: str, content: Callable[[], bytes | AsyncIterator[bytes]]
) -> None:
    async with (
        scripted(replies(OK)) as (url, seen),
        httpx.AsyncClient(
            transport=UpstreamTransport(), timeout=httpx.Timeout(5.0, read=0.5)
        ) as client,
    ):
        with pytest.raises(httpx.LocalProtocolError, match="Content-Length"):
            await client.post(url, content=content(), headers={"content-length": declared})
        await asyncio.sleep(0.05)  # anything sent has reached the server
        assert all(b"smuggled" not in request for request in seen.requests)
        assert (await client.get(url)).text == "ok"  # on a connection of its own


@asynccontextmanager
async def held(answers: asyncio.Event) -> AsyncIterator[tuple[str, Seen]]:
    """A server that reads each request, then answers it only once `answers` is set."""

    async def answer(
        seen: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            seen.requests.append(await read_request(reader))
            await answers.wait()
            writer.write(OK)
            await writer.drain()

    async with scripted(answer) as (url, seen):
        yield url, seen


async def test_connections_per_origin_are_capped_and_a_request_over_the_cap_waits() -> None:
    answers = asyncio.Event()
    async with (
        held(answers) as (url, seen),
        httpx.AsyncClient(transport=UpstreamTransport(max_connections=2)) as client,
    ):
        calls = [asyncio.ensure_future(client.get(url)) for _ in range(5)]
        await eventually(lambda: len(seen.requests) == 2)
        await asyncio.sleep(0.05)  # had a third connection been opened, it would be seen now
        assert (seen.connections, len(seen.requests)) == (2, 2)
        answers.set()
        assert [(await call).text for call in calls] == ["ok"] * 5
        assert seen.connections == 2


async def test_a_request_over_the_cap_times_out_as_a_pool_timeout() -> None:
    answers = asyncio.Event()
    async with (
        held(answers) as (url, seen),
        httpx.AsyncClient(
            transport=UpstreamTransport(max_connections=1), timeout=httpx.Timeout(5.0, pool=0.1)
        ) as client,
    ):
        first = asyncio.ensure_future(client.get(url))
        await eventually(lambda: len(seen.requests) == 1)
        with pytest.raises(httpx.PoolTimeout):
            await client.get(url)
        answers.set()
        assert (await first).text == "ok"
        assert (await client.get(url)).text == "ok"  # the timed-out wait left nothing behind
        assert seen.connections == 1


def test_a_connection_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        UpstreamTransport(max_connections=0)


def test_the_transport_runs_on_uvloop() -> None:
    """uvloop's transports are no `asyncio.Transport` instances; uvicorn picks uvloop when it
    is installed, so the transport must speak to them all the same."""
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        async with (
            scripted(replies(OK)) as (url, seen),
            httpx.AsyncClient(transport=UpstreamTransport()) as client,
        ):
            for _ in range(2):
                assert (await client.get(url)).text == "ok"
            assert seen.connections == 1

    uvloop.run(main())


async def test_a_streamed_answer_keeps_only_its_requests_method_and_url() -> None:
    """A response open for minutes holds its request: neither the body (a long conversation)
    nor the headers (the user's access token) stay with it, only method and URL. A plain
    (read) answer keeps its request whole."""
    big = b'{"input":"' + b"x" * 20_000 + b'"}'
    async with scripted(replies(OK, OK, OK)) as (url, seen):
        client = new_upstream_client(httpx.Timeout(3.0))
        async with client:
            for body in (big, b'{"a":1}'):
                request = client.build_request(
                    "POST", url + "/r", content=body, headers={"authorization": "Bearer at-1"}
                )
                response = await client.send(request, stream=True)
                await response.aread()
                assert response.request.method == "POST"
                assert response.request.url == url + "/r"
                assert "authorization" not in response.request.headers
                assert response.request.content == b""
            request = client.build_request("POST", url + "/r", content=b"{}")
            response = await client.send(request)
            assert response.request is request
        assert seen.requests[0].endswith(big)
