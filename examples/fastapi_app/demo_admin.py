"""The demo's admin page: a password form that sets a host session cookie, and the
`admin_guard` that lets that cookie (and nothing else) use the mount's admin routes.

The password is `DEMO_ADMIN_PASSWORD` ("admin" unless set; printed at startup). A real app
checks its own staff login here instead.
"""

from __future__ import annotations

import hmac
import os
import secrets
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from authai_embed.types import Scope

HERE = Path(__file__).resolve().parent
PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "admin")
COOKIE = "demo_admin"

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Admin sign-in: authai_embed demo</title>
<style>body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 24rem; margin: 3rem auto; }}
.error {{ color: #b42318; }}</style></head>
<body><h1>Admin sign-in</h1>
<form method="post" action="/admin/login">
  <label>Password <input type="password" name="password" autocomplete="current-password"
    required autofocus></label>
  <button type="submit">Sign in</button>
</form>
<p class="error" role="alert">{error}</p></body></html>
"""


class AdminLogin:
    """One admin session per process: a random token, held in an HttpOnly cookie."""

    def __init__(self, password: str = PASSWORD) -> None:
        self._password = password.encode()
        self._token = secrets.token_urlsafe(32)

    def is_admin(self, cookie_header: str) -> bool:
        """Whether a `Cookie` header carries this process's admin token."""
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except Exception:  # a malformed header is simply not an admin's
            return False
        morsel = jar.get(COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value, self._token)

    def guard(self, scope: Scope) -> str | None:
        """The `admin_guard`: "admin" for a request with the admin cookie, else `None` (403)."""
        header = "; ".join(v.decode("latin-1") for k, v in scope["headers"] if k == b"cookie")
        return "admin" if self.is_admin(header) else None

    def install(self, app: FastAPI) -> None:
        """`GET /admin` (the form, or the page once signed in), `POST /admin/login|logout`."""

        @app.get("/admin", include_in_schema=False)
        async def admin_page(request: Request) -> Response:
            if self.is_admin(request.headers.get("cookie", "")):
                return FileResponse(HERE / "static" / "admin.html")
            return HTMLResponse(LOGIN_PAGE.format(error=""))

        @app.post("/admin/login", include_in_schema=False)
        async def login(request: Request) -> Response:
            form = parse_qs((await request.body()).decode("utf-8", "replace"))
            given = (form.get("password") or [""])[0].encode()
            if not hmac.compare_digest(given, self._password):
                return HTMLResponse(LOGIN_PAGE.format(error="Wrong password."), status_code=401)
            done = RedirectResponse("/admin", status_code=303)
            # No `Secure`: the demo is served over plain http on loopback.
            done.set_cookie(COOKIE, self._token, httponly=True, samesite="strict", path="/")
            return done

        @app.post("/admin/logout", include_in_schema=False)
        async def logout() -> Response:
            done = RedirectResponse("/admin", status_code=303)
            done.delete_cookie(COOKIE, path="/")
            return done
