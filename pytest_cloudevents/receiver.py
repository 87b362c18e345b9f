"""`Receiver`: the delivery application on a real HTTP server on loopback."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from .options import Options, check_whole
from .server import Server
from .sink import Sink

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from .options import OptionKeywords
    from .server.mount import Mount

__all__ = ["Receiver"]


class Receiver(Sink):
    """A recording CloudEvents receiver: a real HTTP server on loopback.

    Listening as soon as it is constructed; `stop()` (or leaving `with`) shuts it down
    in well under a second.

    - `host`/`port`: bind address (loopback by default) and port (0: an ephemeral one);
    - `advertise_host`: the host name put into `url` (for services in containers);
    - `options`: an `Options` to start from; keywords (`strict`, `ack_status`,
      `wait_timeout`, `max_body`, `check_rejected`, `seed`) override it (see `Options`).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        advertise_host: str | None = None,
        options: Options | None = None,
        **settings: Unpack[OptionKeywords],
    ) -> None:
        super().__init__((options or Options()).merged(settings))
        if not isinstance(host, str) or not host:
            raise TypeError(f"host must be an address such as '127.0.0.1', not {host!r}")
        check_whole("port (0 for any free port)", port, minimum=0, maximum=65535)
        if advertise_host is not None and (
            not isinstance(advertise_host, str) or not advertise_host
        ):
            raise TypeError(
                f"advertise_host must be a host name such as 'host.docker.internal', not"
                f" {advertise_host!r}"
            )
        self._server = Server(host, port, self._app, self._mount())
        self.host = host
        self.port: int = self._server.port
        self.advertise_host = advertise_host
        self._stopped = False

    def _mount(self) -> Mount | None:
        """What the server answers beside the app (the standalone receiver's control API)."""
        return None

    @property
    def url(self) -> str:
        """The base URL to give the service under test, e.g. `http://127.0.0.1:PORT/`."""
        return self.url_for("/")

    def url_for(self, path: str = "/") -> str:
        """The URL of `path` on this receiver; any path is accepted and recorded."""
        host = self.advertise_host or self.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}/{path.lstrip('/')}"

    def reset(self) -> None:
        """Forget deliveries, rules and the handler; cut in-flight delays short (their
        connections are closed without an answer)."""
        super().reset()
        self._server.cut_holds()

    def stop(self) -> None:
        """Stop serving: cut in-flight delays, close every connection, join the threads."""
        if self._stopped:
            return
        self._stopped = True
        self._log.cancel_in_flight()
        self._server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Receiver {self.url}>"
