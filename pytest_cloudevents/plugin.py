"""The pytest plugin: options, ini keys, the marker, fixtures and reporting hooks.

Thin by design: every behaviour lives in the modules it delegates to.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from .client import Client
from .factories import EventFactory
from .matching import Matcher
from .receiver import Receiver
from .sink import Sink, SinkOptions

if TYPE_CHECKING:
    from .mock import CeMock

_STATE = pytest.StashKey["_TestState"]()
_DEFAULTS = pytest.StashKey[dict[str, Any]]()
_MARKER_KEYS = ("strict", "check_rejected", "seed")


@dataclass
class _TestState:
    """What one test used: its sinks, its seed and its marker's keywords."""

    seed: int
    marker: dict[str, Any] = field(default_factory=dict)
    sinks: list[Sink] = field(default_factory=list)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cloudevents", "CloudEvents receiver, client and factories")
    group.addoption(
        "--ce-host",
        default="127.0.0.1",
        help="address the receivers bind to (default: 127.0.0.1, loopback only)",
    )
    group.addoption(
        "--ce-advertise-host",
        default=None,
        help="host name put in receiver URLs, e.g. host.docker.internal for containers",
    )
    group.addoption(
        "--ce-lax",
        action="store_true",
        default=False,
        help="accept messages that break MUST rules, recording them as warnings",
    )
    group.addoption(
        "--ce-seed",
        type=int,
        default=None,
        help="seed for every test's event factory and flaky faults (reproduces a failure)",
    )
    parser.addini(
        "cloudevents_strict", "reject messages that break MUST rules", type="bool", default=True
    )
    parser.addini("cloudevents_wait_timeout", "default seconds to wait for events", default="5.0")
    parser.addini("cloudevents_ack_status", "status of the default acknowledgement", default="202")
    parser.addini(
        "cloudevents_check_rejected",
        "fail a test on rejected deliveries it did not look at",
        type="bool",
        default=True,
    )
    parser.addini(
        "cloudevents_max_body", "largest body accepted, in bytes", default=str(10 * 1024 * 1024)
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cloudevents(strict=None, check_rejected=None, seed=None): per-test settings of"
        " the CloudEvents receivers, sinks and factories",
    )


def _ini_number(config: pytest.Config, name: str, kind: Callable[[str], Any]) -> Any:
    raw = config.getini(name)
    try:
        return kind(str(raw))
    except ValueError:
        raise pytest.UsageError(f"ini key {name} must be a number, not {raw!r}") from None


def _marker(item: pytest.Item) -> dict[str, Any]:
    marker = item.get_closest_marker("cloudevents")
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError("@pytest.mark.cloudevents takes keywords only, e.g. strict=False")
    unknown = set(marker.kwargs) - set(_MARKER_KEYS)
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.cloudevents does not know {sorted(unknown)}; use {list(_MARKER_KEYS)}"
        )
    return dict(marker.kwargs)


def sink_defaults(config: pytest.Config, item: pytest.Item | None = None) -> dict[str, Any]:
    """Receiver and sink keyword defaults from the command line, ini and the marker."""
    base = config.stash.get(_DEFAULTS, None)
    if base is None:  # read once per session
        strict = bool(config.getini("cloudevents_strict")) and not config.getoption("ce_lax")
        base = {
            "strict": strict,
            "ack_status": _ini_number(config, "cloudevents_ack_status", int),
            "wait_timeout": _ini_number(config, "cloudevents_wait_timeout", float),
            "max_body": _ini_number(config, "cloudevents_max_body", int),
            "check_rejected": bool(config.getini("cloudevents_check_rejected")),
        }
        config.stash[_DEFAULTS] = base
    options = dict(base)
    if item is not None:
        marker = _state(item).marker
        options.update({k: marker[k] for k in ("strict", "check_rejected") if k in marker})
    return options


def seed_for(item: pytest.Item, marker: dict[str, Any]) -> int:
    """The test's seed: the marker's, `--ce-seed`, pytest-randomly's, or a stable hash
    of the node id (the same in every process and xdist worker)."""
    if "seed" in marker:
        return int(marker["seed"])
    config = item.config
    given = config.getoption("ce_seed")
    if given is not None:
        return int(given)
    if config.pluginmanager.hasplugin("randomly"):
        seed = getattr(config.option, "randomly_seed", None)
        if isinstance(seed, int):
            return seed
    return zlib.crc32(item.nodeid.encode("utf-8"))


def _state(item: pytest.Item) -> _TestState:
    state = item.stash.get(_STATE, None)
    if state is None:
        marker = _marker(item)
        state = _TestState(seed=seed_for(item, marker), marker=marker)
        item.stash[_STATE] = state
    return state


@pytest.fixture(scope="session")
def _ce_session_receiver(pytestconfig: pytest.Config) -> Iterator[Receiver]:
    receiver = Receiver(
        host=pytestconfig.getoption("ce_host"),
        advertise_host=pytestconfig.getoption("ce_advertise_host"),
        **sink_defaults(pytestconfig),
    )
    yield receiver
    receiver.stop()


@pytest.fixture
def ce_receiver(_ce_session_receiver: Receiver, request: pytest.FixtureRequest) -> Receiver:
    """The recording receiver: one server per session (and xdist worker), reset before
    each test (which also cuts any delay a previous test left in flight). Point the
    service under test at `ce_receiver.url`."""
    receiver = _ce_session_receiver
    receiver.reset()
    state = _state(request.node)
    receiver.options = SinkOptions(**sink_defaults(request.config, request.node))
    receiver.seed = state.seed
    state.sinks.append(receiver)
    return receiver


@pytest.fixture
def make_ce_receiver(request: pytest.FixtureRequest) -> Iterator[Callable[..., Receiver]]:
    """Factory of receivers, each on its own port, stopped after the test:
    `make_ce_receiver(strict=False, ack_status=200)`."""
    state = _state(request.node)
    made: list[Receiver] = []
    config = request.config

    def make(**options: Any) -> Receiver:
        settings: dict[str, Any] = {
            "host": config.getoption("ce_host"),
            "advertise_host": config.getoption("ce_advertise_host"),
            **sink_defaults(config, request.node),
            "seed": state.seed,
        }
        settings.update(options)
        receiver = Receiver(**settings)
        made.append(receiver)
        state.sinks.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture
def ce_mock(request: pytest.FixtureRequest) -> Iterator[CeMock]:
    """Mock mode: `ce_mock.sink(url, **options)` catches `requests` calls to a URL prefix
    with the receiver's own application, without opening a socket."""
    import responses

    from .mock import CeMock

    state = _state(request.node)
    defaults = {**sink_defaults(request.config, request.node), "seed": state.seed}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        ce_mock = CeMock(mock, defaults, on_sink=state.sinks.append)
        yield ce_mock


@pytest.fixture
def ce_client() -> Iterator[Client]:
    """A `Client` with no default target (pass `to=`), closed after the test."""
    with Client() as client:
        yield client


@pytest.fixture
def ce_events(request: pytest.FixtureRequest) -> EventFactory:
    """An EventFactory seeded for this test (see `--ce-seed`); the seed is printed in
    the `cloudevents` section of a failing test's report."""
    return EventFactory(_state(request.node).seed)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After a passing test body: fail the test on rejected deliveries it never looked
    at and on exceptions raised by handlers."""
    result = yield
    state = item.stash.get(_STATE, None)
    if state is None:
        return result
    lines: list[str] = []
    for sink in state.sinks:
        problems = sink.unseen_problems()
        if not problems:
            continue
        lines.append(f"{sink!r}:")
        for d in problems:
            if d.outcome == "error":
                lines.append(f"  delivery #{d.seq}: the handler raised {d.error!r}")
            else:
                lines.append(f"  delivery #{d.seq} was rejected and the test never checked it:")
                lines += [f"    {v}" for v in d.violations]
    if lines:
        pytest.fail(
            "cloudevents: problems the test did not assert on (check them with"
            " receiver.assert_rejected(...) or receiver.rejected, or set"
            " check_rejected=False):\n" + "\n".join(lines),
            pytrace=False,
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, a `cloudevents` report section: every receiver's delivery log and
    the seed that reproduces the test."""
    report = yield
    state = item.stash.get(_STATE, None)
    if state is not None and report.failed:
        parts = [sink.describe() for sink in state.sinks]
        parts.append(f"seed: --ce-seed={state.seed}")
        report.sections.append(("cloudevents", "\n".join(parts)))
    return report


def _is_event(value: object) -> bool:
    return hasattr(value, "get_attributes") and hasattr(value, "get_data")


def pytest_assertrepr_compare(
    config: pytest.Config, op: str, left: object, right: object
) -> list[str] | None:
    """Explain `event == match(...)` attribute by attribute."""
    if op != "==":
        return None
    if isinstance(right, Matcher) and _is_event(left):
        matcher, event = right, left
    elif isinstance(left, Matcher) and _is_event(right):
        matcher, event = left, right
    else:
        return None
    attrs = event.get_attributes()  # type: ignore[attr-defined]
    head = f"CloudEvent(type={attrs.get('type')!r}, id={attrs.get('id')!r}) == {matcher!r}"
    return [head, "the event differs from the match:"] + [
        f"  {line}"
        for line in matcher.explain(event)  # type: ignore[arg-type]
    ]
