"""`authai-embed serve`: the mount as its own server, a drop-in for the reference relay.

`config.py` reads the environment (the reference relay's variables plus ours) into one checked
value, `app.py` builds the ASGI app from it (the mount at the root, the emulator beside it in
offline mode), `gc_tuning.py` sets the garbage collector for serving, `access_log.py` keeps
sign-in ids out of uvicorn's access log and `run.py` starts uvicorn. Run it as `authai-embed
serve`, or `uvicorn --factory authai_embed.server:create_app` with the same environment.
"""

from __future__ import annotations

from authai_embed.server.app import create_app

__all__ = ["create_app"]
