"""Sign in with GitHub Copilot: GitHub's device flow, the user's id, the Copilot entitlement.

The flow (upstream.md section 4): a user code, polls of the token endpoint (HTTP 200 even for
errors, with `error` set), the account id from `/user`, then one Copilot token minted: a user
without Copilot gets a clear error and no record. The GitHub token neither refreshes nor expires.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from authai_embed._util.clock import Clock
from authai_embed.credentials import Credentials
from authai_embed.errors import Unauthorized, UpstreamError
from authai_embed.providers._device import device_start, poll_outcome
from authai_embed.providers._upstream import oauth_error_code, send
from authai_embed.providers.base import DevicePoll, DeviceStart
from authai_embed.providers.github.backend import CopilotBackend, CopilotNotEntitled
from authai_embed.providers.github.config import GitHubUpstream

__all__ = ["CopilotProvider"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class CopilotProvider:
    """Sign in with GitHub (Copilot's editor client id); models through the Copilot API."""

    id = "github"
    display_name = "GitHub Copilot"

    def __init__(
        self, upstream: GitHubUpstream, http: httpx.AsyncClient, *, originator: str, clock: Clock
    ) -> None:
        self._upstream = upstream
        self._http = http
        self._originator = originator
        self.backend = CopilotBackend(upstream, http, clock)

    def _form(self, path: str, form: dict[str, str]) -> httpx.Request:
        return self._http.build_request(
            "POST",
            f"{self._upstream.web_base}{path}",
            data=form,
            headers={"accept": "application/json", "user-agent": self._upstream.user_agent},
        )

    async def start_device_login(self) -> DeviceStart:
        """Ask GitHub for a user code."""
        form = {"client_id": self._upstream.client_id, "scope": self._upstream.scope}
        response = await send(
            self._http, "GitHub device code request", self._form("/login/device/code", form)
        )
        if not response.is_success:
            raise UpstreamError(
                f"GitHub device code request failed with status {response.status_code}"
            )
        return device_start(
            response.body,
            fallback_url=self._upstream.verification_url,
            what="GitHub device code request",
        )

    async def poll_device_login(self, state: Mapping[str, str]) -> DevicePoll:
        """Poll once; on approval read the user and check the Copilot entitlement."""
        form = {
            "client_id": self._upstream.client_id,
            "device_code": state["device_code"],
            "grant_type": DEVICE_GRANT,
        }
        response = await send(
            self._http, "GitHub device poll", self._form("/login/oauth/access_token", form)
        )
        body = response.body
        if not response.is_success or body is None:
            raise UpstreamError(f"GitHub device poll failed with status {response.status_code}")
        token = body.get("access_token")
        if isinstance(token, str) and token:
            return await self._complete(token)
        outcome = poll_outcome(oauth_error_code(body), body)
        if outcome is None:
            raise UpstreamError("GitHub device poll returned an unexpected answer", status=400)
        return outcome

    async def _complete(self, github_token: str) -> DevicePoll:
        account = await self._github_user_id(github_token)
        try:
            await self.backend.tokens.get(github_token)  # the entitlement check; cached on success
        except CopilotNotEntitled as exc:
            return DevicePoll("denied", message=exc.message)
        except UpstreamError as exc:
            # The device grant is spent: final for this login (the user starts again).
            message = f"sign-in could not be completed: {exc.message}"
            raise UpstreamError(message, status=400) from None
        return DevicePoll(
            "complete",
            credentials=Credentials(
                provider=self.id,
                access=github_token,
                refresh=None,
                expires_at=None,
                account_id=account,
                originator=self._originator,
            ),
        )

    async def _github_user_id(self, github_token: str) -> str:
        request = self._http.build_request(
            "GET",
            f"{self._upstream.api_base}/user",
            headers={
                "authorization": f"token {github_token}",
                "accept": "application/vnd.github+json",
                "user-agent": self._upstream.user_agent,
            },
        )
        response = await send(self._http, "GitHub user lookup", request)
        body = response.body if response.is_success else None
        user_id = body.get("id") if body is not None else None
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise UpstreamError(
                f"GitHub user lookup failed (status {response.status_code})", status=400
            )
        return str(user_id)

    async def refresh(self, credentials: Credentials) -> Credentials:
        """GitHub tokens have no refresh token: one GitHub refuses means signing in again."""
        raise Unauthorized()

    async def revoke(self, credentials: Credentials) -> None:
        """Nothing: GitHub revokes an OAuth token only for a client that authenticates with its
        secret (`DELETE /applications/{client_id}/token`), which a device-flow client has not.
        The user revokes it in their GitHub settings (Applications > Authorized OAuth Apps)."""
        return None
