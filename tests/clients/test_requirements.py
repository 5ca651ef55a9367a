"""The suite's own rules: a missing client fails in CI instead of skipping, and every client
version tested is pinned exactly in one place."""

from __future__ import annotations

import json

import pytest

from tests._support.clients import NODE_DIR, ROOT, require_module, require_node_package


def test_a_missing_client_fails_in_ci_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHAI_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="'no_such_client' is not installed"):
        require_module("no_such_client")
    with pytest.raises(pytest.fail.Exception, match="no-such-package is not installed"):
        require_node_package("no-such-package")
    monkeypatch.delenv("AUTHAI_REQUIRE_SERVICES")
    with pytest.raises(pytest.skip.Exception, match="'no_such_client' is not installed"):
        require_module("no_such_client")


def python_requirements() -> list[str]:
    """The requirement lines of tests/clients/requirements.txt (comments and blanks left out)."""
    lines = (ROOT / "tests" / "clients" / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_every_client_version_is_pinned_exactly() -> None:
    pins = python_requirements()
    assert pins
    assert all("==" in pin for pin in pins), pins
    node = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]
    assert node
    assert all(version[0].isdigit() for version in node.values()), node
    locked = json.loads((NODE_DIR / "package-lock.json").read_text())["packages"][""]
    assert locked["dependencies"] == node


def test_the_clients_docs_name_the_pinned_versions() -> None:
    """docs/clients.md's matrix names each Python client at the version pinned for the suite."""
    pins: dict[str, str] = {}
    for line in python_requirements():
        name, version = line.split("==")
        pins[name.split("[")[0]] = version
    matrix = (ROOT / "docs" / "clients.md").read_text()
    for text in (
        f"Python `openai` {pins['openai']}",
        f"langchain-openai {pins['langchain-openai']}",
        f"pydantic-ai {pins['pydantic-ai-slim']}",
        f"litellm {pins['litellm']}",
        f"`llm` {pins['llm']}",
    ):
        assert text in matrix, text
