"""RFC 8628 device grants, emulated once for the GitHub and xAI sides: user codes, approval and
denial by the person, and what each poll of the device is told. A poll sooner than the interval
gets `slow_down` when the side enforces intervals, and the interval grows for good (as GitHub's
does). Not thread-safe on its own: the side holds its lock.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from authai_embed._util.clock import Clock
from authai_embed.testing.user_codes import answerable, new_user_code, normalize_user_code

__all__ = [
    "DEVICE_GRANT",
    "DeviceGrant",
    "DeviceGrants",
    "DeviceKnobs",
    "PollVerdict",
    "device_code_body",
]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
"""The `grant_type` of a device's token request (RFC 8628 section 3.4)."""

PollVerdict = Literal["unknown", "pending", "slow_down", "expired", "denied", "approved", "spent"]
SLOW_DOWN_STEP = 5


@dataclass(slots=True)
class DeviceKnobs:
    """The live device-flow settings every side has (each side's knobs extend these)."""

    client_id: str = ""
    interval: int = 5
    device_code_ttl: float = 900
    enforce_interval: bool = False
    """Answer `slow_down` (and raise the interval 5 s) to a poll sooner than the interval."""
    slow_down_polls: int = 0
    """The next this many polls answer `slow_down` (and raise the interval 5 s) whatever their
    timing, as a server shedding load does."""

    def take_slow_down(self) -> bool:
        """Whether this poll is one of the `slow_down_polls` (and count it off)."""
        if self.slow_down_polls <= 0:
            return False
        self.slow_down_polls -= 1
        return True


@dataclass(slots=True)
class DeviceGrant:
    """One device sign-in from the device code request to the token."""

    device_code: str
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    interval: int
    status: Literal["pending", "approved", "denied", "spent"] = "pending"
    account: str | None = None
    last_poll: float | None = None


class DeviceGrants:
    """Every device grant of one side."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._by_device: dict[str, DeviceGrant] = {}
        self._by_user: dict[str, DeviceGrant] = {}

    def create(self, client_id: str, scope: str, *, ttl: float, interval: int) -> DeviceGrant:
        """A new pending grant with a fresh device code and user code."""
        code = new_user_code()
        while normalize_user_code(code) in self._by_user:
            code = new_user_code()
        grant = DeviceGrant(
            device_code=secrets.token_urlsafe(30),
            user_code=code,
            client_id=client_id,
            scope=scope,
            expires_at=self._clock.now() + ttl,
            interval=interval,
        )
        self._by_device[grant.device_code] = grant
        self._by_user[normalize_user_code(code)] = grant
        return grant

    def start(self, knobs: DeviceKnobs, params: Mapping[str, str]) -> DeviceGrant:
        """A new grant for a device code request whose `client_id` the side has checked."""
        return self.create(
            params["client_id"],
            params.get("scope", ""),
            ttl=knobs.device_code_ttl,
            interval=knobs.interval,
        )

    def answer(
        self, knobs: DeviceKnobs, params: Mapping[str, str]
    ) -> tuple[PollVerdict, DeviceGrant | None]:
        """`poll` for a token request's `params`, under the side's interval knobs."""
        return self.poll(
            params.get("device_code", ""),
            params.get("client_id", ""),
            enforce_interval=knobs.enforce_interval,
            slow_down=knobs.take_slow_down(),
        )

    def answerable(self, code: str) -> DeviceGrant:
        """The pending, unexpired grant of a user code; `ApprovalError` otherwise."""
        return answerable(self._by_user.get(normalize_user_code(code)), self._clock.now())

    def approve(self, code: str, account: str) -> None:
        """The person approves `code` as `account`."""
        grant = self.answerable(code)
        grant.status, grant.account = "approved", account

    def deny(self, code: str) -> None:
        """The person denies `code`."""
        self.answerable(code).status = "denied"

    def poll(
        self, device_code: str, client_id: str, *, enforce_interval: bool, slow_down: bool = False
    ) -> tuple[PollVerdict, DeviceGrant | None]:
        """What a poll with `device_code` is told; an approved grant is spent by this poll.
        `slow_down` answers `slow_down` regardless (the server is shedding load)."""
        grant = self._by_device.get(device_code)
        if grant is None or grant.client_id != client_id:
            return "unknown", None
        now = self._clock.now()
        previous, grant.last_poll = grant.last_poll, now
        early = previous is not None and now - previous < grant.interval
        if slow_down or (enforce_interval and early):
            grant.interval += SLOW_DOWN_STEP
            return "slow_down", grant
        if grant.status == "spent":
            return "spent", grant
        if now >= grant.expires_at:
            return "expired", grant
        if grant.status == "denied":
            return "denied", grant
        if grant.status == "approved":
            grant.status = "spent"
            return "approved", grant
        return "pending", grant

    def grants(self) -> list[DeviceGrant]:
        """Every grant so far, oldest first."""
        return list(self._by_device.values())


def device_code_body(
    grant: DeviceGrant, knobs: DeviceKnobs, page: str, *, complete: bool = False
) -> dict[str, Any]:
    """The device code answer; `complete` adds the page URL with the user code filled in."""
    body: dict[str, Any] = {
        "device_code": grant.device_code,
        "user_code": grant.user_code,
        "verification_uri": page,
    }
    if complete:
        body["verification_uri_complete"] = f"{page}?user_code={grant.user_code}"
    return body | {"expires_in": int(knobs.device_code_ttl), "interval": grant.interval}
