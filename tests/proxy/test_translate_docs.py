"""docs/proxy.md tables every request parameter, role and stream event the translator knows.

The names come from the translator's own lists, and a second test holds those lists to what the
translator does, so a parameter handled in code but missing from the docs fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from authai_embed.errors import InvalidRequest
from authai_embed.proxy.translate.chat_messages import ROLES
from authai_embed.proxy.translate.chat_options import (
    EFFORTS,
    RESPONSE_FORMATS,
    SUMMARIES,
    TOOL_CHOICES,
    VERBOSITIES,
)
from authai_embed.proxy.translate.chat_to_responses import (
    DROPPED_PARAMS,
    REASONING_SUMMARY_FIELD,
    REFUSED_PARAMS,
    TRANSLATED_PARAMS,
    chat_to_responses,
)
from authai_embed.proxy.translate.passthrough import TERMINAL_EVENTS
from authai_embed.proxy.translate.response_events import HANDLED_EVENTS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "proxy.md").read_text()
KNOWN = TRANSLATED_PARAMS + REFUSED_PARAMS + DROPPED_PARAMS


def section(heading: str) -> str:
    """The text under `### <heading>`, up to the next heading."""
    after = DOC.split(f"\n### {heading}\n", 1)
    assert len(after) == 2, f"docs/proxy.md has no '### {heading}' section"
    return after[1].split("\n#", 1)[0]


def table(heading: str) -> dict[str, str]:
    """Each name in code in the first column of the section's table → the rest of its row."""
    rows: dict[str, str] = {}
    for line in section(heading).splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        _, first, rest = line.split("|", 2)
        for name in re.findall(r"`([^`]+)`", first):
            rows[name] = rest
    return rows


def test_every_request_parameter_is_in_the_table_with_its_fate() -> None:
    rows = table("Request parameters")
    assert sorted(name for name in KNOWN if name not in rows) == []
    fate = {name: rows[name].strip().split()[0].rstrip(";:,") for name in KNOWN}
    assert {n for n in REFUSED_PARAMS if fate[n] != "refused"} == set()
    assert {n for n in DROPPED_PARAMS if fate[n] != "dropped"} == set()
    assert {n for n in TRANSLATED_PARAMS if fate[n] in ("refused", "dropped")} == set()


def test_the_table_names_no_parameter_the_translator_does_not_know() -> None:
    assert sorted(set(table("Request parameters")) - set(KNOWN)) == []


@pytest.mark.parametrize(
    ("param", "values"),
    [
        ("tool_choice", TOOL_CHOICES),
        ("response_format", RESPONSE_FORMATS),
        ("verbosity", VERBOSITIES),
        ("reasoning_effort", EFFORTS),
        (REASONING_SUMMARY_FIELD, SUMMARIES),
    ],
)
def test_every_accepted_value_is_in_its_row(param: str, values: tuple[str, ...]) -> None:
    row = table("Request parameters")[param]
    assert [v for v in values if f"`{v}`" not in row] == []


def test_every_role_is_in_the_messages_table() -> None:
    rows = table("Messages")
    assert [role for role in (*ROLES, "function") if role not in rows] == []
    assert sorted(set(rows) - {*ROLES, "function"}) == []


def test_every_stream_event_is_in_the_events_table() -> None:
    rows = table("Stream events")
    assert sorted(HANDLED_EVENTS - set(rows)) == []
    events = {name for name in rows if name.startswith("response.") or name == "error"}
    assert sorted(events - HANDLED_EVENTS) == []


def test_the_pass_through_terminal_events_are_documented() -> None:
    text = section("The other routes")
    assert sorted(e for e in TERMINAL_EVENTS if f"`{e}`" not in text) == []


# -- the lists are the translator's: each known parameter is checked, an unknown one is not ------


def body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-5.4", "messages": [{"role": "user", "content": "Hi"}], **extra}


@pytest.mark.parametrize("name", KNOWN)
def test_every_known_parameter_is_checked(name: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_to_responses(body(**{name: object()}))
    assert caught.value.param is not None
    assert re.match(rf"{re.escape(name)}(\b|$)", caught.value.param)


def test_an_unknown_parameter_is_dropped_unchecked() -> None:
    assert chat_to_responses(body(some_future_parameter=object())).dropped == (
        "some_future_parameter",
    )


def test_translated_parameters_are_not_dropped_and_dropped_ones_are() -> None:
    translated = {
        "stream": False,
        "stream_options": {"include_usage": True},
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "response_format": {"type": "json_object"},
        "verbosity": "low",
        "reasoning_effort": "low",
        REASONING_SUMMARY_FIELD: "auto",
        "prompt_cache_key": "k",
    }
    assert set(body(**translated)) == set(TRANSLATED_PARAMS)
    chat = chat_to_responses(body(**translated, temperature=1, user="u"))
    assert chat.dropped == ("temperature", "user")
