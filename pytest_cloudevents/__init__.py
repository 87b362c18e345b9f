"""pytest-cloudevents: test services that send or receive CloudEvents over HTTP.

Everything public is re-exported here; see the README for a tour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_cloudevents import faults, retry
from pytest_cloudevents.config import Options
from pytest_cloudevents.criteria.match import match
from pytest_cloudevents.criteria.schema import matches_schema
from pytest_cloudevents.criteria.tracing import same_trace
from pytest_cloudevents.expect.endpoint import Attempts, Endpoint
from pytest_cloudevents.hosts.receiver import Receiver
from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.remote import RemoteReceiver
from pytest_cloudevents.send.aclient import AsyncClient
from pytest_cloudevents.send.assertions import assert_ack, assert_nack, assert_undelivered
from pytest_cloudevents.send.client import Client, Outcome, Result
from pytest_cloudevents.spec.rules import Violation
from pytest_cloudevents.testing.catalogue import InvalidCase, invalid_messages
from pytest_cloudevents.testing.factories import EventFactory
from pytest_cloudevents.wire import event_to_json as event_dict

if TYPE_CHECKING:
    from pytest_cloudevents.hosts.mock import CeMock, MockSink


def __getattr__(name: str) -> Any:
    # Mock mode imports `responses`; load it when it is first asked for.
    if name in ("CeMock", "MockSink"):
        from pytest_cloudevents.hosts import mock

        return getattr(mock, name)
    raise AttributeError(f"module 'pytest_cloudevents' has no attribute {name!r}")


__all__ = [
    "AsyncClient",
    "Attempts",
    "CeMock",
    "Client",
    "Delivery",
    "Endpoint",
    "EventFactory",
    "InvalidCase",
    "MockSink",
    "Options",
    "Outcome",
    "Receiver",
    "RemoteReceiver",
    "Result",
    "Violation",
    "assert_ack",
    "assert_nack",
    "assert_undelivered",
    "event_dict",
    "faults",
    "invalid_messages",
    "match",
    "matches_schema",
    "retry",
    "same_trace",
]
