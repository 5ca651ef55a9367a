"""How the snippet harness reads a page: block kinds from markers and file names, and imports."""

from __future__ import annotations

import sys
from pathlib import Path

from tests._support.doc_snippets import blocks, unresolved_imports

PAGE = """# A page

```python
x = 1
```

<!-- fragment -->
```python
handler(request)
```

<!-- fragment: quart -->
```python
from quart import Quart
```

<!-- signed-in -->
```python
await authai.whoami(jwt)
```

```python
# myproject/views.py
from myproject.authai import authai
```
"""


def test_markers_and_file_names_set_each_blocks_kind(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    found = blocks(page)
    assert [b.kind for b in found] == ["run", "fragment", "fragment", "signed-in", "file"]
    assert found[2].external == ("quart",)
    assert found[4].file == "myproject/views.py"
    assert found[0].where == "page.md:4"


def test_an_import_that_does_not_resolve_is_reported(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- fragment -->\n```python\nimport no_such_module_here\n"
        "from authai_embed import mount_authai, NoSuchName\nfrom quart import Quart\n```\n"
    )
    (block,) = blocks(page)
    assert unresolved_imports(block, tmp_path) == [
        "no_such_module_here",
        "authai_embed.NoSuchName",
        "quart",
    ]


def test_a_module_written_by_a_file_block_resolves_without_running(tmp_path: Path) -> None:
    (tmp_path / "page.md").write_text(PAGE)
    *_, files = blocks(tmp_path / "page.md")
    assert unresolved_imports(files, tmp_path) == ["myproject.authai"]
    (tmp_path / "myproject").mkdir()
    (tmp_path / "myproject" / "authai.py").write_text("raise SystemExit('must not run')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert unresolved_imports(files, tmp_path) == []
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("myproject", None)
