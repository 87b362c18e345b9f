"""pytest-cloudevents: test services that send or receive CloudEvents over HTTP.

Everything public is re-exported here; see the README for a tour. Each name is imported
when it is first used (PEP 562), so loading the plugin costs a pytest run nothing it does
not use: `import pytest_cloudevents` imports no HTTP library, no server and no SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from pytest_cloudevents import faults, platforms, retry
    from pytest_cloudevents.archive.files import load
    from pytest_cloudevents.config import Options
    from pytest_cloudevents.criteria import filters
    from pytest_cloudevents.criteria.cesql import sql
    from pytest_cloudevents.criteria.match import match
    from pytest_cloudevents.criteria.schema import matches_schema
    from pytest_cloudevents.criteria.tracing import same_trace
    from pytest_cloudevents.expect.endpoint import Attempts, Endpoint
    from pytest_cloudevents.hosts.mock import CeMock, MockSink
    from pytest_cloudevents.hosts.receiver import Receiver
    from pytest_cloudevents.hosts.standalone import Standalone
    from pytest_cloudevents.recording.delivery import Delivery, Forwarded
    from pytest_cloudevents.remote import RemoteReceiver
    from pytest_cloudevents.send.aclient import AsyncClient
    from pytest_cloudevents.send.assertions import assert_ack, assert_nack, assert_undelivered
    from pytest_cloudevents.send.client import Client, Outcome, Result
    from pytest_cloudevents.spec.rules import Violation
    from pytest_cloudevents.testing.catalogue import InvalidCase, invalid_messages
    from pytest_cloudevents.testing.factories import EventFactory
    from pytest_cloudevents.wire import event_to_json as event_dict

#: Where each public name lives: (module, attribute); attribute None for a module.
_WHERE: Final[dict[str, tuple[str, str | None]]] = {
    "AsyncClient": ("pytest_cloudevents.send.aclient", "AsyncClient"),
    "Attempts": ("pytest_cloudevents.expect.endpoint", "Attempts"),
    "CeMock": ("pytest_cloudevents.hosts.mock", "CeMock"),
    "Client": ("pytest_cloudevents.send.client", "Client"),
    "Delivery": ("pytest_cloudevents.recording.delivery", "Delivery"),
    "Endpoint": ("pytest_cloudevents.expect.endpoint", "Endpoint"),
    "EventFactory": ("pytest_cloudevents.testing.factories", "EventFactory"),
    "Forwarded": ("pytest_cloudevents.recording.delivery", "Forwarded"),
    "InvalidCase": ("pytest_cloudevents.testing.catalogue", "InvalidCase"),
    "MockSink": ("pytest_cloudevents.hosts.mock", "MockSink"),
    "Options": ("pytest_cloudevents.config", "Options"),
    "Outcome": ("pytest_cloudevents.send.client", "Outcome"),
    "Receiver": ("pytest_cloudevents.hosts.receiver", "Receiver"),
    "RemoteReceiver": ("pytest_cloudevents.remote", "RemoteReceiver"),
    "Result": ("pytest_cloudevents.send.client", "Result"),
    "Standalone": ("pytest_cloudevents.hosts.standalone", "Standalone"),
    "Violation": ("pytest_cloudevents.spec.rules", "Violation"),
    "assert_ack": ("pytest_cloudevents.send.assertions", "assert_ack"),
    "assert_nack": ("pytest_cloudevents.send.assertions", "assert_nack"),
    "assert_undelivered": ("pytest_cloudevents.send.assertions", "assert_undelivered"),
    "event_dict": ("pytest_cloudevents.wire", "event_to_json"),
    "faults": ("pytest_cloudevents.faults", None),
    "filters": ("pytest_cloudevents.criteria.filters", None),
    "invalid_messages": ("pytest_cloudevents.testing.catalogue", "invalid_messages"),
    "load": ("pytest_cloudevents.archive.files", "load"),
    "match": ("pytest_cloudevents.criteria.match", "match"),
    "matches_schema": ("pytest_cloudevents.criteria.schema", "matches_schema"),
    "platforms": ("pytest_cloudevents.platforms", None),
    "retry": ("pytest_cloudevents.retry", None),
    "same_trace": ("pytest_cloudevents.criteria.tracing", "same_trace"),
    "sql": ("pytest_cloudevents.criteria.cesql", "sql"),
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'pytest_cloudevents' has no attribute {name!r}")
    module = importlib.import_module(where[0])
    value = module if where[1] is None else getattr(module, where[1])
    globals()[name] = value  # the next use is a plain global
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "AsyncClient",
    "Attempts",
    "CeMock",
    "Client",
    "Delivery",
    "Endpoint",
    "EventFactory",
    "Forwarded",
    "InvalidCase",
    "MockSink",
    "Options",
    "Outcome",
    "Receiver",
    "RemoteReceiver",
    "Result",
    "Standalone",
    "Violation",
    "assert_ack",
    "assert_nack",
    "assert_undelivered",
    "event_dict",
    "faults",
    "filters",
    "invalid_messages",
    "load",
    "match",
    "matches_schema",
    "platforms",
    "retry",
    "same_trace",
    "sql",
]
