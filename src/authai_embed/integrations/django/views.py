"""`@authai_required` for sync and async views, and the request's session and OpenAI clients."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from asgiref.sync import iscoroutinefunction
from django.http import JsonResponse

from authai_embed.errors import Unauthorized
from authai_embed.integrations.django.middleware import (
    Resolved,
    get_authai,
    resolve,
    resolve_sync,
    session_of,
)

if TYPE_CHECKING:
    import openai

__all__ = ["async_openai_client", "authai_required", "openai_client", "session_jwt"]

View = TypeVar("View", bound=Callable[..., Any])


def _refusal(resolved: Resolved) -> Any:
    if resolved.cross_site:
        return JsonResponse({"detail": "cross-site request refused"}, status=403)
    response = JsonResponse({"detail": "unauthorized"}, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


def authai_required(view: View) -> View:
    """Let `view` (sync or async) run only for a signed-in user: `401` otherwise, `403` for a
    cookie on a cross-site state change. Inside, `request.authai_user` is the `WhoAmI`.

    The view is exempt from Django's CSRF token check (a `fetch` with a bearer header needs
    none): a session by bearer header cannot be sent by another site, and a cookie session must
    pass the same-origin check above.
    """
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            resolved = await resolve(request)
            if resolved.user is None:
                return _refusal(resolved)
            request.authai_user = resolved.user
            return await view(request, *args, **kwargs)

        wrapper: Any = async_wrapper
    else:

        @functools.wraps(view)
        def sync_wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            resolved = resolve_sync(request)
            if resolved.user is None:
                return _refusal(resolved)
            request.authai_user = resolved.user
            return view(request, *args, **kwargs)

        wrapper = sync_wrapper
    wrapper.csrf_exempt = True
    result: View = wrapper
    return result


def session_jwt(request: Any) -> str | None:
    """The request's session JWT: the bearer header, or the cookie in cookie mode; `None`."""
    return session_of(request, get_authai())[0]


def async_openai_client(request: Any, **options: Any) -> openai.AsyncOpenAI:
    """An in-process `openai.AsyncOpenAI` for the request's user. Raises `Unauthorized` when
    the request has no session (inside `@authai_required` it always has one)."""
    jwt = session_jwt(request)
    if jwt is None:
        raise Unauthorized()
    return get_authai().async_openai_client(jwt, **options)


def openai_client(request: Any, **options: Any) -> openai.OpenAI:
    """A sync in-process `openai.OpenAI` for the request's user, for sync views (see
    `AuthAI.openai_client`). Raises `Unauthorized` when the request has no session."""
    jwt = session_jwt(request)
    if jwt is None:
        raise Unauthorized()
    return get_authai().openai_client(jwt, **options)
