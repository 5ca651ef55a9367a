"""Serve ChatMock (PyPI `chatmock`) against the emulator: `python -m bench.chatmock_server PORT`.

ChatMock posts to the constant `CHATGPT_RESPONSES_URL` (imported by name into
`chatmock.upstream`), sends no `instructions` (given here: ours' default), and reads its tokens
from `$CHATGPT_LOCAL_HOME/auth.json`; the driver writes that file with emulator-issued tokens
and sets `AUTHAI_BENCH_ISSUER`. ChatMock is served the way its `chatmock serve` command does:
Flask's threaded server. Its per-request log lines are silenced, as uvicorn's access log is for
the other servers.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from authai_embed.providers.openai.backend import DEFAULT_INSTRUCTIONS

__all__ = ["main"]


def main(port: int) -> None:
    """Patch ChatMock's upstream to the emulator and serve it on 127.0.0.1:`port`."""
    import chatmock.model_catalog
    import chatmock.routes_openai
    import chatmock.upstream
    from chatmock.app import create_app

    base = os.environ["AUTHAI_BENCH_ISSUER"] + "/backend-api/codex"
    chatmock.upstream.CHATGPT_RESPONSES_URL = f"{base}/responses"  # type: ignore[attr-defined]
    chatmock.model_catalog.CHATGPT_CODEX_BASE_URL = base  # type: ignore[attr-defined]
    # ChatMock 1.40 sends no `instructions`; the emulator, like the backend for some models,
    # requires them. Give it the default instructions our proxy sends, nothing else changes.
    original = chatmock.upstream.start_upstream_request

    def with_instructions(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("instructions", DEFAULT_INSTRUCTIONS)
        return original(*args, **kwargs)

    chatmock.routes_openai.start_upstream_request = with_instructions  # type: ignore[attr-defined]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Reasoning summaries off: the emulator then streams the same events for ChatMock as for us.
    app = create_app(model_sync=False, reasoning_summary="none")
    app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))
