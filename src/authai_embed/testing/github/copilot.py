"""The Copilot API, emulated (`emulator.github.api`): `{endpoints.api}/chat/completions`,
`/responses` and `/models` behind a Copilot token, with Copilot's checks and error shape
(401 unknown or expired token, 400 without `Copilot-Integration-Id`, 400 `model_not_supported`
or `unsupported_api_for_model`, 429 `rate_limited`). Answers come from the shared `ChatModel`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authai_embed.asgi.http import JSONResponse, Request, Response, StreamingResponse
from authai_embed.testing.model.chat import Answer, ChatModel

__all__ = ["SCRIPTED_ERROR", "CopilotAPI", "copilot_catalog"]

SCRIPTED_ERROR = {"error": {"message": "scripted error", "code": "error"}}
"""The body of a reply scripted as an HTTP error without one."""


def copilot_catalog() -> list[dict[str, Any]]:
    """The Copilot model list: chat models, a Responses-only Codex model, an embedding model."""

    def model(model_id: str, vendor: str, endpoints: list[str]) -> dict[str, Any]:
        return {
            "id": model_id,
            "object": "model",
            "vendor": vendor,
            "name": model_id,
            "model_picker_enabled": True,
            "supported_endpoints": endpoints,
        }

    return [
        model("gpt-5.4", "OpenAI", ["/chat/completions", "/responses"]),
        model("gpt-5.4-codex", "OpenAI", ["/responses"]),
        model("claude-sonnet-4.5", "Anthropic", ["/chat/completions"]),
        model("gpt-4.1", "Azure OpenAI", []),
        model("text-embedding-3-small", "Azure OpenAI", ["/embeddings"]),
    ]


class CopilotAPI:
    """The Copilot API's routes; `user_of(token)` says whose valid Copilot token it is."""

    def __init__(self, model: ChatModel, user_of: Callable[[str], object | None]) -> None:
        self.model = model
        self._user_of = user_of

    async def models(self, request: Request) -> Response:
        if self._user_of(request.bearer_token() or "") is None:
            return _unauthorized()
        return self.model.models()

    async def chat(self, request: Request) -> Response | StreamingResponse:
        return await self._call(
            request, "/chat/completions", ("model", "messages"), self.model.chat
        )

    async def responses(self, request: Request) -> Response | StreamingResponse:
        return await self._call(request, "/responses", ("model", "input"), self.model.responses)

    async def _call(
        self, request: Request, endpoint: str, required: tuple[str, ...], answer: Answer
    ) -> Response | StreamingResponse:
        body = await self.model.receive(request)
        rejected = self._check(request, body, endpoint, required)
        return answer(body) if rejected is None else rejected

    def _check(
        self, request: Request, body: Any, endpoint: str, required: tuple[str, ...]
    ) -> Response | None:
        if self._user_of(request.bearer_token() or "") is None:
            return _unauthorized()
        if request.headers.get("copilot-integration-id") is None:
            return _api_error(400, "missing Copilot-Integration-Id header", "bad_request")
        if not isinstance(body, dict) or any(not body.get(name) for name in required):
            return _api_error(400, f"{' and '.join(required)} are required", "invalid_request")
        listed = {m["id"]: m["supported_endpoints"] for m in self.model.catalog}
        endpoints = listed.get(body["model"])
        if endpoints is None or (endpoints and endpoint not in endpoints):
            if endpoints is None or endpoint == "/chat/completions":
                return _api_error(
                    400, "The requested model is not supported.", "model_not_supported"
                )
            return _api_error(
                400,
                f"model {body['model']} does not support {endpoint}",
                "unsupported_api_for_model",
            )
        if self.model.knobs.usage_limit_reached:
            message = "Sorry, you have been rate-limited. Please wait a moment before trying again."
            return _api_error(429, message, "rate_limited", retry_after="60")
        return None


def _api_error(
    status: int, message: str, code: str, retry_after: str | None = None
) -> JSONResponse:
    headers = [] if retry_after is None else [(b"retry-after", retry_after.encode())]
    error = {"message": message, "code": code, "type": "invalid_request_error", "param": None}
    return JSONResponse({"error": error}, status, headers)


def _unauthorized() -> JSONResponse:
    return _api_error(401, "unauthorized: token expired or invalid", "unauthorized")
