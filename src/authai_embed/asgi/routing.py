"""What a route is: a method, a path, a handler, and the guards the app runs before it.

The table itself is `AuthAI._table` in `app.py`, the one place that says where requests go.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from authai_embed.asgi.http import AnyResponse, Request

__all__ = ["OPEN", "AnyResponse", "Guards", "Handler", "Route", "find_route", "is_v1"]

Handler = Callable[[Request], Awaitable[AnyResponse]]
"""Every route's handler. Errors are raised, and answered by `errors.py`."""


@dataclass(frozen=True, slots=True)
class Guards:
    """What the app runs before a handler, in this order: the per-IP `rate`, the method (405),
    cookie mode's cross-site refusal (`csrf`), the session (`auth`), the per-user `rate` and
    with it the per-user concurrency cap (`concurrency.py`)."""

    rate: Literal["auth_start", "auth_poll", "v1"] | None = None  # a `Limits` field
    # "cookie": refuse a cross-site state change made with the cookie; "always": any cross-site
    # call (a sign-in step: a foreign page must not sign a visitor into another's account).
    csrf: Literal["cookie", "always"] | None = None
    # "session": opened (and refreshed if due) into `request.session`; "bearer": the handler
    # checks the token itself. Either way a bearer header, else (cookie mode) the cookie.
    auth: Literal["bearer", "session"] | None = None
    watch: bool = False  # a client that goes away cancels the work, the upstream call included
    # The API a /v1 route speaks: its error envelope, and for "anthropic" the session JWT may
    # also come as `x-api-key` (the Anthropic SDKs' header). The 401 is the same either way.
    dialect: Literal["openai", "anthropic"] = "openai"


OPEN = Guards()


@dataclass(frozen=True, slots=True)
class Route:
    """One line of the table."""

    method: str  # "*": any (the handler answers it); "GET" serves HEAD too, outside /v1
    path: str  # exact, or a prefix ending in "*"; a /v1 path may also end in "/"
    handler: Handler
    guards: Guards = OPEN


def is_v1(path: str) -> bool:
    """Whether `path` is a call to the OpenAI-compatible API."""
    return path == "/v1" or path.startswith("/v1/")


def find_route(routes: Sequence[Route], method: str, path: str) -> tuple[Route | None, bool]:
    """The first route serving `path` and `method`, and True; else the first serving `path`
    (`method` is wrong: a 405), and False; else `(None, False)`."""
    v1 = is_v1(path)
    if v1:
        path = path.rstrip("/")
    found: Route | None = None
    for route in routes:
        if is_v1(route.path.rstrip("*")) != v1:
            continue  # "/v1x" is no /v1 call, and a /v1 call is the proxy's alone
        if route.path.endswith("*"):
            if not path.startswith(route.path[:-1]):
                continue
        elif path != route.path:
            continue
        # The broker answers HEAD as GET (the relay's behaviour); OpenAI's API has no HEAD.
        if route.method in ("*", method) or (route.method, method, v1) == ("GET", "HEAD", False):
            return route, True
        found = found or route
    return found, False
