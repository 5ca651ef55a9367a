"""The mutation gate: each security check, deleted on purpose, must fail the tests named for it.

Every entry below breaks one check (an exact source snippet replaced) in a scratch copy of the
repository and runs only the tests named for it there. The gate fails when a mutation survives
(its tests still pass), when a snippet no longer matches the source exactly once (a refactor
moved the check: update the entry), or when the named tests fail before any mutation.

    PYTHONPATH=src AUTHAI_REQUIRE_SERVICES=1 python scripts/mutation_gate.py [--jobs N] [NAME ...]

docs/security.md lists which mutation guards which invariant.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET  # our own pytest's report
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180  # seconds per run; a mutation that hangs its tests is caught, as a timeout


@dataclass(frozen=True, slots=True)
class Mutation:
    """One check broken on purpose: `snippet` (exactly once in `file`) becomes `replacement`."""

    name: str
    invariant: str
    file: str
    snippet: str
    replacement: str
    tests: tuple[str, ...]


_AUTH = "tests/asgi/test_auth_failures.py::test_every_auth_failure_is_the_identical_401"
_JWT = "tests/auth/test_session_jwt.py"
_HOSTILE = "tests/asgi/test_hostile_input.py"
_FAULTS = "tests/transports/test_upstream_faults.py"

MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "jwt-expiry",
        "an expired session JWT is refused",
        "src/authai_embed/auth/session_jwt.py",
        "if exp <= now - self._leeway or iat > now + self._leeway:",
        "if iat > now + self._leeway:",
        (_AUTH, f"{_JWT}::test_expired_token_is_rejected_after_leeway"),
    ),
    Mutation(
        "jwt-signature",
        "a session JWT needs our HMAC-SHA256 signature",
        "src/authai_embed/auth/session_jwt.py",
        "if not hmac.compare_digest(expected, signature):",
        "if not expected:",
        (_AUTH, f"{_JWT}::test_every_forged_or_malformed_token_is_unauthorized"),
    ),
    Mutation(
        "jwt-kid-lookup",
        "a JWT naming an unknown key id is refused",
        "src/authai_embed/auth/session_jwt.py",
        "if hmac.compare_digest(known.encode(), kid.encode()):",
        "if known:",
        (_AUTH,),
    ),
    Mutation(
        "aes-gcm-aad",
        "a sealed record opens only under its own record id and provider",
        "src/authai_embed/auth/vault.py",
        'return b"authai:v2:" + record_id.encode() + b"\\x00" + provider.encode()',
        'return b"authai:v2:"',
        ("tests/auth/test_vault.py::test_ciphertext_is_bound_to_its_record_and_provider",),
    ),
    Mutation(
        "csrf-origin",
        "a cookie request from another origin may not act on the session",
        "src/authai_embed/asgi/csrf.py",
        'return origin in (f"{scheme.lower()}://{host}", f"https://{host}")',
        "return True",
        ("tests/asgi/test_cookie_mode.py::test_the_csrf_rule",),
    ),
    Mutation(
        "cors-allow-list",
        "CORS headers only for a listed origin, never `*`",
        "src/authai_embed/asgi/cors.py",
        "return origin is not None and origin in self._origins",
        "return origin is not None",
        ("tests/asgi/test_mount.py::test_cors_echoes_only_allowed_origins_never_star",),
    ),
    Mutation(
        "json-depth",
        "JSON nested deeper than 64 never reaches the parser",
        "src/authai_embed/asgi/http.py",
        "if _too_deep(text):",
        "if not text:",
        (
            f"{_HOSTILE}::test_bad_v1_bodies_get_a_clear_4xx",
            "tests/fuzz/test_fuzz_request.py::test_json_nested_past_the_limit_never_parses",
        ),
    ),
    Mutation(
        "body-size",
        "a body over the limit is refused while reading",
        "src/authai_embed/asgi/http.py",
        "            if size > limit:\n                raise _too_large(limit)",
        "            if size < 0:\n                raise _too_large(limit)",
        (f"{_HOSTILE}::test_a_huge_body_is_refused_while_reading_before_parsing",),
    ),
    Mutation(
        "connection-reuse",
        "a pooled connection with bytes nobody asked for never carries another user's call",
        "src/authai_embed/_transports/connection.py",
        "return not self.closed and not self._received and now - self.idle_since <= expiry",
        "return not self.closed and now - self.idle_since <= expiry",
        (
            "tests/transports/test_upstream.py::"
            "test_an_answer_nobody_asked_for_is_never_read_as_the_next_callers",
        ),
    ),
    Mutation(
        "no-cookie-jar",
        "a cookie a provider set on one user's call never rides along on another's",
        "src/authai_embed/_transports/upstream_client.py",
        "cookies=_NoCookies()",
        "cookies=None",
        (
            "tests/transports/test_upstream.py::"
            "test_the_full_send_of_the_mounts_client_keeps_no_cookies_either",
        ),
    ),
    Mutation(
        "log-redaction",
        "no token in a log line or a provider's echoed error",
        "src/authai_embed/_util/logs.py",
        "for pattern in _PATTERNS:",
        "for pattern in ():",
        (
            "tests/test_logs.py::test_token_shapes_are_redacted",
            f"{_FAULTS}::test_a_token_echoed_in_a_provider_error_is_redacted",
        ),
    ),
    Mutation(
        "refresh-single-flight",
        "one refresh per record at a time: a single-use refresh token is never spent twice",
        "src/authai_embed/auth/sessions.py",
        "async with self._locks.hold(session.record.id):",
        "async with anyio.Lock():",
        (
            "tests/auth/test_sessions.py::test_concurrent_callers_cause_one_refresh_and_share_its_tokens",
        ),
    ),
    Mutation(
        "rate-gate",
        "a caller over its rate gets 429",
        "src/authai_embed/asgi/limits.py",
        "        if wait > 0:\n",
        "        if wait > 3600:\n",
        (
            "tests/asgi/test_limits.py::test_auth_start_is_limited_per_ip",
            "tests/asgi/test_limits.py::test_v1_is_limited_per_user_in_the_openai_envelope",
        ),
    ),
    Mutation(
        "rate-shared-by-redis",
        "processes on one Redis share each limit",
        "src/authai_embed/asgi/limits.py",
        "keys=[self._prefix + key]",
        "keys=[self._prefix + str(id(self)) + key]",
        ("tests/asgi/test_limits.py::test_two_mounts_on_redis_share_the_per_ip_limit",),
    ),
    Mutation(
        "v1-error-param",
        "a /v1 400 names the offending field in `param`",
        "src/authai_embed/asgi/errors.py",
        '_v1(exc.message, "invalid_request_error", param=exc.param, code=exc.code)',
        '_v1(exc.message, "invalid_request_error", code=exc.code)',
        (f"{_HOSTILE}::test_wrong_field_types_are_a_400_naming_the_field",),
    ),
    Mutation(
        "sweep-stops",
        "shutdown stops the periodic sweep",
        "src/authai_embed/asgi/lifespan.py",
        "            if self._sweeper is not None:\n                self._sweeper.cancel()",
        "            if self._sweeper is None:\n                self._sweeper.cancel()",
        (
            "tests/asgi/test_auth_flow.py::"
            "test_the_periodic_sweep_runs_while_the_app_runs_and_stops_with_it",
        ),
    ),
    Mutation(
        "pass-through-fidelity",
        "a healthy Responses stream reaches the client event for event, each event whole",
        "src/authai_embed/proxy/translate/passthrough.py",
        "    text = event.data\n",
        "    text = event.data.replace('\"delta\":', '\"delta_\":')\n",
        (f"{_FAULTS}::test_a_healthy_responses_stream_passes_through_event_for_event",),
    ),
)


def stale(mutations: tuple[Mutation, ...] = MUTATIONS, root: Path = ROOT) -> list[str]:
    """Entries whose snippet is not in their file exactly once, or whose tests file is gone."""
    problems = []
    for m in mutations:
        path = root / m.file
        found = path.read_text().count(m.snippet) if path.is_file() else 0
        if found != 1:
            problems.append(f"{m.name}: the snippet is in {m.file} {found} times, not once")
        problems += [
            f"{m.name}: no file {test.split('::')[0]}"
            for test in m.tests
            if not (root / test.split("::")[0]).is_file()
        ]
    return problems


# Loaded before the tests are imported: a failing Hypothesis example is enough to kill a
# mutation, so the (slow) search for the smallest one is skipped.
_PLUGIN = """from hypothesis import Phase, settings

settings.register_profile("mutation_gate", phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile("mutation_gate")
"""


def scratch_copy(into: Path) -> Path:
    """A copy of what the tests need (src, tests, pyproject.toml), without caches."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for part in ("src", "tests"):
        shutil.copytree(ROOT / part, into / part, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", into / "pyproject.toml")
    (into / "mutation_gate_plugin.py").write_text(_PLUGIN)
    return into


def pytest_run(where: Path, tests: tuple[str, ...]) -> dict[str, str] | None:
    """Run `tests` in `where` against its own `src`: each named test's outcome (`passed`,
    `failed`: at least one of its cases failed, or `not run`), or None when the run timed out."""
    report = where / "report.xml"
    report.unlink(missing_ok=True)
    path = os.pathsep.join((str(where / "src"), str(where)))
    env = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [
        *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"),
        *("-p", "mutation_gate_plugin"),
        # Reporting a failed Hypothesis example imports a deprecated name; not the test's doing.
        *("-W", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"),
        *tests,
    ]
    try:
        subprocess.run(  # noqa: S603 (our own interpreter and test ids)
            command, cwd=where, env=env, capture_output=True, timeout=TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    outcomes = dict.fromkeys(tests, "not run")
    if report.is_file():
        for case in ET.parse(report).iter("testcase"):  # noqa: S314 (pytest wrote it just now)
            test = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
            test = test.split("[", 1)[0]
            if test not in outcomes:
                continue
            bad = any(child.tag in ("failure", "error") for child in case)
            skipped = any(child.tag == "skipped" for child in case)
            if bad:
                outcomes[test] = "failed"
            elif not skipped and outcomes[test] == "not run":
                outcomes[test] = "passed"
    return outcomes


def verdict(outcomes: dict[str, str] | None) -> str:
    """`killed` when every named test failed (or the run hung), else which did not."""
    if outcomes is None:
        return "killed (timeout)"
    if all(outcome == "failed" for outcome in outcomes.values()):
        return "killed"
    if any(outcome == "not run" for outcome in outcomes.values()):
        return "ERROR (a test did not run)"
    return "SURVIVED"


def mutate_and_run(where: Path, m: Mutation) -> tuple[str, dict[str, str] | None, float]:
    """Apply `m` in the scratch copy `where`, run its tests, undo it."""
    path = where / m.file
    original = path.read_text()
    path.write_text(original.replace(m.snippet, m.replacement, 1))
    start = time.monotonic()
    try:
        outcomes = pytest_run(where, m.tests)
    finally:
        path.write_text(original)
    return verdict(outcomes), outcomes, time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="run only these mutations")
    parser.add_argument("--jobs", type=int, default=2, help="mutations run at once (default 2)")
    args = parser.parse_args(argv)
    chosen = tuple(m for m in MUTATIONS if not args.names or m.name in args.names)
    problems = stale(chosen)
    if problems:
        print("the mutation list no longer matches the source:", *problems, sep="\n  ")
        return 1
    with tempfile.TemporaryDirectory(prefix="mutation-gate-") as tmp:
        workers = [scratch_copy(Path(tmp) / f"w{n}") for n in range(max(1, args.jobs))]
        baseline = pytest_run(workers[0], tuple(sorted({t for m in chosen for t in m.tests})))
        broken = [t for t, o in (baseline or {}).items() if o != "passed"] if baseline else ["?"]
        if broken:
            print("the named tests do not pass before any mutation; fix them first:", *broken)
            return 1
        results: dict[str, tuple[str, dict[str, str] | None, float]] = {}
        todo: queue.SimpleQueue[Mutation] = queue.SimpleQueue()
        for m in chosen:
            todo.put(m)

        def work(where: Path) -> None:
            while True:
                try:
                    m = todo.get_nowait()
                except queue.Empty:
                    return
                results[m.name] = mutate_and_run(where, m)

        threads = [threading.Thread(target=work, args=(where,)) for where in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    width = max(len(m.name) for m in chosen)
    print(f"{'mutation':<{width}}  {'result':<26}  {'s':>5}  invariant")
    for m in chosen:
        result, _, seconds = results[m.name]
        print(f"{m.name:<{width}}  {result:<26}  {seconds:5.1f}  {m.invariant}")
    failed = [m for m in chosen if not results[m.name][0].startswith("killed")]
    for m in failed:
        print(f"\n{m.name} ({results[m.name][0]}): {m.file}")
        for test, outcome in (results[m.name][1] or {}).items():
            print(f"  {outcome:<8} {test}")
    print(f"\n{len(chosen) - len(failed)}/{len(chosen)} mutations killed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
