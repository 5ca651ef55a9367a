"""Helpers for the event tests: a recording handler, and the check that no event carries a
secret."""

from __future__ import annotations

import json

from authai_embed import Event, event_payload
from tests._support.harness import Harness


class Recorder:
    """An `on_event` handler keeping what it receives."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


async def secrets_of(harness: Harness, jwt: str) -> list[str]:
    """Everything secret behind `jwt`: itself, its key, every token the emulator issued."""
    session = await harness.authai.sessions.open_session(jwt)
    return [jwt, session.claims.key.hex(), *harness.emulator.issued_tokens()]


def assert_no_secret(events: list[Event], secrets: list[str]) -> None:
    """No event, as the handler sees it or as its JSON payload, holds any of `secrets`."""
    assert events
    assert secrets
    text = " ".join(repr(e) + json.dumps(event_payload(e)) for e in events)
    for secret in secrets:
        assert secret not in text
