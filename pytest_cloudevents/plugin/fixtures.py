"""The plugin's fixtures. Each imports what it serves when it is first used, so a pytest
run that uses none of them pays nothing for the plugin but its hooks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_cloudevents.config import NAMES as OPTION_NAMES
from pytest_cloudevents.plugin.options import (
    current_item,
    options_for,
    session_options,
    state_of,
)

if TYPE_CHECKING:
    from pytest_cloudevents.expect.endpoint import Endpoint
    from pytest_cloudevents.hosts.mock import CeMock
    from pytest_cloudevents.hosts.receiver import Receiver
    from pytest_cloudevents.send.aclient import AsyncClient
    from pytest_cloudevents.send.client import Client
    from pytest_cloudevents.testing.factories import EventFactory

__all__ = [
    "ce_async_client",
    "ce_client",
    "ce_events",
    "ce_mock",
    "ce_receiver",
    "ce_session_receiver",
    "ce_snapshot",
    "make_ce_receiver",
]


@pytest.fixture(scope="session")
def ce_session_receiver(pytestconfig: pytest.Config) -> Iterator[Endpoint]:
    """The same server as `ce_receiver`, for module- and session-scoped fixtures that start
    a service with its URL (`ce_session_receiver.url`). Tests still use `ce_receiver`, which
    resets it before each test and checks it after. Under `--ce-remote=URL` it is a
    `RemoteReceiver` of that standalone receiver."""
    remote = pytestconfig.getoption("ce_remote")
    if remote:
        from pytest_cloudevents.remote import RemoteReceiver

        token = (
            pytestconfig.getoption("ce_remote_token")
            or os.environ.get("CE_TOKEN")
            or os.environ.get("CE_AUTH_TOKEN")  # its 0.2 name
        )
        with RemoteReceiver(remote, token=token, options=session_options(pytestconfig)) as sink:
            yield sink
        return
    from pytest_cloudevents.hosts.receiver import Receiver

    receiver = Receiver(
        host=pytestconfig.getoption("ce_host"),
        advertise_host=pytestconfig.getoption("ce_advertise_host"),
        options=session_options(pytestconfig),
        tls=bool(pytestconfig.getoption("ce_tls")),
    )
    yield receiver
    receiver.stop()


@pytest.fixture
def ce_receiver(ce_session_receiver: Endpoint, pytestconfig: pytest.Config) -> Endpoint:
    """The recording receiver: one server per session (and xdist worker), reset before
    each test (which also cuts any delay a previous test left in flight). Point the
    service under test at `ce_receiver.url`."""
    from pytest_cloudevents.errors import NotOnRemote
    from pytest_cloudevents.expect.endpoint import Sink
    from pytest_cloudevents.plugin.hooks import problem_lines

    receiver = ce_session_receiver
    assert isinstance(receiver, Sink)
    item = current_item(pytestconfig)
    late = problem_lines([receiver])  # settled after an earlier test's last check point
    receiver.reset()
    if late:
        pytest.fail(
            "cloudevents: problems that arrived after an earlier test ended, while nothing"
            " watched the receiver (a producer or handler still running):\n" + "\n".join(late),
            pytrace=False,
        )
    try:
        receiver.options = options_for(item)
    except NotOnRemote as exc:  # a marker asks what a standalone receiver fixes itself
        raise pytest.UsageError(f"{item.nodeid} under --ce-remote: {exc}") from None
    state_of(item).sinks.append(receiver)
    return receiver


@pytest.fixture
def make_ce_receiver(request: pytest.FixtureRequest) -> Iterator[Callable[..., Receiver]]:
    """Factory of receivers, each on its own port, stopped after the test:
    `make_ce_receiver(strict=False, ack_status=200)`; `make_ce_receiver(platform="eventgrid",
    key="K")` answers as that platform's ingress, `make_ce_receiver(forward=URL)` is a proxy
    in front of the consumer at URL (see `Receiver`)."""
    from pytest_cloudevents.hosts.receiver import Receiver

    state = state_of(request.node)
    made: list[Receiver] = []
    config = request.config
    base = options_for(request.node)

    def make(**settings: Any) -> Receiver:
        host = settings.pop("host", config.getoption("ce_host"))
        advertise = settings.pop("advertise_host", config.getoption("ce_advertise_host"))
        port = settings.pop("port", 0)
        tls, auth = settings.pop("tls", False), settings.pop("auth", None)
        schemas = settings.pop("schemas", None)
        platform = settings.pop("platform", None)
        # with platform="name", the keywords the options do not take are the platform's
        own = {k: settings.pop(k) for k in list(settings) if k not in OPTION_NAMES}
        receiver = Receiver(
            host=host,
            port=port,
            advertise_host=advertise,
            options=base.merged(settings),
            tls=tls,
            auth=auth,
            schemas=schemas,
            platform=platform,
            **own,  # a platform's settings, forward=..., or a misspelt name Receiver refuses
        )
        made.append(receiver)
        state.sinks.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture
def ce_mock(pytestconfig: pytest.Config) -> Iterator[CeMock]:
    """Mock mode: `ce_mock.sink(url, **options)` catches calls to a URL prefix from
    requests, httpx (extra `httpx`) and aiohttp (extra `aiohttp`) with the receiver's own
    application, without opening a socket. Requests to loopback addresses (the plugin's
    receivers among them) pass through untouched, so `ce_mock` and `ce_receiver` work in
    one test."""
    from pytest_cloudevents.hosts.mock import CeMock, Mocks

    item = current_item(pytestconfig)
    state = state_of(item)
    mocks = Mocks()
    try:
        yield CeMock(mocks, options_for(item), on_sink=state.sinks.append)
    finally:
        mocks.stop(hold=True)  # for the next test with ce_mock (the teardown hook ends it)


@pytest.fixture
def ce_client() -> Iterator[Client]:
    """A `Client` with no default target (pass `to=`), closed after the test."""
    from pytest_cloudevents.send.client import Client

    with Client() as client:
        yield client


@pytest.fixture
def ce_async_client() -> Iterator[AsyncClient]:
    """An `AsyncClient` (extra `httpx`) with no default target, for async tests (pass
    `to=`). It opens a connection per send (no keep-alive), so nothing of it outlives the
    test's event loop and it needs no closing there."""
    from pytest_cloudevents.extras import require

    require("httpx", "the ce_async_client fixture")
    from pytest_cloudevents.send.aclient import AsyncClient

    yield AsyncClient(keepalive=False)


@pytest.fixture
def ce_snapshot(request: pytest.FixtureRequest) -> Any:
    """syrupy's `snapshot` storing CloudEvents as masked JSON-format dicts (extra
    `snapshot`): `assert ce_receiver.events == ce_snapshot`."""
    from pytest_cloudevents.extras import require

    require("syrupy", "the ce_snapshot fixture")
    from pytest_cloudevents.snapshot import CloudEventsExtension

    return request.getfixturevalue("snapshot").use_extension(CloudEventsExtension)


@pytest.fixture
def ce_events(request: pytest.FixtureRequest) -> EventFactory:
    """An EventFactory seeded for this test (see `--ce-seed`); the seed is printed in
    the `cloudevents` section of a failing test's report."""
    from pytest_cloudevents.testing.factories import EventFactory

    return EventFactory(state_of(request.node).seed)
