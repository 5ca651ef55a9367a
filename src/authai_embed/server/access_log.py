"""uvicorn's logging for the standalone server, with sign-in ids kept out of the access log.

A pending sign-in's id travels in the poll's URL path and, until it completes, works like a
bearer secret; the access log shows `/auth/poll/…` instead, as the mount's own request log does.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from authai_embed.asgi.auth_routes import loggable_path

__all__ = ["MaskPollIds", "log_config"]


class MaskPollIds(logging.Filter):
    """Rewrites the path of uvicorn's access records (`args[2]`) to its loggable form."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2].partition("?")[0]
            masked = loggable_path(path)
            if masked != path:
                record.args = (*args[:2], masked, *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's default logging plus the mask on the access log and the package's warnings."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"mask_poll_ids": {"()": f"{__name__}.MaskPollIds"}}
    config["handlers"]["access"]["filters"] = ["mask_poll_ids"]
    config["loggers"]["authai_embed"] = {
        "handlers": ["default"],
        "level": "WARNING",
        "propagate": False,
    }
    return config
