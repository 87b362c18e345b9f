"""What every mocked library does with an intercepted request: build the app's `Request`
as the real server would, and hold a delayed delivery for the delay or the request's read
timeout, whichever is shorter (blocking a thread for the sync libraries, awaiting for the
async ones, never blocking the event loop)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.delivery.driver import drive, drive_async
from pytest_cloudevents.delivery.exchange import CUT, ELAPSED, GONE, Answer, Hold, HoldEnd, Request
from pytest_cloudevents.recording.wakeup import wait_in_thread
from pytest_cloudevents.wire import Headers

__all__ = ["Intercepted", "app_request"]


def app_request(
    method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes, limit: int
) -> Request:
    """The app's view of an intercepted request: every header as sent (`_` names too,
    repeated ones joined), the body cut at `limit` as the server reads it."""
    parts = urlsplit(url)
    # the library framed the body: its length is what arrived (as the header says, mostly)
    sent = Headers(headers)
    length = str(len(body))
    if sent.lowered.get("content-length") != length:
        sent = sent.merged({"Content-Length": length})
    return Request.from_http(
        method,
        unquote(parts.path or "/", encoding="latin-1"),
        sent,
        body,
        max_body=limit,
        declared_length=len(body),
        query=parts.query,
        remote_addr="127.0.0.1",
    )


@dataclass
class Intercepted:
    """One intercepted request run through the app; `timed_out` says a hold outlasted the
    request's read timeout (the library then raises its read-timeout error)."""

    app: DeliveryApp
    request: Request
    read_timeout: float | None
    timed_out: bool = False

    def run(self) -> Answer:
        """Run the delivery, blocking this thread in holds."""
        return drive(self.app.deliver(self.request), self._hold)

    async def run_async(self) -> Answer:
        """Run the delivery, awaiting holds on the running loop."""
        return await drive_async(self.app.deliver(self.request), self._hold_async)

    def _seconds(self, step: Hold) -> tuple[float, bool]:
        """How long to hold, and whether the read timeout is what ends the hold."""
        if self.read_timeout is not None and self.read_timeout < step.seconds:
            return self.read_timeout, True
        return step.seconds, False

    def _end(self, cut: bool, times_out: bool) -> HoldEnd:
        if cut:
            return CUT
        if times_out:
            self.timed_out = True
            return GONE
        return ELAPSED

    def _hold(self, step: Hold) -> HoldEnd:
        seconds, times_out = self._seconds(step)
        return self._end(step.cancel.wait(seconds), times_out)

    async def _hold_async(self, step: Hold) -> HoldEnd:
        # the cancel flag is a threading.Event (reset() may come from any thread): a
        # thread waits for it while the loop runs on
        seconds, times_out = self._seconds(step)
        return self._end(await wait_in_thread(step.cancel, seconds), times_out)
