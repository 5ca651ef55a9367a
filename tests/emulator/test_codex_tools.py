"""The emulated Codex backend takes every tool kind the Codex CLI declares, and still names a
malformed one the way the real backend does."""

from __future__ import annotations

from typing import Any

import pytest

from authai_embed.testing.codex.errors import Rejected
from authai_embed.testing.codex.tools import check_tools

FUNCTION = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": False}
CODEX_TOOLS: list[dict[str, Any]] = [
    FUNCTION,
    {"type": "namespace", "name": "multi_agent_v1", "description": "d", "tools": [FUNCTION]},
    {
        "type": "custom",
        "name": "apply_patch",
        "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"},
    },
    {"type": "local_shell"},
    {"type": "web_search", "external_web_access": False},
    {"type": "image_generation", "output_format": "png"},
]


def test_every_tool_kind_the_codex_cli_sends_is_accepted() -> None:
    assert check_tools(CODEX_TOOLS) == CODEX_TOOLS


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        ({"type": "retrieval"}, "tools[0].type"),
        (
            {"type": "namespace", "name": "n", "tools": [{"type": "custom", "name": "c"}]},
            "tools[0].tools[0].type",
        ),
        ({"type": "namespace", "name": "n"}, "tools[0].tools"),
        ({"type": "custom", "name": "c", "format": {"type": "regex"}}, "tools[0].format.type"),
        ({"type": "custom"}, "tools[0].name"),
        ({"type": "local_shell", "name": "x"}, "tools[0].name"),
    ],
)
def test_a_malformed_tool_is_a_400_naming_it(tool: dict[str, Any], param: str) -> None:
    with pytest.raises(Rejected) as caught:
        check_tools([tool])
    assert caught.value.status == 400
    assert caught.value.body["error"]["param"] == param
