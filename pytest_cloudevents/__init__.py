"""pytest-cloudevents: test services that send or receive CloudEvents over HTTP.

Everything public is re-exported here; see the README for a tour.
"""

from __future__ import annotations

from . import faults
from .conformance import Violation
from .factories import EventFactory, InvalidCase, invalid_messages
from .matching import match
from .receiver import Receiver
from .recording import Delivery
from .sink import Attempts

__all__ = [
    "Attempts",
    "Delivery",
    "EventFactory",
    "InvalidCase",
    "Receiver",
    "Violation",
    "faults",
    "invalid_messages",
    "match",
]
