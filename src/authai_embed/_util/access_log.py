"""Keep sign-in session ids out of the web server's access log.

A session id in `/auth/poll/<id>` is a bearer secret for the few minutes of a sign-in: whoever
polls with it gets the user's JWT. Our own request lines mask it; an ASGI server's access log
(uvicorn's, printed by default) writes the full path. This filter rewrites the id to `…` in the
record's arguments before any handler formats it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["PollIdFilter", "install_log_filter", "mask_poll_ids"]

_POLL_ID = re.compile(r"(/auth/poll/)[^/?#\s\"']+")


def mask_poll_ids(text: str) -> str:
    """`text` with every `/auth/poll/<id>` written `/auth/poll/…`."""
    return _POLL_ID.sub(r"\1…", text) if "/auth/poll/" in text else text


def _masked(value: Any) -> Any:
    return mask_poll_ids(value) if isinstance(value, str) else value


class PollIdFilter(logging.Filter):
    """Masks sign-in session ids in a log record's message and arguments; keeps the record's
    shape (uvicorn's access formatter unpacks a 5-tuple, hypercorn's reads a mapping)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_poll_ids(record.msg)
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(_masked(a) for a in args)
        elif isinstance(args, dict):
            for key, value in list(args.items()):  # in place: it may be a dict subclass
                args[key] = _masked(value)
        return True


def install_log_filter(logger: str = "uvicorn.access") -> None:
    """Mask `/auth/poll/<session id>` in the access log of your ASGI server.

    `mount_authai` and `AuthAI` install it on `uvicorn.access` themselves; call it for another
    server's logger (`"hypercorn.access"`, `"gunicorn.access"`) or to have it before the mount is
    made. Idempotent: one filter per logger, however many calls.
    """
    target = logging.getLogger(logger)
    if not any(isinstance(f, PollIdFilter) for f in target.filters):
        target.addFilter(PollIdFilter())
