"""`Standalone`, the receiver `pytest-cloudevents serve` runs, at its 0.2 import path."""

from __future__ import annotations

from pytest_cloudevents.hosts.standalone import Standalone

__all__ = ["Standalone"]
