"""The standalone receiver's control API and live page, mounted beside the delivery app
under a reserved prefix (`/_ce/`), and the JSON forms they speak (`jsonview`)."""

from __future__ import annotations

from pytest_cloudevents.hosts.standalone.api import ControlAPI
from pytest_cloudevents.hosts.standalone.standalone import Standalone

__all__ = ["ControlAPI", "Standalone"]
