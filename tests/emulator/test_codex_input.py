"""The emulated Codex backend refuses the Responses input shapes the real one refuses (string
input, shorthand messages, `system` messages, stored items), and ends its stream as the real one
does (`output: []` in the final event), with knobs for the unconfirmed variants."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from authai_embed.testing import Emulator
from tests.emulator.test_codex import access, body, client, headers, stream, user

pytestmark = pytest.mark.anyio

__all__ = ["access", "client", "headers"]  # fixtures, used by name

NOT_PERSISTED = (
    "not found. Items are not persisted when `store` is set to false. Try again with `store` set "
    "to true, or remove this item from your input."
)


async def post(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> httpx.Response:
    return await client.post("/responses", json=body(**fields), headers=headers)


async def test_a_string_input_is_the_real_400(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await post(client, headers, input="hello")
    assert (response.status_code, response.json()) == (400, {"detail": "Input must be a list"})


@pytest.mark.parametrize(
    ("item", "param", "message"),
    [
        (
            {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            "input[0].type",
            "Missing required parameter: 'input[0].type'.",
        ),
        (
            {"type": "message", "role": "user", "content": "hi"},
            "input[0].content",
            "Invalid type for 'input[0].content': expected an array of content parts, but got a "
            "string instead.",
        ),
    ],
)
async def test_shorthand_messages_are_refused_in_openais_envelope(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    item: dict[str, Any],
    param: str,
    message: str,
) -> None:
    response = await post(client, headers, input=[item])
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert response.json()["error"]["message"] == message


async def test_strict_input_off_reads_shorthand_as_the_public_api_does(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.knobs.strict_input = False
    events = await stream(client, headers, input=[{"role": "user", "content": "hi there"}])
    assert events[-1][0] == "response.completed"
    assert "".join(d["delta"] for n, d in events if n.endswith("output_text.delta")) == (
        "Echo: hi there"
    )
    # Still a list, still no system messages.
    assert (await post(client, headers, input="hi")).status_code == 400


async def test_system_messages_are_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    system = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "x"}]}
    response = await post(client, headers, input=[system, user("hi")])
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "System messages are not allowed"},
    )


@pytest.mark.parametrize(
    "item",
    [
        {"type": "item_reference", "id": "msg_1"},
        {**user("hi"), "id": "msg_1"},
        {"type": "function_call", "id": "msg_1", "call_id": "c", "name": "f", "arguments": "{}"},
    ],
)
async def test_items_to_look_up_are_a_404_as_nothing_is_stored(
    client: httpx.AsyncClient, headers: dict[str, str], item: dict[str, Any]
) -> None:
    response = await post(client, headers, input=[item])
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["message"] == f"Item with id 'msg_1' {NOT_PERSISTED}"
    assert error["type"] == "invalid_request_error"
    assert (error["param"], error["code"]) == ("input", None)


async def test_the_final_event_has_an_empty_output_unless_the_knob_fills_it(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    events = await stream(client, headers)
    final = events[-1][1]["response"]
    assert final["output"] == []
    assert final["usage"]["total_tokens"] > 0
    emulator.codex.knobs.final_output = True
    filled = (await stream(client, headers))[-1][1]["response"]["output"]
    assert filled[0]["content"][0]["text"] == "Echo: hello"


async def test_response_fields_can_be_left_out_of_every_event(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.knobs.omit_response_fields = ("object", "created_at")
    events = await stream(client, headers)
    responses = [data["response"] for _, data in events if "response" in data]
    assert len(responses) == 3
    assert all("object" not in r and "created_at" not in r and r["id"] for r in responses)
