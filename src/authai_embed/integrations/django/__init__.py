"""Django glue: `request.authai_user`, `@authai_required`, the request's session and in-process
OpenAI clients, and a system check for the secrets.

Add `"authai_embed.integrations.django"` to `INSTALLED_APPS` (the check), its
`AuthAIMiddleware` to `MIDDLEWARE`, and point `AUTHAI_INSTANCE` at your `AuthAI` object
(`"mysite.authai.authai"`). See docs/django.md.
"""

from __future__ import annotations

from authai_embed.integrations.django.middleware import AuthAIMiddleware, get_authai
from authai_embed.integrations.django.views import (
    async_openai_client,
    authai_required,
    openai_client,
    session_jwt,
)

__all__ = [
    "AuthAIMiddleware",
    "async_openai_client",
    "authai_required",
    "get_authai",
    "openai_client",
    "session_jwt",
]
