"""The pytest entry point of authai_embed's fixtures (`authai_embed.testing.pytest_plugin`).

pytest imports entry-point plugins before pytest-cov starts measuring, so this module imports
nothing: importing authai_embed here would hide its module-level lines from coverage (a host's
and ours). The fixtures are loaded at configure time, after coverage has started.
"""

from __future__ import annotations

from typing import Any

PLUGIN = "authai_embed.testing.pytest_plugin"


def pytest_configure(config: Any) -> None:
    """Register the fixtures (once, also when `-p` named them already)."""
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)
