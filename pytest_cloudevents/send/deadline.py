"""A total deadline for each HTTP attempt of `Client` (requests/urllib3).

urllib3's timeouts bound each socket operation, not the whole attempt: a server that drips a
byte every 0.4 s, or sends `100 Continue` forever, holds a send with `timeout=1` as long as it
likes. Here every attempt a `Client` makes is given `timeout` seconds in all: one watchdog
thread (started on first use) shuts the attempt's socket down when they pass, which ends the
blocked read at once, and the send reports UNDELIVERED with `DeadlineExceeded` (a server
that is merely silent still meets urllib3's read timeout first: `ReadTimeout`).

The connections are the client's own (`DeadlineAdapter` makes its pools use them); a
`requests.Session` given to a `Client` is used as given, with urllib3's per-read timeouts.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from pytest_cloudevents.errors import DeadlineExceeded

__all__ = ["Attempts", "attempts", "deadline_error", "install", "total"]


class Attempts:
    """The attempts of one send on this thread: each gets `seconds` from its start."""

    __slots__ = ("at", "connection", "expired", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = 0.0
        self.connection: HTTPConnection | None = None
        self.expired = False

    def begin(self, connection: HTTPConnection) -> None:
        """An attempt begins on `connection`: its deadline is `seconds` from now, and a
        grace (a tenth, at least 50 ms) so that a server that is merely silent meets
        urllib3's own read timeout first, reported as before (`ReadTimeout`)."""
        self.connection = connection
        self.at = time.monotonic() + total(self.seconds)
        _WATCHDOG.watch(self)

    def finish(self) -> None:
        """The answer is read: watch no more (call it before the connection goes back to
        the pool, where another send may take it)."""
        _WATCHDOG.forget(self)

    def error(self) -> DeadlineExceeded:
        return deadline_error(self.seconds)


def total(seconds: float) -> float:
    """The total deadline of an attempt with `timeout=seconds`: a tenth more (at least
    50 ms), so that the per-read timeout of a silent server is met first."""
    return seconds + max(0.05, seconds / 10)


def deadline_error(seconds: float) -> DeadlineExceeded:
    """The error of an attempt past its total deadline (both clients give it)."""
    return DeadlineExceeded(
        f"no complete answer within timeout={seconds:g}s (a total deadline for each attempt:"
        " the server answered too slowly, or never finished)"
    )


_current = threading.local()


@contextmanager
def attempts(seconds: float) -> Iterator[Attempts]:
    """The scope of one send on this thread: the attempts begun in it have a deadline."""
    scope = Attempts(seconds)
    _current.scope = scope
    try:
        yield scope
    finally:
        _current.scope = None
        _WATCHDOG.forget(scope)


class _Watchdog:
    """One thread that shuts down the socket of an attempt past its deadline. It watches
    the sends in flight (at most one per sending thread) and sleeps until the first
    deadline among them."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._watched: dict[int, Attempts] = {}
        self._until = float("inf")  # when the thread wakes next
        self._thread: threading.Thread | None = None

    def watch(self, scope: Attempts) -> None:
        with self._wake:
            self._watched[id(scope)] = scope
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ce-deadline", daemon=True)
                self._thread.start()
            elif scope.at < self._until:
                self._wake.notify()

    def forget(self, scope: Attempts) -> None:
        with self._wake:
            self._watched.pop(id(scope), None)
            scope.connection = None

    def _run(self) -> None:
        while True:
            with self._wake:
                now = time.monotonic()
                due = [s for s in self._watched.values() if s.at <= now]
                for scope in due:
                    del self._watched[id(scope)]
                if not due:
                    self._until = min((s.at for s in self._watched.values()), default=now + 3600)
                    self._wake.wait(self._until - now)
                    continue
                expired = [(s, s.connection) for s in due]
                for scope in due:
                    scope.expired, scope.connection = True, None
            for _, connection in expired:
                sock: Any = getattr(connection, "sock", None)
                if sock is not None:  # the plain socket's shutdown, under TLS too
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()


class _Timed:
    """Begins an attempt of this thread's send whenever a request is written."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        scope: Attempts | None = getattr(_current, "scope", None)
        if scope is not None:
            scope.begin(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


class _TimedHTTPConnection(_Timed, HTTPConnection):
    pass


class _TimedHTTPSConnection(_Timed, HTTPSConnection):
    pass


class _TimedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TimedHTTPConnection


class _TimedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TimedHTTPSConnection


def install(poolmanager: Any) -> None:
    """Make a urllib3 PoolManager's pools use the timed connections."""
    poolmanager.pool_classes_by_scheme = {"http": _TimedHTTPPool, "https": _TimedHTTPSPool}
