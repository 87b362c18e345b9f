"""The pool that runs user code (handlers, `when=` predicates) off the server's loop.

Its threads are daemon threads: one stuck in a handler that never returns is left behind by
`stop()` and never holds up the interpreter's exit (a `ThreadPoolExecutor` joins its workers
at exit, so a blocked handler would hang the whole test session).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Final, ParamSpec, TypeVar

__all__ = ["UserCodePool"]

P = ParamSpec("P")
T = TypeVar("T")
_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class UserCodePool(Executor):
    """At most `workers` daemon threads, a new one started only when work arrives and none
    is idle: handlers that block hold a thread each, and the next delivery still gets one
    (up to the cap), so a few blocked handlers never stall the rest."""

    #: The cap of a receiver's pool: blocked handlers past it make later deliveries wait.
    MAX_WORKERS: Final[int] = 32

    def __init__(self, workers: int, name: str) -> None:
        self._workers, self._name = workers, name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for work
        self._queued = 0  # work no thread has taken yet
        self._closed = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the receiver is stopped")
            self._jobs.put((future, fn, args, kwargs))
            self._queued += 1
            # every queued job needs an idle thread of its own: an idle thread counted for
            # one job cannot take the next (it may block in user code)
            if self._queued > self._idle and len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
                if job is not None:
                    self._queued -= 1
            if job is None:
                return
            future, fn, args, kwargs = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to whoever awaits the future
                future.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work, cancel what has not started, and join the idle threads (one
        busy in user code is left to finish, or never, on its own)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
        for _ in threads:
            self._jobs.put(None)
        if wait:  # idle threads end at once; one stuck in user code is left behind
            deadline = time.monotonic() + 0.3
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
