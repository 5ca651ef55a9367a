"""The admin commands of `authai-embed`: pause, resume, controls, users, revoke-user, audit.

Each opens the store named by `--db` (default `AUTH_AI_DB_URL`), acts through `AdminOps` as
the admin named by `--by` (default `cli:<login name>`), and closes it. Only `revoke-user`
needs the app's secrets (`AUTH_AI_JWT_SECRET`, `AUTH_AI_IDENTITY_SECRET`) from the environment.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio

__all__ = ["add_admin_commands"]

if TYPE_CHECKING:  # the app is imported when a command runs, not at CLI start
    from authai_embed.admin.ops import AdminOps
    from authai_embed.stores.base import UserSummary


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "cli"


def _when(value: float | None) -> str:
    return (
        "-" if value is None else datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
    )


def _run(args: argparse.Namespace, work: Callable[[AdminOps], Awaitable[Any]]) -> int:
    from authai_embed._util.clock import SystemClock
    from authai_embed.admin.kill_switch import KillSwitch
    from authai_embed.admin.ops import AdminOps
    from authai_embed.auth.account_sessions import AccountSessions
    from authai_embed.errors import AuthAIError, InvalidRequest
    from authai_embed.settings import Secrets, Settings
    from authai_embed.stores.url import store_from_url

    async def run() -> Any:
        settings = Settings.from_env()
        store = store_from_url(args.db or settings.db_url)
        clock = SystemClock()
        accounts = None
        if args.command == "revoke-user":
            secrets = Secrets.from_env()
            accounts = AccountSessions(
                store=store, identity_key=secrets.identity_key, settings=settings, clock=clock
            )
        await store.open()
        try:
            kill = KillSwitch(store, settings.app_id, clock)
            ops = AdminOps(
                store=store, settings=settings, clock=clock, kill_switch=kill, accounts=accounts
            )
            return await work(ops)
        finally:
            await store.close()

    try:
        anyio.run(run)
    except InvalidRequest as exc:
        print(f"authai-embed {args.command}: {exc.message}", file=sys.stderr)
        return 2
    except AuthAIError as exc:
        print(f"authai-embed {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _print_controls(ops: AdminOps) -> None:
    pauses = (await ops.controls()).pauses
    if not pauses:
        print("nothing is paused")
    for c in pauses:
        print(f"paused: {c.name}  until: {_when(c.until)}  by: {c.set_by}  at: {_when(c.set_at)}")


def _cmd_pause(args: argparse.Namespace) -> int:
    async def work(ops: AdminOps) -> None:
        await ops.pause(by=args.by, signins=args.signins, provider=args.provider, until=args.until)
        await _print_controls(ops)

    return _run(args, work)


def _cmd_resume(args: argparse.Namespace) -> int:
    async def work(ops: AdminOps) -> None:
        if not await ops.resume(by=args.by, signins=args.signins, provider=args.provider):
            print("it was not paused")
        await _print_controls(ops)

    return _run(args, work)


def _cmd_controls(args: argparse.Namespace) -> int:
    return _run(args, _print_controls)


def _cmd_users(args: argparse.Namespace) -> int:
    async def work(ops: AdminOps) -> None:
        users = await ops.users(limit=args.limit)
        if args.format == "json":
            print(json.dumps([_user(u) for u in users]))
            return
        print(f"{'user id':<44} {'provider':<8} {'sessions':>8}  first seen / last used")
        for u in users:
            print(
                f"{u.user_id:<44} {u.provider:<8} {u.sessions:>8}  "
                f"{_when(u.first_seen)} / {_when(u.last_used)}"
            )

    return _run(args, work)


def _user(u: UserSummary) -> dict[str, Any]:
    return {
        "id": u.user_id,
        "provider": u.provider,
        "firstSeen": u.first_seen,
        "lastUsed": u.last_used,
        "sessions": u.sessions,
    }


def _cmd_revoke_user(args: argparse.Namespace) -> int:
    async def work(ops: AdminOps) -> None:
        count = await ops.revoke(args.user_id, by=args.by)
        print(f"revoked {count} sessions of {args.user_id}")

    return _run(args, work)


def _cmd_audit(args: argparse.Namespace) -> int:
    async def work(ops: AdminOps) -> None:
        entries = await ops.audit_log(since=args.since, limit=args.limit)
        if args.format == "json":
            rows = [
                {
                    "at": e.at,
                    "by": e.actor,
                    "action": e.action,
                    "target": e.target,
                    "detail": e.detail,
                }
                for e in entries
            ]
            print(json.dumps(rows, ensure_ascii=False))
            return
        for e in entries:
            detail = f"  ({e.detail})" if e.detail else ""
            print(f"{_when(e.at)}  {e.actor}  {e.action}  {e.target}{detail}")

    return _run(args, work)


def _common(parser: argparse.ArgumentParser, *, by: bool = True) -> None:
    parser.add_argument("--db", help="store URL (default: AUTH_AI_DB_URL or sqlite:///authai.db)")
    if by:
        parser.add_argument(
            "--by",
            default=_default_actor(),
            help="the admin named in the audit log (default: cli:<login>)",
        )


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", help="only this provider's model calls (openai, github, xai)")
    parser.add_argument("--signins", action="store_true", help="new sign-ins, not model calls")


def add_admin_commands(sub: Any) -> None:
    """Add the admin commands to the `authai-embed` subparsers `sub`."""
    pause = sub.add_parser(
        "pause",
        help="kill switch: pause every model call, one provider's, or new sign-ins (503)",
        description="Pause in every process sharing the store, within 2 s. Without --provider"
        " or --signins, every model call is paused.",
    )
    _target(pause)
    pause.add_argument("--until", help="resume by itself at this ISO 8601 time (UTC if no zone)")
    _common(pause)
    pause.set_defaults(func=_cmd_pause)
    resume = sub.add_parser("resume", help="lift a pause (the same --provider/--signins)")
    _target(resume)
    _common(resume)
    resume.set_defaults(func=_cmd_resume)
    controls = sub.add_parser("controls", help="show what the kill switch pauses now")
    _common(controls, by=False)
    controls.set_defaults(func=_cmd_controls)
    users = sub.add_parser("users", help="list the users with a live session")
    users.add_argument("--limit", type=int, default=1000)
    users.add_argument("--format", choices=["table", "json"], default="table")
    _common(users, by=False)
    users.set_defaults(func=_cmd_users)
    revoke = sub.add_parser(
        "revoke-user",
        help="end every session of a user (needs AUTH_AI_JWT_SECRET and AUTH_AI_IDENTITY_SECRET)",
    )
    revoke.add_argument(
        "user_id",
        help="the user's opaque id (as `users` lists it); an id may start with '-': put it"
        " after `--` (revoke-user -- -2jmK...)",
    )
    _common(revoke)
    revoke.set_defaults(func=_cmd_revoke_user)
    audit = sub.add_parser("audit", help="list the admin actions (pause, resume, revoke, export)")
    audit.add_argument("--since", help="from this ISO 8601 time (UTC if no zone)")
    audit.add_argument("--limit", type=int, default=100, help="the newest this many")
    audit.add_argument("--format", choices=["table", "json"], default="table")
    _common(audit, by=False)
    audit.set_defaults(func=_cmd_audit)
