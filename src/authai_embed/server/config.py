"""The standalone server's configuration, read from the environment and checked before serving.

The reference relay's variables keep their meaning (`AUTH_AI_JWT_SECRET`,
`AUTH_AI_IDENTITY_SECRET`, `AUTH_AI_ORIGINATOR`, `AUTH_AI_DB_DRIVER`, `AUTH_AI_DB_URL`,
`AUTH_AI_PORT`), so its deployments move over by changing the image. Every problem is one
`ServeConfigError` naming the variable and what is wrong with it, never its value: a secret or a
database password must not reach a terminal or a log.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass

from authai_embed.asgi.limiter_url import SETTING as RATE_LIMIT_SETTING
from authai_embed.asgi.limiter_url import check_url
from authai_embed.environment import ENVIRONMENT
from authai_embed.errors import ConfigError
from authai_embed.providers.registry import canonical_provider_id
from authai_embed.settings import Secrets, Settings
from authai_embed.stores.url import store_from_url

__all__ = ["SERVE_VARS", "ServeConfig", "ServeConfigError", "load_config"]

SERVE_VARS = (
    "AUTH_AI_DB_DRIVER",
    "AUTH_AI_PORT",
    "AUTH_AI_HOST",
    "AUTH_AI_WORKERS",
    "AUTH_AI_SHUTDOWN_GRACE",
    "AUTH_AI_FORWARDED_ALLOW_IPS",
    "AUTH_AI_EMULATOR",
    "AUTH_AI_EMULATOR_EVENT_DELAY",
)
"""The variables only the standalone server reads (the rest are `Settings.from_env`'s)."""

# The variables `Settings.from_env` reads, each checked alone so a problem names its variable.
# Every settings variable but the store's, which `_store_url` reads with the reference's rules.
_SETTINGS_VARS = tuple(var for var in ENVIRONMENT if var != "AUTH_AI_DB_URL")
_DRIVERS = {
    "sqlite": "sqlite",
    "postgres": "postgres",
    "postgresql": "postgres",
    "memory": "memory",
}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
_MAX_WORKERS = 64


class ServeConfigError(ConfigError):
    """A missing or bad variable (or option): `variable` names it, the message says what to do."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(problem if problem.startswith(variable) else f"{variable}: {problem}")


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """Everything `authai-embed serve` needs, checked."""

    secrets: Secrets
    settings: Settings
    store_url: str
    host: str
    port: int
    workers: int
    shutdown_grace: int
    forwarded_allow_ips: str
    emulator: bool
    emulator_event_delay: float


def load_config(
    environ: Mapping[str, str] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    emulator: bool = False,
) -> ServeConfig:
    """Read and check the environment; keyword options (the command line's) win over it.

    Raises `ServeConfigError` for the first problem found.
    """
    env = os.environ if environ is None else environ
    emulator = emulator or _flag(env, "AUTH_AI_EMULATOR")
    host = host if host is not None else env.get("AUTH_AI_HOST", "").strip() or "127.0.0.1"
    port = port if port is not None else _int(env, "AUTH_AI_PORT", 3000, 1, 65535)
    if not 1 <= port <= 65535:
        raise ServeConfigError("--port", "must be a TCP port, 1 to 65535")
    workers = workers if workers is not None else _int(env, "AUTH_AI_WORKERS", 1, 1, _MAX_WORKERS)
    if not 1 <= workers <= _MAX_WORKERS:
        raise ServeConfigError("--workers", f"must be 1 to {_MAX_WORKERS}")
    if emulator and workers > 1:
        raise ServeConfigError(
            "--workers", "the emulator keeps its sign-ins in one process: run it with 1 worker"
        )
    store_url = _store_url(env, emulator)
    if workers > 1 and store_url.startswith("memory:"):
        raise ServeConfigError(
            "AUTH_AI_DB_URL",
            "memory:// is one store per process: with several workers use SQLite or PostgreSQL",
        )
    return ServeConfig(
        secrets=_secrets(env, emulator),
        settings=_settings(env, emulator),
        store_url=store_url,
        host=host,
        port=port,
        workers=workers,
        shutdown_grace=_int(env, "AUTH_AI_SHUTDOWN_GRACE", 30, 0, 3600),
        forwarded_allow_ips=env.get("AUTH_AI_FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1",
        emulator=emulator,
        emulator_event_delay=_float(env, "AUTH_AI_EMULATOR_EVENT_DELAY", 0.03, 0.0, 10.0),
    )


def _secrets(env: Mapping[str, str], emulator: bool) -> Secrets:
    """The keys; the emulator makes fresh ones when none are set (sessions end with it)."""
    if emulator and not env.get("AUTH_AI_JWT_SECRET") and not env.get("AUTH_AI_IDENTITY_SECRET"):
        return Secrets.generate()
    try:
        return Secrets.from_env(env)
    except ConfigError as exc:
        text = str(exc)
        variable = "AUTH_AI_IDENTITY_SECRET" if "IDENTITY" in text else "AUTH_AI_JWT_SECRET"
        raise ServeConfigError(variable, text) from None


def _settings(env: Mapping[str, str], emulator: bool) -> Settings:
    """`Settings.from_env`, each variable checked alone first so an error names it."""
    if not emulator and not env.get("AUTH_AI_ORIGINATOR", "").strip():
        raise ServeConfigError(
            "AUTH_AI_ORIGINATOR",
            "is not set: name your app (1 to 64 of A-Z a-z 0-9 _ . -); providers show it on"
            " their consent screen",
        )
    for variable in _SETTINGS_VARS:
        if env.get(variable):
            try:
                Settings.from_env({variable: env[variable]})
            except ConfigError as exc:
                problem = str(exc).removeprefix("invalid authai_embed settings: ")
                raise ServeConfigError(variable, problem.partition(": ")[2] or problem) from None
    settings = Settings.from_env(env)
    if settings.rate_limit_url:  # here, not in each worker
        try:
            check_url(settings.rate_limit_url)
        except ConfigError as exc:
            problem = str(exc).removeprefix(f"{RATE_LIMIT_SETTING} ")
            raise ServeConfigError("AUTH_AI_RATE_LIMIT_URL", problem) from None
    for name in settings.providers:
        if canonical_provider_id(name) is None:
            raise ServeConfigError(
                "AUTH_AI_PROVIDERS", f"unknown provider {name!r}: use openai, github or xai"
            )
    return settings


def _store_url(env: Mapping[str, str], emulator: bool) -> str:
    """The store's URL from `AUTH_AI_DB_DRIVER` and `AUTH_AI_DB_URL`, as the reference reads them
    (a bare SQLite path is accepted), checked without opening it."""
    raw_driver = env.get("AUTH_AI_DB_DRIVER", "").strip().lower()
    if raw_driver and raw_driver not in _DRIVERS:
        raise ServeConfigError("AUTH_AI_DB_DRIVER", "must be sqlite, postgres or memory")
    url = env.get("AUTH_AI_DB_URL", "").strip()
    driver = _DRIVERS.get(raw_driver, "")
    if not url:
        if driver == "postgres":
            raise ServeConfigError(
                "AUTH_AI_DB_URL",
                "is not set, and AUTH_AI_DB_DRIVER=postgres needs it:"
                " postgresql://user:password@host:5432/database",
            )
        url = "memory://" if driver == "memory" or (emulator and not driver) else ""
        url = url or "sqlite:///authai.db"
    elif ":" not in url.split("/", 1)[0]:  # the reference's bare file path
        if driver not in ("", "sqlite"):
            raise ServeConfigError(
                "AUTH_AI_DB_URL", f"is a file path, but AUTH_AI_DB_DRIVER is {raw_driver}"
            )
        url = "sqlite:///" + url.removeprefix("./")
    scheme = _DRIVERS.get(url.partition(":")[0].lower(), "")
    if driver and scheme and scheme != driver:
        raise ServeConfigError(
            "AUTH_AI_DB_URL", f"is a {scheme} URL, but AUTH_AI_DB_DRIVER is {raw_driver}"
        )
    try:
        store_from_url(url)
    except ConfigError as exc:
        raise ServeConfigError("AUTH_AI_DB_URL", str(exc)) from None
    if scheme == "postgres" and importlib.util.find_spec("asyncpg") is None:
        raise ServeConfigError(
            "AUTH_AI_DB_URL",
            "PostgreSQL needs the postgres extra: pip install 'authai-embed[postgres]'",
        )
    return url


def _flag(env: Mapping[str, str], variable: str) -> bool:
    value = env.get(variable, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ServeConfigError(variable, "must be 1/true/on or 0/false/off")


def _int(env: Mapping[str, str], variable: str, default: int, low: int, high: int) -> int:
    text = env.get(variable, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ServeConfigError(variable, f"must be a whole number, {low} to {high}") from None
    if not low <= value <= high:
        raise ServeConfigError(variable, f"must be {low} to {high}")
    return value


def _float(env: Mapping[str, str], variable: str, default: float, low: float, high: float) -> float:
    text = env.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ServeConfigError(
            variable, f"must be a number of seconds, {low:g} to {high:g}"
        ) from None
    if not low <= value <= high:
        raise ServeConfigError(variable, f"must be {low:g} to {high:g} seconds")
    return value
