"""The page where a person types a user code (ChatGPT's `/codex/device`, GitHub's and xAI's).

A plain HTML form (labelled fields, no script) that posts form data back to itself; the form's
action includes the scope's `root_path`, so the page works with the emulator mounted anywhere.
Every value shown is HTML-escaped, and the posted body is small and capped.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import parse_qs

from authai_embed.asgi.http import Request, Response
from authai_embed.errors import InvalidRequest
from authai_embed.testing.user_codes import ApprovalError

__all__ = ["Choice", "CodePage", "html_page", "read_code_form"]

MAX_FORM_BYTES = 8 * 1024
_HEADERS = [
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}label{display:block;margin-top:1rem;font-weight:600}"
    "input,select,button{font:inherit;padding:.4rem .6rem}button{margin:1rem .5rem 0 0}"
    ".error{color:#a40000;font-weight:600}"
)

Choice = tuple[str, str, bool]
"""An account the form offers: its value, its label, and whether it is preselected."""


def html_page(title: str, content: str, status: int = 200) -> Response:
    """A complete, uncacheable HTML page around `content` (already escaped HTML)."""
    html = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} - ChatGPT emulator</title>\n<style>{_STYLE}</style>\n"
        f"</head>\n<body>\n<main>\n<h1>{escape(title)}</h1>\n{content}\n</main>\n</body>\n</html>\n"
    )
    return Response(html.encode(), status, _HEADERS, "text/html; charset=utf-8")


async def read_code_form(request: Request) -> tuple[str, str | None, str]:
    """(user code, account or `None`, action) from the posted form; `InvalidRequest` with the
    message to show and the status when the body is not a small, readable form."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise InvalidRequest("The form was not sent as a form.", status=415)
    raw = await request.body(MAX_FORM_BYTES)
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The form could not be read.", status=400) from None
    code = fields.get("user_code", [""])[0].strip()
    account = fields.get("account", [""])[0] or None
    return code, account, fields.get("action", [""])[0]


class CodePage:
    """`GET path` shows the form (code prefilled from `?user_code=`); `POST path` approves or
    denies the posted code with the side's own `approve(code, account)` and `deny(code)`."""

    def __init__(
        self,
        *,
        name: str,
        path: str,
        accounts: Callable[[], list[Choice]],
        approve: Callable[[str, str | None], None],
        deny: Callable[[str], None],
        signed_in_as: Callable[[str | None], str],
        title: str | None = None,
        note: str = "",
    ) -> None:
        self.name = name
        self.path = path
        self.title = title or f"Sign in to {name} with a code"
        self._accounts = accounts
        self._approve = approve
        self._deny = deny
        self._signed_in_as = signed_in_as
        self._note = note

    async def show(self, request: Request) -> Response:
        """The form."""
        return self._form(request, code=request.query.get("user_code", ""))

    async def submit(self, request: Request) -> Response:
        """Approve or deny the posted code, then say what happened."""
        try:
            code, account, action = await read_code_form(request)
        except InvalidRequest as exc:
            return self._form(request, error=exc.message, status=exc.status)
        if not code:
            return self._form(request, error="Enter the code shown in the app.", status=400)
        try:
            if action == "approve":
                self._approve(code, account)
            elif action == "deny":
                self._deny(code)
            else:
                return self._form(request, code, "Choose Approve or Deny.", status=400)
        except ApprovalError as exc:
            return self._form(request, code, str(exc), status=400)
        if action == "deny":
            return html_page(
                "Sign-in denied", "<p>The app was not signed in. You can close this page.</p>"
            )
        who = escape(self._signed_in_as(account))
        return html_page(
            "Signed in",
            f"<p>The app is now signed in as <strong>{who}</strong>. "
            "You can close this page and return to the app.</p>",
        )

    def _form(
        self, request: Request, code: str = "", error: str | None = None, status: int = 200
    ) -> Response:
        action = escape(f"{request.scope.get('root_path', '')}{self.path}")
        options = "".join(
            f'<option value="{escape(value)}"{" selected" if selected else ""}>'
            f"{escape(label)}</option>"
            for value, label, selected in self._accounts()
        )
        alert = "" if error is None else f'<p class="error" role="alert">{escape(error)}</p>\n'
        invalid = ' aria-invalid="true"' if error is not None else ""
        content = (
            f"<p>This is the upstream emulator standing in for {escape(self.name)}'s device "
            "sign-in page. Enter the code the app shows you, pick an account, then approve or "
            "deny.</p>\n"
            f"{self._note}"
            f'{alert}<form method="post" action="{action}">\n'
            '<label for="user_code">Code</label>\n'
            f'<input id="user_code" name="user_code" value="{escape(code)}" required '
            'autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" '
            f'aria-describedby="code-help"{invalid}>\n'
            '<p id="code-help">It looks like ABCD-EFGH2.</p>\n'
            '<label for="account">Account</label>\n'
            f'<select id="account" name="account">{options}</select>\n'
            '<button type="submit" name="action" value="approve">Approve</button>\n'
            '<button type="submit" name="action" value="deny">Deny</button>\n'
            "</form>"
        )
        return html_page(self.title, content, status)
