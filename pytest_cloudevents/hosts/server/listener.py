"""`Server`: the delivery app served on a socket from an asyncio loop in one thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time

from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.delivery.exchange import CUT, HoldEnd
from pytest_cloudevents.hosts.server.connection import Connection, settle
from pytest_cloudevents.hosts.server.limits import Limits
from pytest_cloudevents.hosts.server.mount import Mount
from pytest_cloudevents.hosts.server.pool import UserCodePool

__all__ = ["Server"]


class Server:
    """The delivery app served on `host:port` from a loop thread (see the module doc).

    The socket is bound in the constructor, so an address that cannot be bound raises
    `OSError` naming it, in the caller's thread."""

    def __init__(
        self,
        host: str,
        port: int,
        app: DeliveryApp,
        mount: Mount | None = None,
        tls: ssl.SSLContext | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.app = app
        self.limits = limits or Limits()
        self.tls = tls
        #: what answers under its own prefix instead of the app (the control API)
        self.mount = mount
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.holds: dict[asyncio.Future[HoldEnd], threading.Event] = {}
        #: connections accepted so far (a keep-alive client reuses one)
        self.accepted = 0
        self.closing = False
        #: seconds between sweeps: a tenth of the shortest bound, at most a quarter second
        self._interval = min(0.25, self.limits.idle_timeout / 10, self.limits.request_timeout / 10)
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.socket = socket.create_server((host, port), family=family, backlog=512)
        except (OSError, ValueError) as exc:
            raise OSError(f"cannot listen on {host}:{port}: {exc}") from exc
        self.port: int = self.socket.getsockname()[1]
        self.pool = UserCodePool(UserCodePool.MAX_WORKERS, f"ce-user-{self.port}")
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"ce-receiver-{self.port}", daemon=True
        )
        self._thread.start()
        self._ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        # TLS is started by each connection (loop.start_tls), so that a socket still in its
        # handshake is the server's to close on stop()
        listening = self.loop.create_server(lambda: Connection(self), sock=self.socket)
        self.listener = self.loop.run_until_complete(listening)
        self.loop.call_soon(self._sweep)
        self._ready.set()
        self.loop.run_forever()

    def _sweep(self) -> None:
        """Expire the connections past their time (idle, slow, lingering): one timer for
        the server instead of two per request."""
        now = time.monotonic()
        for connection in [c for c in self.connections if c.expires <= now]:
            connection.expire()
        if not self.closing:
            self.loop.call_later(self._interval, self._sweep)

    def cut_holds(self) -> None:
        """Wake every hold whose cancel event is set (after reset() or on stop()). With no
        hold registered there is nothing to wake (a hold registering meanwhile checks its
        cancel event again once registered)."""
        if self.holds and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                self.loop.call_soon_threadsafe(self._cut)

    def _cut(self) -> None:
        for future, cancel in list(self.holds.items()):
            if cancel.is_set():
                settle(future, CUT)

    def stop(self) -> None:
        """Close the listener and every connection, end every task, join the threads."""
        if self.loop.is_closed():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(2)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(2)
        self.loop.close()
        self.pool.shutdown(wait=True, cancel_futures=True)

    async def _shutdown(self) -> None:
        self.closing = True
        self.listener.close()
        self._cut()
        for _ in range(50):  # connections accepted meanwhile are aborted as they arrive
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.abort()
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.wait(list(self.tasks), timeout=0.5)
            await asyncio.sleep(0)  # let the aborted transports call connection_lost
            if not self.connections and not self.tasks:
                break
        await self.listener.wait_closed()
