"""The plugin's hooks: the after-test check of every receiver and sink a test used, the
`cloudevents` report section, and the explanation of failed event comparisons."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING

import pytest

from pytest_cloudevents.plugin.options import base_seed, set_current, used_state

if TYPE_CHECKING:
    from pytest_cloudevents.expect.endpoint import Sink

__all__ = [
    "problem_lines",
    "pytest_assertrepr_compare",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Note the test whose fixtures are about to be set up (`ce_receiver`, `ce_mock`)."""
    set_current(item)


def problem_lines(sinks: Iterable[Sink]) -> list[str]:
    """The problems nobody checked yet, each sink's under its name (each reported once)."""
    lines: list[str] = []
    for sink in sinks:
        problems = sink.take_problems()
        if not problems:
            continue
        lines.append(f"{sink!r}:")
        for number, d in problems:
            if d.outcome == "error" and d.error is not None:
                lines.append(
                    f"  delivery #{number}: user code (the handler or a when= predicate)"
                    f" raised {d.error!r}"
                )
                trace = traceback.format_exception(type(d.error), d.error, d.error.__traceback__)
                lines += [f"    {line}" for chunk in trace for line in chunk.rstrip().split("\n")]
            else:
                lines.append(f"  delivery #{number} was rejected and the test never checked it:")
                lines += [f"    {v}" for v in d.violations]
    return lines


_ADVICE = "check them with receiver.assert_rejected(...), or set check_rejected=False"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After a passing test body: fail the test on rejected deliveries it never looked
    at and on exceptions raised by handlers. (A failed body's report shows them in its
    `cloudevents` section; they are not reported again at teardown.)"""
    try:
        result = yield
    except BaseException:
        state = used_state(item)
        if state is not None:
            problem_lines(state.sinks)
        raise
    state = used_state(item)
    lines = [] if state is None else problem_lines(state.sinks)
    if lines:
        pytest.fail(
            f"cloudevents: problems the test did not assert on ({_ADVICE}):\n" + "\n".join(lines),
            pytrace=False,
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, None, None]:
    """After the test's fixtures are torn down: fail it (an error at teardown) on problems
    that settled after its body ended (a producer that kept running, a handler that
    outlived the body), so a late error never disappears."""
    try:
        result = yield
    finally:
        if nextitem is None or "ce_mock" not in getattr(nextitem, "fixturenames", ()):
            _release_mocks()  # the next test mocks nothing: the libraries send for real
    state = used_state(item)
    lines = [] if state is None else problem_lines(state.sinks)
    if lines:
        pytest.fail(
            "cloudevents: problems that arrived after the test body ended (a producer or"
            f" handler still running; {_ADVICE}):\n" + "\n".join(lines),
            pytrace=False,
        )
    return result


def _release_mocks() -> None:
    """Stop the mocks a `ce_mock` test held for the next one (nothing to do unless a mock
    module was loaded)."""
    sink = sys.modules.get("pytest_cloudevents.hosts.mock.sink")
    if sink is not None:
        sink.release_held()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, a `cloudevents` report section: every receiver's delivery log and
    the seed that reproduces the test."""
    report = yield
    state = used_state(item)
    if state is not None and report.failed:
        parts = [sink.describe() for sink in state.sinks]
        if "seed" in state.marker:
            parts.append(f"seed: {state.seed} (the marker's seed=)")
        else:
            parts.append(
                f"seed: --ce-seed={base_seed(item.config)} (this test's seed: {state.seed})"
            )
        report.sections.append(("cloudevents", "\n".join(parts)))
    return report


def pytest_assertrepr_compare(
    config: pytest.Config, op: str, left: object, right: object
) -> list[str] | None:
    """Explain `event == match(...)` attribute by attribute, and `event == event` (or
    lists of events) as a JSON diff."""
    if op != "==":
        return None
    from pytest_cloudevents.expect.explain import explain_comparison

    return explain_comparison(op, left, right)
