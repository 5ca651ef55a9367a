"""The Copilot API, emulated (`emulator.github.api`): `{endpoints.api}/chat/completions`,
`/responses` and `/models` behind a Copilot token, with Copilot's checks and error shape
(401 unknown or expired token, 400 without `Copilot-Integration-Id`, 400 `model_not_supported`
for a model it does not list, 400 `unsupported_api_for_model` for one it does not serve on the
endpoint called, 429 `rate_limited`). Answers come from the shared `ChatModel`.

Premium requests are counted as Copilot bills them (a call with `X-Initiator: user` to a model
whose `billing.is_premium`, weighted by its `billing.multiplier`) and reported on every answer
in `x-quota-snapshot-premium_interactions`, as the real API does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlencode

from authai_embed._util.clock import Clock
from authai_embed.asgi.http import JSONResponse, Request, Response, StreamingResponse
from authai_embed.testing.model.chat import Answer, ChatModel

__all__ = ["QUOTA_HEADER", "SCRIPTED_ERROR", "CopilotAPI", "CopilotKnobs", "copilot_catalog"]

QUOTA_HEADER = "x-quota-snapshot-premium_interactions"

SCRIPTED_ERROR = {"error": {"message": "scripted error", "code": "error"}}
"""The body of a reply scripted as an HTTP error without one."""


def copilot_catalog() -> list[dict[str, Any]]:
    """The Copilot model list: chat models, a Responses-only Codex model, an embedding model."""

    def model(
        model_id: str, vendor: str, endpoints: list[str], multiplier: float
    ) -> dict[str, Any]:
        return {
            "id": model_id,
            "object": "model",
            "vendor": vendor,
            "name": model_id,
            "model_picker_enabled": True,
            "supported_endpoints": endpoints,
            "billing": {"is_premium": multiplier > 0, "multiplier": multiplier},
        }

    return [
        model("gpt-5.4", "OpenAI", ["/chat/completions", "/responses"], 1),
        model("gpt-5.4-codex", "OpenAI", ["/responses"], 1),
        model("claude-sonnet-4.5", "Anthropic", ["/chat/completions"], 1),
        model("gpt-4.1", "Azure OpenAI", [], 0),  # the base model: no premium requests
        model("text-embedding-3-small", "Azure OpenAI", ["/embeddings"], 0),
    ]


class CopilotKnobs(Protocol):
    """The knobs of `GitHubKnobs` the Copilot API reads."""

    unsupported_api: dict[str, tuple[str, ...]]
    premium_entitlement: int | None


class CopilotAPI:
    """The Copilot API's routes; `login_of(token)` says whose valid Copilot token it is.
    `premium_used` holds each login's premium requests (weighted) since the emulator started."""

    def __init__(
        self,
        model: ChatModel,
        login_of: Callable[[str], str | None],
        knobs: CopilotKnobs,
        clock: Clock,
    ) -> None:
        self.model = model
        self._user_of = login_of
        self.knobs = knobs
        self._clock = clock
        self.premium_used: dict[str, float] = {}

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
        if rejected is not None:
            return rejected
        login = self._user_of(request.bearer_token() or "") or ""
        response = answer(body)
        if 200 <= response.status < 300:
            if request.headers.get("x-initiator") == "user":
                self._bill(login, body["model"])
            quota = self._quota(login)
            if quota is not None:
                response.headers.append((QUOTA_HEADER.encode(), quota.encode()))
        return response

    def _bill(self, login: str, model: str) -> None:
        entry = next((m for m in self.model.catalog if m["id"] == model), None)
        billing = entry.get("billing") if entry is not None else None
        if isinstance(billing, dict) and billing.get("is_premium") is True:
            cost = float(billing.get("multiplier", 1))
            self.premium_used[login] = self.premium_used.get(login, 0.0) + cost

    def _quota(self, login: str) -> str | None:
        """The quota header's value: `ent`, `ov`, `ovPerm`, `rem` (percent), `rst` (reset)."""
        entitlement = self.knobs.premium_entitlement
        if entitlement is None:
            return None
        used = self.premium_used.get(login, 0.0)
        left = 100.0 if entitlement < 0 else max(0.0, 100.0 * (1 - used / max(entitlement, 1)))
        now = dt.datetime.fromtimestamp(self._clock.now(), dt.UTC)
        first = dt.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=dt.UTC)
        fields = {
            "ent": str(entitlement),
            "ov": "0.0",
            "ovPerm": "false",
            "rem": f"{left:.1f}",
            "rst": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return urlencode(fields)

    def _check(
        self, request: Request, body: Any, endpoint: str, required: tuple[str, ...]
    ) -> Response | None:
        if self._user_of(request.bearer_token() or "") is None:
            return _unauthorized()
        if request.headers.get("copilot-integration-id") is None:
            return _api_error(400, "missing Copilot-Integration-Id header", "bad_request")
        if not isinstance(body, dict) or any(not body.get(name) for name in required):
            return _api_error(400, f"{' and '.join(required)} are required", "invalid_request")
        refused = self.knobs.unsupported_api.get(body["model"])
        listed = {m["id"]: m["supported_endpoints"] for m in self.model.catalog}
        endpoints = listed.get(body["model"])
        if endpoints is None:
            return _api_error(400, "The requested model is not supported.", "model_not_supported")
        if refused is not None:  # the knob decides where a model it names is served
            served = endpoint not in refused
        else:  # no endpoints listed: unrestricted
            served = not endpoints or endpoint in endpoints
        if not served:
            # Copilot's words, as clients report them (no `type` or `param` here).
            message = f'model "{body["model"]}" is not accessible via the {endpoint} endpoint'
            error = {"message": message, "code": "unsupported_api_for_model"}
            return JSONResponse({"error": error}, 400)
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
