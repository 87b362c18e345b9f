"""The pytest plugin: options, ini keys, the marker, fixtures and reporting hooks.

Thin by design: every behaviour lives in the modules it delegates to.
"""

from __future__ import annotations

import os
import traceback
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from pytest_cloudevents.config import Options
from pytest_cloudevents.errors import NotOnRemote
from pytest_cloudevents.expect.endpoint import Sink
from pytest_cloudevents.extras import require
from pytest_cloudevents.hosts.receiver import Receiver
from pytest_cloudevents.remote import RemoteReceiver
from pytest_cloudevents.send.aclient import AsyncClient
from pytest_cloudevents.send.assertions import explain_comparison
from pytest_cloudevents.send.client import Client
from pytest_cloudevents.testing.factories import EventFactory

if TYPE_CHECKING:
    from pytest_cloudevents.hosts.mock import CeMock

_STATE = pytest.StashKey["_TestState"]()
_SESSION_OPTIONS = pytest.StashKey[Options]()
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
    group.addoption(
        "--ce-tls",
        action="store_true",
        default=False,
        help="the session receiver (ce_receiver) speaks HTTPS from a throwaway CA (extra tls)",
    )
    group.addoption(
        "--ce-remote",
        default=None,
        metavar="URL",
        help="make ce_receiver a RemoteReceiver driving the standalone receiver at URL"
        " (pytest-cloudevents serve); its token comes from --ce-remote-token or CE_TOKEN",
    )
    group.addoption(
        "--ce-remote-token",
        default=None,
        metavar="TOKEN",
        help="the standalone receiver's --token (default: the CE_TOKEN variable)",
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


def session_options(config: pytest.Config) -> Options:
    """The options from the command line and the ini file (read once per session)."""
    options = config.stash.get(_SESSION_OPTIONS, None)
    if options is None:
        strict = bool(config.getini("cloudevents_strict")) and not config.getoption("ce_lax")
        try:
            options = Options(
                strict=strict,
                ack_status=_ini_number(config, "cloudevents_ack_status", int),
                wait_timeout=_ini_number(config, "cloudevents_wait_timeout", float),
                max_body=_ini_number(config, "cloudevents_max_body", int),
                check_rejected=bool(config.getini("cloudevents_check_rejected")),
            )
        except (TypeError, ValueError) as exc:
            raise pytest.UsageError(f"cloudevents ini settings: {exc}") from None
        config.stash[_SESSION_OPTIONS] = options
    return options


def options_for(item: pytest.Item) -> Options:
    """The session's options with this test's marker and seed merged in."""
    state = _state(item)
    marker: dict[str, Any] = {
        k: state.marker[k] for k in ("strict", "check_rejected") if k in state.marker
    }
    try:
        return session_options(item.config).merged({**marker, "seed": state.seed})
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"@pytest.mark.cloudevents on {item.nodeid}: {exc}") from None


def base_seed(config: pytest.Config) -> int:
    """The session's base seed: `--ce-seed`, else pytest-randomly's, else 0."""
    given = config.getoption("ce_seed")
    if given is not None:
        return int(given)
    if config.pluginmanager.hasplugin("randomly"):
        seed = getattr(config.option, "randomly_seed", None)
        if isinstance(seed, int):
            return seed
    return 0


def seed_for(item: pytest.Item, marker: dict[str, Any]) -> int:
    """The test's seed: the marker's, else the base seed mixed with the node id
    (`zlib.crc32(f"{base}:{nodeid}")`), so no two tests share ids and the same base gives
    the same events in every process and xdist worker."""
    if "seed" in marker:
        return int(marker["seed"])
    base = base_seed(item.config)
    return zlib.crc32(f"{base}:{item.nodeid}".encode())


def _state(item: pytest.Item) -> _TestState:
    state = item.stash.get(_STATE, None)
    if state is None:
        marker = _marker(item)
        state = _TestState(seed=seed_for(item, marker), marker=marker)
        item.stash[_STATE] = state
    return state


@pytest.fixture(scope="session")
def ce_session_receiver(pytestconfig: pytest.Config) -> Iterator[Receiver | RemoteReceiver]:
    """The same server as `ce_receiver`, for module- and session-scoped fixtures that start
    a service with its URL (`ce_session_receiver.url`). Tests still use `ce_receiver`, which
    resets it before each test and checks it after. Under `--ce-remote=URL` it is a
    `RemoteReceiver` of that standalone receiver."""
    remote = pytestconfig.getoption("ce_remote")
    if remote:
        token = (
            pytestconfig.getoption("ce_remote_token")
            or os.environ.get("CE_TOKEN")
            or os.environ.get("CE_AUTH_TOKEN")  # its 0.2 name
        )
        with RemoteReceiver(remote, token=token, options=session_options(pytestconfig)) as sink:
            yield sink
        return
    receiver = Receiver(
        host=pytestconfig.getoption("ce_host"),
        advertise_host=pytestconfig.getoption("ce_advertise_host"),
        options=session_options(pytestconfig),
        tls=bool(pytestconfig.getoption("ce_tls")),
    )
    yield receiver
    receiver.stop()


@pytest.fixture
def ce_receiver(
    ce_session_receiver: Receiver | RemoteReceiver, request: pytest.FixtureRequest
) -> Receiver | RemoteReceiver:
    """The recording receiver: one server per session (and xdist worker), reset before
    each test (which also cuts any delay a previous test left in flight). Point the
    service under test at `ce_receiver.url`."""
    receiver = ce_session_receiver
    receiver.reset()
    try:
        receiver.options = options_for(request.node)
    except NotOnRemote as exc:  # a marker asks what a standalone receiver fixes itself
        raise pytest.UsageError(f"{request.node.nodeid} under --ce-remote: {exc}") from None
    _state(request.node).sinks.append(receiver)
    return receiver


@pytest.fixture
def make_ce_receiver(request: pytest.FixtureRequest) -> Iterator[Callable[..., Receiver]]:
    """Factory of receivers, each on its own port, stopped after the test:
    `make_ce_receiver(strict=False, ack_status=200)`."""
    state = _state(request.node)
    made: list[Receiver] = []
    config = request.config
    base = options_for(request.node)

    def make(**settings: Any) -> Receiver:
        host = settings.pop("host", config.getoption("ce_host"))
        advertise = settings.pop("advertise_host", config.getoption("ce_advertise_host"))
        port = settings.pop("port", 0)
        tls, auth = settings.pop("tls", False), settings.pop("auth", None)
        schemas = settings.pop("schemas", None)
        receiver = Receiver(
            host=host,
            port=port,
            advertise_host=advertise,
            options=base.merged(settings),
            tls=tls,
            auth=auth,
            schemas=schemas,
        )
        made.append(receiver)
        state.sinks.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture
def ce_mock(request: pytest.FixtureRequest) -> Iterator[CeMock]:
    """Mock mode: `ce_mock.sink(url, **options)` catches calls to a URL prefix from
    requests, httpx (extra `httpx`) and aiohttp (extra `aiohttp`) with the receiver's own
    application, without opening a socket. Requests to loopback addresses (the plugin's
    receivers among them) pass through untouched, so `ce_mock` and `ce_receiver` work in
    one test."""
    from pytest_cloudevents.hosts.mock import CeMock, Mocks

    state = _state(request.node)
    mocks = Mocks()
    try:
        yield CeMock(mocks, options_for(request.node), on_sink=state.sinks.append)
    finally:
        mocks.stop()


@pytest.fixture
def ce_client() -> Iterator[Client]:
    """A `Client` with no default target (pass `to=`), closed after the test."""
    with Client() as client:
        yield client


@pytest.fixture
def ce_async_client() -> Iterator[AsyncClient]:
    """An `AsyncClient` (extra `httpx`) with no default target, for async tests (pass
    `to=`). It opens a connection per send (no keep-alive), so nothing of it outlives the
    test's event loop and it needs no closing there."""
    require("httpx", "the ce_async_client fixture")
    yield AsyncClient(keepalive=False)


@pytest.fixture
def ce_snapshot(request: pytest.FixtureRequest) -> Any:
    """syrupy's `snapshot` storing CloudEvents as masked JSON-format dicts (extra
    `snapshot`): `assert ce_receiver.events == ce_snapshot`."""
    require("syrupy", "the ce_snapshot fixture")
    from pytest_cloudevents.snapshot import CloudEventsExtension

    return request.getfixturevalue("snapshot").use_extension(CloudEventsExtension)


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
        problems = sink._unseen_problems()
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
    if lines:
        pytest.fail(
            "cloudevents: problems the test did not assert on (check them with"
            " receiver.assert_rejected(...), or set check_rejected=False):\n" + "\n".join(lines),
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
    return explain_comparison(op, left, right)
