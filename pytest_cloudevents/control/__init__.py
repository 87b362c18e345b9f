"""The standalone receiver's control API and live page, mounted beside the delivery app
under a reserved prefix (`/_ce/`), and the JSON forms they speak (`jsonview`)."""

from __future__ import annotations

from .api import ControlAPI
from .standalone import Standalone

__all__ = ["ControlAPI", "Standalone"]
