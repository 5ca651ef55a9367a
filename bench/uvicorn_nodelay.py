"""`uvicorn` with the listening socket created as IPPROTO_TCP (`python -m bench.uvicorn_nodelay`).

With `--workers N`, uvicorn binds the socket itself with `proto` 0; accepted sockets inherit it
and asyncio then never sets TCP_NODELAY, so every keep-alive response written in more than one
piece waits ~40 ms for the client's delayed ACK (Kludex/uvicorn#3149, Linux). A streamed
completion is written in many pieces. This launcher re-wraps the socket with the right `proto`
and otherwise runs uvicorn's own command line unchanged.
"""

from __future__ import annotations

import socket
import sys

import uvicorn.config
from uvicorn.main import main

_bind_socket = uvicorn.config.Config.bind_socket


def _bind_tcp_socket(self: uvicorn.config.Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


uvicorn.config.Config.bind_socket = _bind_tcp_socket  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
