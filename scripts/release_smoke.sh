#!/usr/bin/env bash
# What a release would ship, checked end to end: build the sdist and the wheel, `twine check`
# them, install each in a fresh virtualenv (dependencies from PyPI, through pip's cache) and run
# scripts/release_smoke.py there, from outside the checkout so only the installed copy is found;
# then follow the pages with the wheel (scripts/docs_walkthrough.py).
# Usage: scripts/release_smoke.sh [output directory, default: a temporary one]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-$(mktemp -d)}"
WORK="$(mkdir -p "$WORK" && cd "$WORK" && pwd)"
PIP_FLAGS=(--disable-pip-version-check -q)

echo "== build (sdist and wheel) into $WORK/dist"
rm -rf "$WORK/dist"
python -m build --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
python -m twine check --strict "$WORK"/dist/*

WHEEL="$(ls "$WORK"/dist/*.whl)"
SDIST="$(ls "$WORK"/dist/*.tar.gz)"
IN_WHEEL="$(python -m zipfile -l "$WHEEL")"
for wanted in authai_embed/py.typed authai_embed/web/authai-signin.js; do
    grep -q "^$wanted " <<<"$IN_WHEEL" || { echo "the wheel lacks $wanted"; exit 1; }
done
IN_SDIST="$(tar tzf "$SDIST")"
for wanted in docs/ examples/ tests/ LICENSE; do
    grep -q "^[^/]*/$wanted" <<<"$IN_SDIST" || { echo "the sdist lacks $wanted"; exit 1; }
done

cp "$ROOT/scripts/release_smoke.py" "$WORK/smoke.py"
for artifact in "$WHEEL" "$SDIST"; do
    echo "== fresh virtualenv: $(basename "$artifact")"
    rm -rf "$WORK/venv"
    python -m venv "$WORK/venv"
    "$WORK/venv/bin/python" -m pip install "${PIP_FLAGS[@]}" "$artifact"
    (cd "$WORK" && env -u PYTHONPATH "$WORK/venv/bin/python" smoke.py)
    (cd "$WORK" && env -u PYTHONPATH "$WORK/venv/bin/authai-embed" --version)
done

# A new user with the wheel: README, quickstart, fastapi.md, then django.md, each page's
# snippets pasted in order reaching a streamed reply, with the extras the pages install.
echo "== fresh virtualenv: the pages, followed with $(basename "$WHEEL")"
rm -rf "$WORK/venv"
python -m venv "$WORK/venv"
walk() {  # in a subshell: none of this shell's settings reach the page
    (
        cd "$WORK"
        for name in $(compgen -e | grep -E '^(AUTH_AI_|DJANGO_)' || true); do unset "$name"; done
        env -u PYTHONPATH "$WORK/venv/bin/python" "$ROOT/scripts/docs_walkthrough.py" \
            --root "$ROOT" --installed "$1" >"$WORK/walk.log" 2>&1
    ) || { cat "$WORK/walk.log"; exit 1; }
    echo "   $1: streamed reply"
}
"$WORK/venv/bin/python" -m pip install "${PIP_FLAGS[@]}" "$WHEEL[fastapi,openai]"
for page in README.md docs/quickstart.md docs/fastapi.md; do walk "$page"; done
"$WORK/venv/bin/python" -m pip install "${PIP_FLAGS[@]}" "$WHEEL[django,openai]"
walk docs/django.md
echo "== release smoke passed"
