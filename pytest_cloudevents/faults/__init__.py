"""Faults a receiver answers with, for testing a producer's retries.

`from pytest_cloudevents import faults`, then `receiver.inject(faults.status(503), times=2)`.
Each kind is checked when it is built (`kinds`); `rules` holds the rules that pick one for a
delivery.
"""

from __future__ import annotations

from pytest_cloudevents.faults.kinds import (
    Delay,
    Disconnect,
    Fault,
    Flaky,
    Reply,
    Status,
    Throttle,
    delay,
    disconnect,
    flaky,
    reply,
    status,
    throttle,
)
from pytest_cloudevents.faults.rules import Rule

__all__ = [
    "Delay",
    "Disconnect",
    "Fault",
    "Flaky",
    "Reply",
    "Rule",
    "Status",
    "Throttle",
    "delay",
    "disconnect",
    "flaky",
    "reply",
    "status",
    "throttle",
]
