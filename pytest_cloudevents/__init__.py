"""pytest-cloudevents: test services that send or receive CloudEvents over HTTP.

Everything public is re-exported here; see the README for a tour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

pytest.register_assert_rewrite("pytest_cloudevents.assertions")

from . import faults, retry  # noqa: E402
from .assertions import assert_ack, assert_nack, assert_undelivered  # noqa: E402
from .client import Client, Outcome, Result  # noqa: E402
from .conformance import Violation  # noqa: E402
from .factories import EventFactory, InvalidCase, invalid_messages  # noqa: E402
from .matching import match  # noqa: E402
from .receiver import Receiver  # noqa: E402
from .recording import Delivery  # noqa: E402
from .sink import Attempts  # noqa: E402

if TYPE_CHECKING:
    from .mock import CeMock, MockSink


def __getattr__(name: str) -> Any:
    # Mock mode imports `responses`; load it when it is first asked for.
    if name in ("CeMock", "MockSink"):
        from . import mock

        return getattr(mock, name)
    raise AttributeError(f"module 'pytest_cloudevents' has no attribute {name!r}")


__all__ = [
    "Attempts",
    "CeMock",
    "Client",
    "Delivery",
    "EventFactory",
    "InvalidCase",
    "MockSink",
    "Outcome",
    "Receiver",
    "Result",
    "Violation",
    "assert_ack",
    "assert_nack",
    "assert_undelivered",
    "faults",
    "invalid_messages",
    "match",
    "retry",
]
