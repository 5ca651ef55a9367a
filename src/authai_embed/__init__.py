"""authai_embed: "Sign in with ChatGPT" for any ASGI app."""

from __future__ import annotations

from ._version import __version__

__all__ = ["__version__"]
