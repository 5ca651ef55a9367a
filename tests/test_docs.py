"""The documentation keeps up with the code."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import authai_embed

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_has_a_docstring() -> None:
    missing = [
        name
        for name in authai_embed.__all__
        if name != "__version__" and not inspect.getdoc(getattr(authai_embed, name))
    ]
    assert missing == []


def test_api_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_api_docs", ROOT / "scripts" / "gen_api_docs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "api.md").read_text() == module.render(), (
        "docs/api.md is stale: run python scripts/gen_api_docs.py"
    )


def test_every_env_var_read_by_settings_is_documented() -> None:
    import re

    package = ROOT / "src" / "authai_embed"
    source = (package / "settings.py").read_text() + (package / "environment.py").read_text()
    documented = (ROOT / "docs" / "configuration.md").read_text()
    names = set(re.findall(r'"(AUTH_AI_[A-Z_]+)"', source))
    assert names
    assert sorted(n for n in names if n not in documented) == []


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = (ROOT / "README.md").read_text().split("\n## ", 2)[1]
    assert "pip install -e '.[dev]' && python examples/fastapi_app/app.py" in first_screen
    assert "python -m pytest" in first_screen
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()


def test_every_setting_is_documented() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text()
    settings = authai_embed.Settings.model_fields
    nested = {f"openai.{name}" for name in authai_embed.OpenAIUpstream.model_fields}
    names = {name for name in settings if name != "openai"} | nested
    assert sorted(n for n in names if f"`{n}`" not in documented) == []


def test_every_python_block_in_the_docs_parses() -> None:
    import ast
    import re

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S):
            try:
                ast.parse(block)
            except SyntaxError as exc:
                broken.append(f"{page.name}: {exc}")
    assert broken == []


def test_every_relative_link_in_the_docs_resolves() -> None:
    import re

    def anchors(page: Path) -> set[str]:
        titles = re.findall(r"^#+ (.*)$", page.read_text(), re.M)
        return {re.sub(r"[^a-z0-9 _-]", "", t.strip().lower()).replace(" ", "-") for t in titles}

    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []
