"""Hypothesis strategies shared by the fuzz tests, and the example budget (the machine is slow:
a few hundred examples per property, no deadline)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

T = TypeVar("T")

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # nothing written into the work tree; failures print their example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
"""Anything `json` can encode (no NaN: it does not equal itself)."""
small_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=6), children, max_size=2)
    ),
    max_leaves=3,
)
"""The same, kept small: for the many optional fields of one generated structure."""


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (its awaits all answer at once) without a loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise AssertionError("the coroutine suspended; it was expected to run straight through")
