"""`Standalone`: a `Receiver` with the control API and the live page mounted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, final

from pytest_cloudevents.hosts.receiver import Receiver
from pytest_cloudevents.hosts.standalone.api import ControlAPI

if TYPE_CHECKING:
    from pytest_cloudevents.hosts.server.mount import Mount

__all__ = ["Standalone"]


@final
class Standalone(Receiver):
    """The receiver `pytest-cloudevents serve` runs: the same application, with the
    control API under `control_prefix` (requests there are never recorded), protected by
    `token` when one is given."""

    def __init__(
        self, *, control_prefix: str = "/_ce/", token: str | None = None, **kwargs: Any
    ) -> None:
        self._prefix = control_prefix
        self._token = token
        super().__init__(**kwargs)

    def _mount(self) -> Mount | None:
        self.control = ControlAPI(self, prefix=self._prefix, token=self._token)
        return self.control

    @property
    def control_url(self) -> str:
        """The URL of the control API (and of the page)."""
        return self.url_for(self._prefix)

    def __repr__(self) -> str:
        return f"<Standalone receiver {self.url}>"
