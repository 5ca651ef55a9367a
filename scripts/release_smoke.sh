#!/usr/bin/env bash
# What a release would ship, checked end to end: build the sdist and the wheel, `twine check`
# them, install each in a fresh virtualenv (dependencies from PyPI, through pip's cache) and run
# scripts/release_smoke.py there, from outside the checkout so only the installed copy is found.
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
echo "== release smoke passed"
