"""The interface `Receiver` and `MockSink` share: what was recorded, waiting, assertions,
fault rules and handlers. The WSGI application in `receiver.py` fills the log."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .faults import Fault, Rule, RuleList, When
from .matching import Matcher, closest, combine
from .recording import Delivery, DeliveryLog
from .wire import AnyCloudEvent

__all__ = ["Attempts", "Handler", "Sink", "SinkOptions"]

#: A handler: called once per accepted event; None acknowledges, a CloudEvent replies,
#: a fault answers with that fault.
Handler = Callable[[AnyCloudEvent], "AnyCloudEvent | Fault | None"]
MatchArg = Matcher | Callable[[AnyCloudEvent], bool] | None


@dataclass
class SinkOptions:
    """The settings of a receiver or sink; see `Receiver` for their meaning."""

    strict: bool = True
    ack_status: int = 202
    wait_timeout: float = 5.0
    max_body: int = 10 * 1024 * 1024
    check_rejected: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.strict, bool):
            raise TypeError(f"strict must be True or False, not {self.strict!r}")
        if not isinstance(self.check_rejected, bool):
            raise TypeError(f"check_rejected must be True or False, not {self.check_rejected!r}")
        if (
            isinstance(self.ack_status, bool)
            or not isinstance(self.ack_status, int)
            or not (200 <= self.ack_status <= 299)
        ):
            raise ValueError(f"ack_status must be a 2xx status code, not {self.ack_status!r}")
        if (
            isinstance(self.wait_timeout, bool)
            or not isinstance(self.wait_timeout, (int, float))
            or (self.wait_timeout < 0)
        ):
            raise ValueError(f"wait_timeout must be seconds >= 0, not {self.wait_timeout!r}")
        if (
            isinstance(self.max_body, bool)
            or not isinstance(self.max_body, int)
            or self.max_body < 1
        ):
            raise ValueError(f"max_body must be a positive number of bytes, not {self.max_body!r}")


@dataclass(frozen=True)
class Attempts:
    """The deliveries of one event, in order, whatever their outcome.

    `gaps` are the seconds between consecutive attempts on the monotonic clock, ready for
    `pytest.approx`.
    """

    deliveries: list[Delivery]

    @property
    def count(self) -> int:
        """How many attempts were made."""
        return len(self.deliveries)

    @property
    def statuses(self) -> list[int | None]:
        """The status each attempt got (None where the connection was dropped)."""
        return [d.status for d in self.deliveries]

    @property
    def gaps(self) -> list[float]:
        """Seconds between consecutive attempts."""
        times = [d.received_at for d in self.deliveries]
        return [b - a for a, b in itertools.pairwise(times)]

    def __len__(self) -> int:
        return self.count


class Sink:
    """What a recording endpoint offers a test. Built by `Receiver` and `MockSink`."""

    def __init__(self, options: SinkOptions, *, seed: int = 0) -> None:
        self.options = options
        self.log = DeliveryLog()
        self.rules = RuleList()
        self.handler: Handler | None = None
        self.seed = seed
        self._seen_rejected: set[int] = set()
        self._lock = threading.Lock()

    # -- reading what arrived ----------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        """Every request that carried a message, in arrival order, any outcome."""
        return self.log.snapshot()

    @property
    def events(self) -> list[AnyCloudEvent]:
        """Accepted events, batches flattened, in arrival order."""
        return _accepted(self.log.snapshot())

    @property
    def rejected(self) -> list[Delivery]:
        """Deliveries rejected for breaking a MUST rule (reading this marks them seen)."""
        found = [d for d in self.log.snapshot() if d.outcome == "rejected"]
        self._mark_seen(found)
        return found

    def matching(self, match: MatchArg = None, **criteria: Any) -> list[AnyCloudEvent]:
        """Accepted events that meet `match` and `criteria`."""
        matcher = combine(match, criteria)
        return [e for e in self.events if matcher.matches(e)]

    def attempts(self, event_id: str | None = None, **criteria: Any) -> Attempts:
        """The deliveries (any outcome but rejected) carrying an event with this id and
        meeting `criteria`, in order."""
        if event_id is not None:
            criteria["id"] = event_id
        if not criteria:
            raise TypeError("attempts needs an event id or criteria, e.g. attempts('order-1')")
        matcher = combine(None, criteria)
        found = [d for d in self.log.snapshot() if any(matcher.matches(e) for e in d.events)]
        return Attempts(found)

    # -- waiting and asserting -----------------------------------------------------------

    def wait_for(
        self,
        match: MatchArg = None,
        *,
        count: int = 1,
        timeout: float | None = None,
        **criteria: Any,
    ) -> list[AnyCloudEvent]:
        """Block until at least `count` matching events were accepted; return them.

        Raises AssertionError with the delivery log when `timeout` (default: the
        receiver's wait_timeout) passes first.
        """
        matcher = combine(match, criteria)
        found, ok = self._wait(matcher, lambda n: n >= count, timeout)
        if not ok:
            raise AssertionError(
                self._failure(
                    f"timed out after {self._timeout(timeout):g}s waiting for {count}"
                    f" event(s) {matcher!r}; {len(found)} arrived",
                    matcher,
                )
            )
        return found

    def assert_received(
        self,
        match: MatchArg = None,
        *,
        count: int | None = None,
        timeout: float | None = None,
        **criteria: Any,
    ) -> list[AnyCloudEvent]:
        """Assert matching events were accepted: at least one, or exactly `count`.

        Waits up to `timeout` for them to arrive; returns the matching events.
        """
        matcher = combine(match, criteria)
        wanted = 1 if count is None else count
        found, _ = self._wait(matcher, lambda n: n >= wanted, timeout)
        if count is None and not found:
            raise AssertionError(
                self._failure(f"expected an event {matcher!r}, none arrived", matcher)
            )
        if count is not None and len(found) != count:
            raise AssertionError(
                self._failure(
                    f"expected exactly {count} event(s) {matcher!r}, got {len(found)}", matcher
                )
            )
        return found

    def assert_not_received(
        self, match: MatchArg = None, *, within: float = 0.0, **criteria: Any
    ) -> None:
        """Assert no matching event was accepted, watching for `within` more seconds."""
        matcher = combine(match, criteria)
        found, _ = self._wait(matcher, lambda n: n > 0, within)
        if found:
            raise AssertionError(
                self._failure(f"expected no event {matcher!r}, got {len(found)}", None)
            )

    def assert_rejected(
        self, code: str | None = None, *, count: int | None = None
    ) -> list[Delivery]:
        """Assert deliveries were rejected (with violation `code`, if given); return them.

        At least one without `count`, exactly `count` with it. Marks them seen, so the
        after-test check does not fail the test for them.
        """
        from .conformance import MUST_CODES

        if code is not None and code not in MUST_CODES:
            raise ValueError(f"{code!r} is not a violation code; use one of {sorted(MUST_CODES)}")
        rejected = self.rejected
        found = [d for d in rejected if code is None or code in d.codes]
        what = "a rejected delivery" + (f" with {code!r}" if code else "")
        if (count is None and not found) or (count is not None and len(found) != count):
            expected = f"exactly {count} x {what}" if count is not None else what
            raise AssertionError(self._failure(f"expected {expected}, got {len(found)}", None))
        return found

    # -- faults and handlers -----------------------------------------------------------

    def inject(self, fault: Fault, *, times: int | None = None, when: When = None) -> Rule:
        """Add a fault rule: the first rule whose `when` holds and that has `times`
        left answers a delivery. Returns the rule (see `Rule.hits`)."""
        return self.rules.add(fault, times, when, self.seed)

    def handle(self, fn: Handler | None) -> None:
        """Answer accepted events with `fn(event)`: None acknowledges, a CloudEvent
        replies, a fault answers with that fault; an exception answers 500 and fails
        the test. `None` removes the handler."""
        if fn is not None and not callable(fn):
            raise TypeError(f"handle takes a function of the event, not {fn!r}")
        self.handler = fn

    def reset(self) -> None:
        """Forget deliveries, rules and the handler; cut in-flight delays short."""
        with self._lock:
            self.log.clear()
            self.rules.clear()
            self.handler = None
            self._seen_rejected.clear()

    # -- for the plugin's after-test check -----------------------------------------------

    def unseen_problems(self) -> list[Delivery]:
        """Rejected deliveries nobody looked at (when check_rejected), and handler errors."""
        out = []
        for d in self.log.snapshot():
            if d.outcome == "error" or (
                d.outcome == "rejected"
                and self.options.check_rejected
                and d.seq not in self._seen_rejected
            ):
                out.append(d)
        return out

    def describe(self) -> str:
        """A title line and the delivery log."""
        return f"{self!r}\n{self.log.describe()}"

    # -- helpers ---------------------------------------------------------------------------

    def _mark_seen(self, deliveries: list[Delivery]) -> None:
        with self._lock:
            self._seen_rejected.update(d.seq for d in deliveries)

    def _timeout(self, timeout: float | None) -> float:
        return self.options.wait_timeout if timeout is None else timeout

    def _wait(
        self, matcher: Matcher, done: Callable[[int], bool], timeout: float | None
    ) -> tuple[list[AnyCloudEvent], bool]:
        found, ok = self.log.wait(
            lambda items: [e for e in _accepted(items) if matcher.matches(e)],
            lambda events: done(len(events)),
            self._timeout(timeout),
        )
        return found, ok

    def _failure(self, headline: str, matcher: Matcher | None) -> str:
        deliveries = self.log.snapshot()
        lines = [headline]
        if matcher is not None:
            near = closest(matcher, _accepted(deliveries))
            if near is not None and near[1]:
                event, diff = near
                lines.append(f"closest event (id={event.get_id()!r}, type={event.get_type()!r}):")
                lines += [f"  {d}" for d in diff]
        rejected = [d for d in deliveries if d.outcome == "rejected"]
        for d in rejected:
            lines.append(f"rejected delivery #{d.seq}:")
            lines += [f"  {v}" for v in d.violations]
        lines.append(f"deliveries to {self!r}:")
        lines.append(self.log.describe())
        return "\n".join(lines)


def _accepted(deliveries: list[Delivery]) -> list[AnyCloudEvent]:
    return [e for d in deliveries if d.outcome == "accepted" for e in d.events]
