"""pytest-cloudevents: test services that send or receive CloudEvents over HTTP.

Everything public is re-exported here; see the README for a tour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import faults, retry
from .aclient import AsyncClient
from .assertions import assert_ack, assert_nack, assert_undelivered
from .client import Client, Outcome, Result
from .conformance import Violation
from .contracts import matches_schema
from .factories import EventFactory, InvalidCase, invalid_messages
from .matching import match
from .options import Options
from .receiver import Receiver
from .recording import Delivery
from .remote import RemoteReceiver
from .sink import Attempts
from .tracing import same_trace
from .wire import event_to_json as event_dict

if TYPE_CHECKING:
    from .mock import CeMock, MockSink


def __getattr__(name: str) -> Any:
    # Mock mode imports `responses`; load it when it is first asked for.
    if name in ("CeMock", "MockSink"):
        from . import mock

        return getattr(mock, name)
    raise AttributeError(f"module 'pytest_cloudevents' has no attribute {name!r}")


__all__ = [
    "AsyncClient",
    "Attempts",
    "CeMock",
    "Client",
    "Delivery",
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
