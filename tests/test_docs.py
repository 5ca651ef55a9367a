"""The documentation keeps up with the code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import authai_embed
import authai_embed.testing

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_has_a_docstring() -> None:
    missing = [
        name
        for name in authai_embed.__all__
        if name != "__version__" and not inspect.getdoc(getattr(authai_embed, name))
    ]
    assert missing == []


def test_every_public_name_has_a_directive_on_the_api_page() -> None:
    api = (ROOT / "docs" / "api.md").read_text()
    directives = set(re.findall(r"^::: authai_embed\.(\w+)\s*$", api, re.M))
    public = {name for name in authai_embed.__all__ if name != "__version__"}
    assert sorted(public - directives) == []
    assert sorted(directives - public) == [], "a directive for a name that is not public"
    testing = set(re.findall(r"^::: authai_embed\.testing\.(\w+)\s*$", api, re.M))
    assert testing == set(authai_embed.testing.__all__)


def test_the_site_lists_every_page_of_docs() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    listed = set(re.findall(r":\s+([\w-]+\.md)\s*$", config, re.M))
    pages = {page.name for page in (ROOT / "docs").glob("*.md")}
    assert sorted(pages - listed) == []
    assert sorted(listed - pages) == []


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
    (commands,) = re.findall(r"```bash\n(.*?)```", first_screen, re.S)
    assert len(commands.strip().splitlines()) == 2
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
