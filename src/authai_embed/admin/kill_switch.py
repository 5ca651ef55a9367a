"""The kill switch: pauses stored in the store, read by every process through a short cache.

A pause is a `Control` row (`signins`, `models`, or `models:<provider>`). Each process keeps the
rows it last read for `CACHE_SECONDS`, so a request costs no store round trip beyond one read
per process every two seconds, and a pause set anywhere takes effect everywhere within that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import anyio

from authai_embed._util.clock import Clock
from authai_embed.errors import InvalidRequest, Paused
from authai_embed.providers.registry import canonical_provider_id
from authai_embed.stores.base import AuthStore, Control

__all__ = ["CACHE_SECONDS", "MODELS", "SIGNINS", "Controls", "KillSwitch", "control_name"]

CACHE_SECONDS = 2.0
"""How long a process trusts the controls it read: the longest a pause or resume set in another
process takes to apply here."""
SIGNINS = "signins"
MODELS = "models"


def control_name(*, signins: bool = False, provider: str | None = None) -> str:
    """The control a pause names: new sign-ins, one provider's model calls, or (neither) every
    model call. `InvalidRequest` for both at once or an unknown provider."""
    if signins and provider is not None:
        raise InvalidRequest(
            "pause sign-ins or a provider's model calls, not both", param="provider"
        )
    if signins:
        return SIGNINS
    if provider is None:
        return MODELS
    known = canonical_provider_id(provider)
    if known is None:
        raise InvalidRequest(f"unknown provider {provider!r}", param="provider")
    return f"{MODELS}:{known}"


@dataclass(frozen=True, slots=True)
class Controls:
    """The kill switch at a moment: the pauses in force (a pause past its `until` is gone)."""

    pauses: tuple[Control, ...]

    def get(self, name: str) -> Control | None:
        """The pause named `name` (`"signins"`, `"models"`, `"models:<provider>"`), or `None`."""
        return next((c for c in self.pauses if c.name == name), None)

    @property
    def signins_paused(self) -> bool:
        """Whether new sign-ins are paused."""
        return self.get(SIGNINS) is not None

    def models_paused(self, provider: str) -> bool:
        """Whether model calls through `provider` are paused (all of them, or this one's)."""
        return self._model_pause(provider) is not None

    def _model_pause(self, provider: str) -> Control | None:
        return self.get(MODELS) or self.get(f"{MODELS}:{provider}")


def _in_force(controls: list[Control], now: float) -> Controls:
    return Controls(tuple(c for c in controls if c.until is None or c.until > now))


class KillSwitch:
    """One process's cached view of the stored controls, and the checks the routes make."""

    __slots__ = ("_cache_seconds", "_clock", "_controls", "_lock", "_read_at", "_store", "_tenant")

    def __init__(
        self,
        store: AuthStore,
        app_id: str | None,
        clock: Clock,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._store = store
        self._tenant = app_id
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._controls: list[Control] = []
        self._read_at: float | None = None
        self._lock = anyio.Lock()

    async def current(self, *, fresh: bool = False) -> Controls:
        """The pauses in force: from the cache when it is younger than `CACHE_SECONDS` (and not
        `fresh`), else read from the store (one reader at a time; the others use its answer)."""
        now = self._clock.now()
        if not fresh and self._is_fresh(now):
            return _in_force(self._controls, now)
        async with self._lock:
            now = self._clock.now()
            if fresh or not self._is_fresh(now):
                self._controls = await self._store.list_controls(self._tenant)
                self._read_at = now
        return _in_force(self._controls, now)

    def forget(self) -> None:
        """Drop the cache, so this process sees its own pause or resume at once."""
        self._read_at = None

    async def check_signins(self) -> None:
        """Raise `Paused` while new sign-ins are paused."""
        controls = await self.current()
        pause = controls.get(SIGNINS)
        if pause is not None:
            raise Paused("sign-ins are paused by the site's administrator", **self._retry(pause))

    async def check_models(self, provider: str) -> None:
        """Raise `Paused` while model calls through `provider` are paused."""
        if self._read_at is not None and not self._controls and self._is_fresh(self._clock.now()):
            return  # the usual case: nothing paused, and the cache is fresh
        pause = (await self.current())._model_pause(provider)
        if pause is not None:
            which = "model calls are" if pause.name == MODELS else f"{provider} model calls are"
            raise Paused(f"{which} paused by the site's administrator", **self._retry(pause))

    def _is_fresh(self, now: float) -> bool:
        read_at = self._read_at
        return read_at is not None and read_at <= now < read_at + self._cache_seconds

    def _retry(self, pause: Control) -> dict[str, int | None]:
        if pause.until is None:
            return {"retry_after": None}
        return {"retry_after": max(1, math.ceil(pause.until - self._clock.now()))}
