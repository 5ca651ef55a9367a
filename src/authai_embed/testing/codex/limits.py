"""Usage limits as the Codex backend reports them, and the HTTP errors a test scripts.

Normal answers carry the `x-codex-*` rate-limit headers the Codex CLI reads (the 5-hour and
weekly windows, credits). A reached limit comes in three shapes (`CodexKnobs.usage_limit_shape`):
a 429 `usage_limit_reached` with `plan_type`, `resets_at` and `resets_in_seconds`; the same body
under a 404; or a 200 stream that fails after its first events (`limit_reply`).
"""

from __future__ import annotations

from http import HTTPStatus

from authai_embed.testing.codex.errors import TOKEN_EXPIRED, Rejected, auth_error
from authai_embed.testing.codex.knobs import CodexKnobs
from authai_embed.testing.model.script import CodexReply
from authai_embed.testing.openai.accounts import Account

__all__ = ["limit_reply", "rate_limit_headers", "scripted_error", "usage_limit"]

PRIMARY_WINDOW_MINUTES = 300
SECONDARY_WINDOW_MINUTES = 7 * 24 * 60
PRIMARY_RESETS_IN = 3 * 3600
SECONDARY_RESETS_IN = 4 * 24 * 3600
SERVER_ERROR = (
    "An error occurred while processing your request. You can retry your request, or contact "
    "us through our help center at help.openai.com if the error persists."
)


def rate_limit_headers(
    knobs: CodexKnobs,
    now: float,
    *,
    primary: float | None = None,
    resets_in: int | None = None,
    secondary: float | None = None,
) -> list[tuple[str, str]]:
    """The `x-codex-*` headers of an answer (`primary`, `resets_in`: override the 5-hour window,
    `secondary` the weekly one's use); none when the `rate_limit_headers` knob is off."""
    if not knobs.rate_limit_headers:
        return []
    used = knobs.primary_used_percent if primary is None else primary
    weekly = knobs.secondary_used_percent if secondary is None else secondary
    primary_in = PRIMARY_RESETS_IN if resets_in is None else resets_in
    return [
        ("x-codex-primary-used-percent", f"{used:g}"),
        ("x-codex-primary-window-minutes", str(PRIMARY_WINDOW_MINUTES)),
        ("x-codex-primary-reset-after-seconds", str(primary_in)),
        ("x-codex-primary-reset-at", str(int(now) + primary_in)),
        ("x-codex-secondary-used-percent", f"{weekly:g}"),
        ("x-codex-secondary-window-minutes", str(SECONDARY_WINDOW_MINUTES)),
        ("x-codex-secondary-reset-after-seconds", str(SECONDARY_RESETS_IN)),
        ("x-codex-secondary-reset-at", str(int(now) + SECONDARY_RESETS_IN)),
        ("x-codex-credits-has-credits", _flag(knobs.credits_has_credits)),
        ("x-codex-credits-unlimited", _flag(knobs.credits_unlimited)),
        *([("x-codex-credits-balance", knobs.credits_balance)] if knobs.credits_balance else []),
    ]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def usage_limit(account: Account, knobs: CodexKnobs, now: float) -> Rejected:
    """The 429 (or, with `usage_limit_shape="404"`, 404) of a plan whose usage limit is reached
    (it resets in `usage_limit_resets_in`)."""
    seconds = knobs.usage_limit_resets_in
    error = {
        "type": knobs.usage_limit_code,
        "message": _LIMIT_MESSAGES[knobs.usage_limit_code],
        "plan_type": account.plan,
        "resets_at": int(now) + seconds,
        "resets_in_seconds": seconds,
    }
    headers = rate_limit_headers(knobs, now, primary=100.0, resets_in=seconds)
    status = 404 if knobs.usage_limit_shape == "404" else 429
    return Rejected(status, {"error": error}, [*headers, ("x-codex-active-limit", "codex")])


_LIMIT_MESSAGES = {
    "usage_limit_reached": "The usage limit has been reached",
    "usage_not_included": "Your plan does not include Codex usage",
}


def limit_reply(knobs: CodexKnobs) -> CodexReply:
    """The reply of the `"stream"` shape: `response.created`, `response.in_progress`, then
    `response.failed` with `stream_limit_code` and nothing in between."""
    if knobs.stream_limit_code == "server_is_overloaded":
        message = "Our servers are currently overloaded. Please try again later."
    else:
        message = (
            f"Rate limit reached for requests. Please try again in {knobs.usage_limit_resets_in}s."
        )
    return CodexReply(
        text="", finish="failed", error_code=knobs.stream_limit_code, error_message=message
    )


def scripted_error(reply: CodexReply, account: Account, knobs: CodexKnobs, now: float) -> Rejected:
    """The HTTP error a reply scripts, with the real backend's body for its status by default."""
    headers = list(reply.headers.items())
    if reply.body is not None:
        return Rejected(reply.status, reply.body, headers)
    if reply.status == 429:
        limit = usage_limit(account, knobs, now)
        return Rejected(429, limit.body, [*limit.headers, *headers])
    if reply.status == 401:
        return Rejected(401, auth_error("token_expired", TOKEN_EXPIRED).body, headers)
    if reply.status >= 500:
        code = "server_is_overloaded" if reply.status == 503 else None
        error = {"message": SERVER_ERROR, "type": "server_error", "param": None, "code": code}
        return Rejected(reply.status, {"error": error}, headers)
    return Rejected(reply.status, {"detail": HTTPStatus(reply.status).phrase}, headers)
