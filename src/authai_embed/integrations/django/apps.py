"""The Django app config: listing `authai_embed.integrations.django` in `INSTALLED_APPS`
registers the system check (run by `manage.py check`, `runserver` and `migrate`)."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks

from authai_embed.integrations.django.checks import check_authai


class AuthAIConfig(AppConfig):  # type: ignore[misc]  # Django ships no types
    """authai_embed's Django app: no models, one system check."""

    name = "authai_embed.integrations.django"
    label = "authai_embed"
    verbose_name = "authai_embed"

    def ready(self) -> None:
        checks.register(check_authai, checks.Tags.security)
