"""A one-shot signal set from any thread and awaited on the running event loop, asyncio's
or trio's (what async waits and the async mocks' holds await)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Wakeup", "run_in_thread", "wait_in_thread"]

T = TypeVar("T")


def _library() -> str:
    try:
        import sniffio
    except ImportError:  # without sniffio there is no trio either
        return "asyncio"
    try:
        return sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return "asyncio"


class Wakeup:
    """Made inside a coroutine; `set()` from any thread wakes `await wait(timeout)`."""

    def __init__(self) -> None:
        self._trio: Any = None
        if _library() == "trio":
            import trio

            self._trio = trio
            self._token = trio.lowlevel.current_trio_token()
            self._event = trio.Event()
        else:
            self._loop = asyncio.get_running_loop()
            self._future: asyncio.Future[None] = self._loop.create_future()

    def set(self) -> None:
        """Wake the waiter (thread-safe; a no-op once its loop has ended)."""
        if self._trio is not None:
            with contextlib.suppress(Exception):  # trio.RunFinishedError: nobody waits
                self._token.run_sync_soon(self._event.set)
        else:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                self._loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """True when woken within `timeout` seconds; cancelling the await cancels it."""
        if self._trio is not None:
            with self._trio.move_on_after(timeout):
                await self._event.wait()
                return True
            return False
        try:
            await asyncio.wait_for(self._future, timeout)
        except asyncio.TimeoutError:
            return False
        return True


async def wait_in_thread(event: threading.Event, timeout: float) -> bool:
    """`event.wait(timeout)` for a coroutine: a daemon thread waits (so neither the loop
    nor the interpreter's exit waits for it) and wakes the awaiting coroutine."""
    wakeup = Wakeup()
    outcome: list[bool] = []

    def watch() -> None:
        outcome.append(event.wait(timeout))
        wakeup.set()

    threading.Thread(target=watch, name="cloudevents-hold", daemon=True).start()
    await wakeup.wait(timeout + 60.0)
    return bool(outcome and outcome[0])


async def run_in_thread(work: Callable[[], T]) -> T:
    """`work()` in a daemon thread, awaited on the running loop (asyncio's or trio's, with
    no extra installed); cancelling the await abandons the thread to finish on its own."""
    wakeup = Wakeup()
    box: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            box.append((True, work()))
        except BaseException as exc:  # handed to the awaiting coroutine
            box.append((False, exc))
        wakeup.set()

    threading.Thread(target=run, name="cloudevents-remote-wait", daemon=True).start()
    while not box:
        await wakeup.wait(3600.0)
    ok, value = box[0]
    if not ok:
        raise value
    result: T = value
    return result
