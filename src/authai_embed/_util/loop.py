"""`running_loop()`: the asyncio event loop the caller runs on, or None (trio, or no loop).

The fast paths that speak asyncio directly (the upstream transport, disconnect watching, the
SQLite read thread) ask this first and take their anyio path when it is None.
"""

from __future__ import annotations

import asyncio

__all__ = ["running_loop"]


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop; None outside one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
