"""xAI's model APIs, emulated (`emulator.xai.api`): `/xai/v1` (api.x.ai) and `/grok-cli/v1` (the
Grok CLI origin, 426 without `x-grok-client-version`). A bearer access token is required; errors
are xAI's `{"code", "error"}`: `knobs.billing` gives the 403 spending limit or the 429
`free-usage-exhausted`, `model.knobs.usage_limit_reached` a plain 429.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authai_embed.asgi.http import JSONResponse, Request, Response, StreamingResponse
from authai_embed.testing.model.chat import Answer, ChatModel
from authai_embed.testing.xai.knobs import XAIKnobs

__all__ = ["API", "CLI", "SCRIPTED_ERROR", "XAIModelAPI", "xai_catalog"]

API, CLI = "/xai/v1", "/grok-cli/v1"
SCRIPTED_ERROR = {"code": "scripted", "error": "scripted error"}
"""The body of a reply scripted as an HTTP error without one."""
SPENDING_LIMIT = (
    "Your team has either used all available credits or reached its monthly spending limit. "
    "To continue making API requests, please purchase more credits or raise your spending limit."
)


def xai_catalog() -> list[dict[str, Any]]:
    """The models `/models` lists."""
    return [
        {"id": model, "object": "model", "created": 1_735_689_600, "owned_by": "xai"}
        for model in ("grok-4", "grok-4-fast", "grok-code-fast-1")
    ]


class XAIModelAPI:
    """The model routes; `authorized(token)` says whether an access token is valid now."""

    def __init__(
        self, model: ChatModel, knobs: XAIKnobs, authorized: Callable[[str], bool]
    ) -> None:
        self.model = model
        self.knobs = knobs
        self._authorized = authorized

    def _gate(self, request: Request) -> Response | None:
        if request.path.startswith(CLI) and not request.headers.get("x-grok-client-version"):
            return _api(426, "Upgrade Required", "Please upgrade your Grok CLI.")
        if not self._authorized(request.bearer_token() or ""):
            return _api(401, "Unauthenticated", "The access token is invalid or has expired.")
        return None

    async def models(self, request: Request) -> Response:
        return self._gate(request) or self.model.models()

    async def chat(self, request: Request) -> Response | StreamingResponse:
        return await self._call(request, ("model", "messages"), self.model.chat)

    async def responses(self, request: Request) -> Response | StreamingResponse:
        return await self._call(request, ("model", "input"), self.model.responses)

    async def _call(
        self, request: Request, required: tuple[str, ...], answer: Answer
    ) -> Response | StreamingResponse:
        body = await self.model.receive(request)
        gated = self._gate(request)
        if gated is not None:
            return gated
        if not isinstance(body, dict) or any(not body.get(name) for name in required):
            return _api(400, "Client specified an invalid argument", f"{required} are required")
        if body["model"] not in {m["id"] for m in self.model.catalog}:
            return _api(404, "Some requested entity was not found", "The model does not exist.")
        if self.knobs.billing == "spending_limit":
            return _api(403, "The caller does not have permission", SPENDING_LIMIT)
        if self.knobs.billing == "free_usage_exhausted":
            return _api(429, "free-usage-exhausted", "Your free API usage is exhausted.")
        if self.model.knobs.usage_limit_reached:
            return _api(429, "Some resource has been exhausted", "Rate limit reached.", "30")
        return answer(body)


def _api(status: int, code: str, message: str, retry_after: str | None = None) -> JSONResponse:
    """xAI's API error shape: `{"code": <status words>, "error": <message>}`."""
    headers = [] if retry_after is None else [(b"retry-after", retry_after.encode())]
    return JSONResponse({"code": code, "error": message}, status, headers)
