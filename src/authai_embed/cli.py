"""`authai-embed`: make secrets, look after the store, read the usage ledger, serve the mount
on its own."""

from __future__ import annotations

import argparse
import datetime
import secrets
import sys
import time
from collections.abc import Sequence

import anyio

from authai_embed._version import __version__
from authai_embed.admin.commands import add_admin_commands

__all__ = ["main"]


def _cmd_secrets(args: argparse.Namespace) -> int:
    jwt_secret, identity_secret = secrets.token_hex(32), secrets.token_hex(32)
    if args.format == "env":
        print(f"AUTH_AI_JWT_SECRET={jwt_secret}")
        print(f"AUTH_AI_IDENTITY_SECRET={identity_secret}")
    else:
        print(f"export AUTH_AI_JWT_SECRET={jwt_secret}")
        print(f"export AUTH_AI_IDENTITY_SECRET={identity_secret}")
    print(
        "# Keep these out of version control. To rotate the JWT key, put the new one first:\n"
        "# AUTH_AI_JWT_SECRET=<new>,<old> (drop <old> once its sessions have expired).",
        file=sys.stderr,
    )
    return 0


def _cmd_store(args: argparse.Namespace) -> int:
    from authai_embed.errors import AuthAIError
    from authai_embed.settings import Settings
    from authai_embed.stores.url import store_from_url
    from authai_embed.usage.tally import utc_day

    url = args.db or Settings.from_env().db_url

    async def run() -> dict[str, object]:
        store = store_from_url(url)
        await store.open()  # runs pending migrations
        try:
            report: dict[str, object] = {"store": type(store).__name__}
            version = getattr(store, "schema_version", None)
            if version is not None:
                report["schema_version"] = await version()
            counts = getattr(store, "counts", None)
            if args.action == "doctor" and counts is not None:
                report.update(await counts())
            if args.action == "sweep":
                now = time.time()
                removed = await store.sweep(now)
                kept = now - Settings.from_env().usage_retention_days * 86400
                removed += await store.sweep_usage(utc_day(kept))
                report["removed"] = removed
            return report
        finally:
            await store.close()

    try:
        report = anyio.run(run)
    except AuthAIError as exc:
        print(f"authai-embed store {args.action}: {exc}", file=sys.stderr)
        return 1
    for key, value in report.items():
        print(f"{key}: {value}")
    if args.action == "doctor":
        print("status: ok")
    return 0


def _cmd_usage(args: argparse.Namespace) -> int:
    from authai_embed.errors import AuthAIError
    from authai_embed.settings import Settings
    from authai_embed.stores.base import UsageRow
    from authai_embed.stores.url import store_from_url
    from authai_embed.usage.report import render

    url = args.db or Settings.from_env().db_url
    today = datetime.datetime.now(datetime.UTC).date()
    until = args.until or today
    since = args.since or until - datetime.timedelta(days=29)

    async def run() -> list[UsageRow]:
        store = store_from_url(url)
        await store.open()
        try:
            return await store.get_usage(args.user, since.isoformat(), until.isoformat())
        finally:
            await store.close()

    try:
        rows = anyio.run(run)
    except AuthAIError as exc:
        print(f"authai-embed usage: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render(rows, args.format))
    return 0


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: use YYYY-MM-DD") from None


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        from bench.__main__ import main as bench_main
    except ImportError:
        print(
            "authai-embed bench: the benchmarks live in the source checkout (bench/); run this"
            " from its root, or `python -m bench` there",
            file=sys.stderr,
        )
        return 2
    return bench_main(args.bench_args)


def _cmd_serve(args: argparse.Namespace) -> int:
    from authai_embed.errors import ConfigError
    from authai_embed.server.config import load_config
    from authai_embed.server.run import serve

    try:
        config = load_config(
            host=args.host, port=args.port, workers=args.workers, emulator=args.emulator
        )
        return serve(config)
    except ConfigError as exc:  # one line naming the variable; never a value, never a traceback
        print(f"authai-embed serve: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and tests)."""
    parser = argparse.ArgumentParser(
        prog="authai-embed", description="Tools for authai_embed, Sign in with ChatGPT for ASGI."
    )
    parser.add_argument("--version", action="version", version=f"authai-embed {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("secrets", help="print fresh random secrets for the environment")
    make.add_argument(
        "--format", choices=["env", "shell"], default="shell", help="'shell' adds 'export'"
    )
    make.set_defaults(func=_cmd_secrets)
    store = sub.add_parser("store", help="migrate, check or sweep the credential store")
    store.add_argument(
        "action",
        choices=["migrate", "doctor", "sweep"],
        help="migrate: bring the schema up to date; doctor: schema version and counts;"
        " sweep: delete expired sign-ins, records, leases and usage past its retention",
    )
    store.add_argument("--db", help="store URL (default: AUTH_AI_DB_URL or sqlite:///authai.db)")
    store.set_defaults(func=_cmd_store)
    usage = sub.add_parser("usage", help="print the usage ledger: calls and tokens per user")
    usage.add_argument(
        "--user",
        help="one user's opaque id (default: every user); `--user=ID` for an id that starts"
        " with '-'",
    )
    usage.add_argument("--since", type=_day, help="first UTC day, YYYY-MM-DD (default: 30 days)")
    usage.add_argument("--until", type=_day, help="last UTC day, YYYY-MM-DD (default: today)")
    usage.add_argument("--format", choices=["table", "csv", "json"], default="table")
    usage.add_argument("--db", help="store URL (default: AUTH_AI_DB_URL or sqlite:///authai.db)")
    usage.set_defaults(func=_cmd_usage)
    serve = sub.add_parser(
        "serve",
        help="run the mount as its own server (the reference relay's routes and variables)",
        description="Serve GET /, /auth/* and /v1/* at the root, configured by AUTH_AI_*"
        " variables (docs/standalone.md). Needs the serve extra.",
    )
    serve.add_argument("--host", help="address to bind (default: AUTH_AI_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (default: AUTH_AI_PORT or 3000)")
    serve.add_argument(
        "--workers", type=int, help="worker processes (default: AUTH_AI_WORKERS or 1)"
    )
    serve.add_argument(
        "--emulator",
        action="store_true",
        help="offline: the bundled upstream emulator at /emulator stands in for the providers"
        " (or AUTH_AI_EMULATOR=1)",
    )
    serve.set_defaults(func=_cmd_serve)
    add_admin_commands(sub)
    bench = sub.add_parser(
        "bench",
        help="measure what the proxy costs over the upstream (source checkout; python -m bench)",
        add_help=False,
    )
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `authai-embed` command."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":
        args.bench_args = extra  # every option belongs to python -m bench
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
