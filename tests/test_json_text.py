"""`loads` reads text exactly as `json.loads` does, whichever parser answered."""

from __future__ import annotations

import json

import pytest

from authai_embed._util.json_text import loads


@pytest.mark.parametrize(
    "text",
    [
        '{"content":"\\ud83d cut inside an emoji"}',  # pydantic_core refuses it: stdlib reads it
        '{"n":1e400,"m":NaN,"i":-Infinity,"big":123456789012345678901234567890}',
        '{"a":1,"a":2,"f":0.1,"z":-0.0,"e":5e-324,"u":"\\u00e9\\u0000"}',
        ' [true, false, null, {"k": "v"}] ',
        '"just a string"',
    ],
)
def test_the_value_is_json_loads_value(text: str) -> None:
    assert repr(loads(text)) == repr(json.loads(text))


@pytest.mark.parametrize(
    "text", ['{"a":1} x', "[1, 2", "", "{'a': 1}", '{"a": 1' + "0" * 5000 + "}"]
)
def test_what_json_loads_refuses_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the type is the contract
        json.loads(text)
    with pytest.raises(ValueError):  # noqa: PT011
        loads(text)
