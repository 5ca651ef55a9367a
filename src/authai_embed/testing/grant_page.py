"""The page where a person types a user code for the GitHub and xAI sides (RFC 8628 grants),
built like the ChatGPT side's `/codex/device` page: a plain form posting back to itself."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from authai_embed.asgi.http import Request, Response
from authai_embed.errors import InvalidRequest
from authai_embed.testing.openai.device_flow import ApprovalError
from authai_embed.testing.openai.device_page import _page, read_code_form

__all__ = ["GrantPage"]


class GrantPage:
    """`GET path` shows the form (code prefilled from `?user_code=`); `POST path` answers it."""

    def __init__(
        self,
        *,
        name: str,
        path: str,
        accounts: Callable[[], list[str]],
        approve: Callable[[str, str | None], None],
        deny: Callable[[str], None],
    ) -> None:
        self.name = name
        self.path = path
        self._accounts = accounts
        self._approve = approve
        self._deny = deny

    async def show(self, request: Request) -> Response:
        """The form."""
        return self._form(request, code=request.query.get("user_code", ""))

    async def submit(self, request: Request) -> Response:
        """Approve or deny the posted code."""
        try:
            code, account, action = await read_code_form(request)
        except InvalidRequest as exc:
            return self._form(request, error=exc.message, status=exc.status)
        if not code or action not in ("approve", "deny"):
            return self._form(request, code, "Enter the code, then Approve or Deny.", 400)
        try:
            if action == "approve":
                self._approve(code, account)
            else:
                self._deny(code)
        except ApprovalError as exc:
            return self._form(request, code, str(exc), status=400)
        if action == "deny":
            return _page("Sign-in denied", "<p>The app was not signed in.</p>")
        return _page(
            "Signed in",
            f"<p>The app is now signed in as <strong>{escape(account or 'the default account')}"
            "</strong>. You can close this page and return to the app.</p>",
        )

    def _form(
        self, request: Request, code: str = "", error: str | None = None, status: int = 200
    ) -> Response:
        action = escape(f"{request.scope.get('root_path', '')}{self.path}")
        options = "".join(
            f'<option value="{escape(a)}">{escape(a)}</option>' for a in self._accounts()
        )
        alert = "" if error is None else f'<p class="error" role="alert">{escape(error)}</p>\n'
        content = (
            f"<p>This is the upstream emulator standing in for {escape(self.name)}'s device "
            "sign-in page. Enter the code the app shows you, pick an account, then approve or "
            "deny.</p>\n"
            f'{alert}<form method="post" action="{action}">\n'
            '<label for="user_code">Code</label>\n'
            f'<input id="user_code" name="user_code" value="{escape(code)}" required '
            'autocomplete="one-time-code" autocapitalize="characters" spellcheck="false">\n'
            '<label for="account">Account</label>\n'
            f'<select id="account" name="account">{options}</select>\n'
            '<button type="submit" name="action" value="approve">Approve</button>\n'
            '<button type="submit" name="action" value="deny">Deny</button>\n'
            "</form>"
        )
        return _page(f"Sign in to {self.name} with a code", content, status)
