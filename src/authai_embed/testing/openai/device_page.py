"""ChatGPT's `/codex/device` page: the shared code page, offering the auth server's accounts and
reminding that a real ChatGPT user must first allow device code sign-in."""

from __future__ import annotations

from authai_embed.testing.code_page import Choice, CodePage
from authai_embed.testing.openai.device_flow import DeviceFlow
from authai_embed.testing.openai.state import AuthState

__all__ = ["PATH", "device_page"]

PATH = "/codex/device"
_NOTE = (
    "<p>On the real ChatGPT, each user must first allow device code sign-in in "
    "Settings &gt; Security.</p>\n"
)


def device_page(state: AuthState, flow: DeviceFlow) -> CodePage:
    """The page approving and denying codes of `flow`, as a person would."""

    def accounts() -> list[Choice]:
        default = state.account().account_id
        return [
            (a.account_id, f"{a.email} ({a.account_id}, {a.plan})", a.account_id == default)
            for a in state.accounts()
        ]

    return CodePage(
        name="ChatGPT",
        path=PATH,
        title="Sign in with a code",
        note=_NOTE,
        accounts=accounts,
        approve=lambda code, account: flow.approve(code, account=account),
        deny=flow.deny,
        signed_in_as=lambda account: state.account(account).email,
    )
