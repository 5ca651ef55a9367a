"""`authai-embed`: make secrets, and more as the project grows."""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Sequence

from ._version import __version__

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `authai-embed` command."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
