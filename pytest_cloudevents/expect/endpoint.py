"""The interface `Receiver`, `MockSink` and `RemoteReceiver` share: what was recorded,
waiting, assertions, fault rules and handlers, over a `Recording` that the delivery app
(or a standalone receiver, for the remote one) fills."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, final, runtime_checkable

from pytest_cloudevents.config import Options
from pytest_cloudevents.criteria.match import Matcher, closest, combine
from pytest_cloudevents.events import CloudEvent, attribute_of, attributes_of
from pytest_cloudevents.expect.ordering import ORDER_BY, ORDER_PER, disorder
from pytest_cloudevents.expect.uniqueness import duplicate_groups, reuses
from pytest_cloudevents.faults.kinds import Fault
from pytest_cloudevents.faults.rules import Rule, When
from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.recording.log import INDEXED
from pytest_cloudevents.recording.store import Handler, Recording
from pytest_cloudevents.spec.codes import DRAFT_CODES, EXTENSION_CODES, MUST_CODES, POLICY_CODES
from pytest_cloudevents.validate import check_bool, check_seconds, check_whole

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Attempts", "Endpoint", "Handler", "Sink"]

MatchArg = Matcher | Callable[[CloudEvent], bool] | None


@final
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


@runtime_checkable
class Endpoint(Protocol):
    """What `ce_receiver` is, whichever it is: a `Receiver`, a `MockSink` or a
    `RemoteReceiver` (under `--ce-remote`). Type your tests' receivers with it to keep them
    runnable against all three."""

    @property
    def url(self) -> str:
        """Where producers send."""

    def url_for(self, path: str = "/") -> str:
        """The URL of `path` on this endpoint."""

    @property
    def options(self) -> Options:
        """The settings in force (the plugin sets them for each test)."""

    @options.setter
    def options(self, options: Options) -> None: ...

    @property
    def events(self) -> list[CloudEvent]:
        """Accepted events, in arrival order."""

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery, any outcome."""

    @property
    def rejected(self) -> list[Delivery]:
        """Rejected deliveries."""

    def matching(self, match: MatchArg = None, **criteria: Any) -> list[CloudEvent]:
        """Accepted events that match."""

    def export(
        self,
        path: str | os.PathLike[str],
        *,
        format: str = "conformance",
        match: MatchArg = None,
        credentials: bool = False,
        **criteria: Any,
    ) -> list[Path]:
        """Write the accepted events as recordings (conformance YAML or JSON lines)."""

    def wait_for(
        self,
        match: MatchArg = None,
        *,
        count: int = 1,
        timeout: float | None = None,
        **criteria: Any,
    ) -> list[CloudEvent]:
        """Block until `count` matching events were accepted."""

    def assert_received(
        self,
        match: MatchArg = None,
        *,
        count: int | None = None,
        timeout: float | None = None,
        **criteria: Any,
    ) -> list[CloudEvent]:
        """Assert matching events were accepted."""

    def assert_not_received(
        self, match: MatchArg = None, *, within: float = 0.0, **criteria: Any
    ) -> None:
        """Assert no matching event was accepted."""

    async def wait_for_async(
        self,
        match: MatchArg = None,
        *,
        count: int = 1,
        timeout: float | None = None,
        **criteria: Any,
    ) -> list[CloudEvent]:
        """`wait_for` for a coroutine."""

    async def assert_received_async(
        self,
        match: MatchArg = None,
        *,
        count: int | None = None,
        timeout: float | None = None,
        **criteria: Any,
    ) -> list[CloudEvent]:
        """`assert_received` for a coroutine."""

    async def assert_not_received_async(
        self, match: MatchArg = None, *, within: float = 0.0, **criteria: Any
    ) -> None:
        """`assert_not_received` for a coroutine."""

    def assert_rejected(
        self, code: str | None = None, *, count: int | None = None
    ) -> list[Delivery]:
        """Assert deliveries were rejected."""

    def attempts(self, event_id: str | Matcher | None = None, **criteria: Any) -> Attempts:
        """The deliveries of one event."""

    def duplicates(self) -> list[list[CloudEvent]]:
        """Accepted events sharing source + id."""

    def assert_unique(self, *, retries: bool = True) -> None:
        """Fail when two different events share source + id."""

    def sequence_of(self, source: str) -> list[str]:
        """The `sequence` values of the accepted events from `source`."""

    def assert_ordered(
        self, match: MatchArg = None, *, by: str = "sequence", per: str = "source", **criteria: Any
    ) -> None:
        """Fail when events go backwards in `by` within a `per` group."""

    def inject(self, fault: Fault, *, times: int | None = None, when: When = None) -> Rule:
        """Add a fault rule."""

    def handle(self, fn: Handler | None) -> None:
        """Answer accepted events with `fn(event)`."""

    def reset(self) -> None:
        """Forget deliveries, rules and the handler."""

    def close(self) -> None:
        """Release what the endpoint holds."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class Sink:
    """What a recording endpoint offers a test, over its `Recording`: `Receiver`,
    `MockSink` and `RemoteReceiver` are built on it."""

    def __init__(self, recording: Recording) -> None:
        #: what the deliveries are recorded into (the log, the rules, the handler, ...)
        self.recording = recording
        self._log = recording.log
        self._rules = recording.rules
        self._seen_rejected: set[int] = set()
        self._reported: set[int] = set()  # problems a check point already reported
        self._lock = threading.Lock()

    @property
    def options(self) -> Options:
        """The settings in force (the plugin replaces them for each test)."""
        return self.recording.options

    @options.setter
    def options(self, options: Options) -> None:
        if not isinstance(options, Options):
            raise TypeError(f"options must be an Options, not {options!r}")
        self.recording.options = options

    # -- reading what arrived ----------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        """Every request that carried a message, in arrival order, any outcome (pending
        ones too)."""
        return self._log.snapshot()

    @property
    def events(self) -> list[CloudEvent]:
        """Accepted events, batches flattened, in arrival order."""
        return self._log.events()

    @property
    def rejected(self) -> list[Delivery]:
        """Deliveries rejected for breaking a MUST rule. A plain read: only
        `assert_rejected` marks them seen for the after-test check."""
        return [d for d in self._log.snapshot() if d.outcome == "rejected"]

    def matching(self, match: MatchArg = None, **criteria: Any) -> list[CloudEvent]:
        """Accepted events that meet `match` and `criteria`."""
        matcher = combine(match, criteria)
        return [e for e in self._log.events() if matcher.matches(e)]

    def export(
        self,
        path: str | os.PathLike[str],
        *,
        format: str = "conformance",
        match: MatchArg = None,
        credentials: bool = False,
        **criteria: Any,
    ) -> list[Path]:
        """Write the accepted events (those that meet `match` and `criteria`) as
        recordings: `format="conformance"` one YAML file per event in the folder `path`,
        in the form of cloudevents/conformance (Mode, ContextAttributes, Extensions,
        TransportExtensions, Data), which its CLI and Knative's eventshub read;
        `format="jsonl"` one JSON-format event per line in the file `path`. Credentials in
        the headers (`Authorization`, `aeg-sas-key`, cookies, `*token*`, `*key*`) are
        written as `<redacted>` unless `credentials=True`. Returns the files written;
        `pytest_cloudevents.load` and `client.replay` read them back."""
        from pytest_cloudevents.archive.files import check_format, export_deliveries

        chosen = check_format(format)
        check_bool("credentials", credentials)
        matcher = combine(match, criteria)
        return export_deliveries(
            self._recorded(credentials), path, chosen, credentials=credentials, keep=matcher.matches
        )

    def _recorded(self, credentials: bool) -> list[Delivery]:
        """The deliveries an export writes (a remote endpoint reads them again to have
        their credentials)."""
        return self._log.snapshot()

    def attempts(self, event_id: str | Matcher | None = None, **criteria: Any) -> Attempts:
        """The deliveries (any outcome but rejected) carrying an event with this id (or
        that `match(...)`) and meeting `criteria`, in order."""
        given: Matcher | None = None
        if isinstance(event_id, Matcher):
            given = event_id
        elif isinstance(event_id, str):
            criteria["id"] = event_id
        elif event_id is not None:
            raise TypeError(
                f"attempts takes an event id (str) or match(...), not {event_id!r};"
                " e.g. attempts('order-1') or attempts(type='com.example.x')"
            )
        if given is None and not criteria:
            raise TypeError("attempts needs an event id or criteria, e.g. attempts('order-1')")
        matcher = combine(given, criteria)
        found = [d for d in self._log.snapshot() if any(matcher.matches(e) for e in d.events)]
        return Attempts(found)

    def duplicates(self) -> list[list[CloudEvent]]:
        """Accepted events sharing `source` + `id`, grouped, in arrival order (retries
        and reused ids alike)."""
        return duplicate_groups(self._log.snapshot())

    def assert_unique(self, *, retries: bool = True) -> None:
        """Fail when two different events share `source` + `id` (the spec makes the pair
        unique per distinct event), naming both deliveries and what differs. Identical
        re-sends (retries, at-least-once delivery) pass, unless `retries=False`."""
        __tracebackhide__ = True
        check_bool("retries", retries)
        found = reuses(self._log.snapshot(), retries=retries)
        if found:
            head = f"{len(found)} event(s) reuse a source + id:" if retries else "re-sent events:"
            raise AssertionError(head + "\n" + "\n".join(f"  {r}" for r in found))

    def sequence_of(self, source: str) -> list[str]:
        """The `sequence` extension's values of the accepted events from `source`, in
        arrival order (events without one are left out)."""
        if not isinstance(source, str):
            raise TypeError(f"sequence_of takes the source as a string, not {source!r}")
        values = []
        for event in self.events:
            if attribute_of(event, "source") == source:
                value = attribute_of(event, "sequence")
                if value is not None:
                    values.append(str(value))
        return values

    def assert_ordered(
        self, match: MatchArg = None, *, by: str = "sequence", per: str = "source", **criteria: Any
    ) -> None:
        """Fail when the accepted events (those that meet `match`/`criteria`, if given) go
        backwards in `by` ("sequence", compared as the extension's orderable strings, or
        "time") within each group of `per` ("source" or "partitionkey"), in arrival order;
        an event without `by` fails too. An equal value (a retry) is in order."""
        __tracebackhide__ = True
        if by not in ORDER_BY:
            raise ValueError(f"by is one of {list(ORDER_BY)}, not {by!r}")
        if per not in ORDER_PER:
            raise ValueError(f"per is one of {list(ORDER_PER)}, not {per!r}")
        chosen = self.events if match is None and not criteria else self.matching(match, **criteria)
        lines = disorder(chosen, by=by, per=per)
        if lines:
            raise AssertionError(
                f"{len(lines)} of {len(chosen)} event(s) out of {by} order per {per}:\n"
                + "\n".join(f"  {line}" for line in lines)
            )

    # -- waiting and asserting -----------------------------------------------------------

    def wait_for(
        self,
        match: MatchArg = None,
        *,
        count: int = 1,
        timeout: float | None = None,
        **criteria: Any,
    ) -> list[CloudEvent]:
        """Block until at least `count` matching events were accepted; return them.

        Raises AssertionError saying what arrived instead when `timeout` (default: the
        receiver's wait_timeout) passes first.
        """
        __tracebackhide__ = True
        wait = _Wait.for_count(self, match, criteria, count, timeout)
        return wait.judge(*self._log.wait_events(*wait.arguments, keys=wait.keys))

    def assert_received(
        self,
        match: MatchArg = None,
        *,
        count: int | None = None,
        timeout: float | None = None,
        **criteria: Any,
    ) -> list[CloudEvent]:
        """Assert matching events were accepted: at least one, or exactly `count`.

        Waits up to `timeout` for them to arrive; returns the matching events.
        """
        __tracebackhide__ = True
        wait = _Wait.for_received(self, match, criteria, count, timeout)
        return wait.judge(*self._log.wait_events(*wait.arguments, keys=wait.keys))

    def assert_not_received(
        self, match: MatchArg = None, *, within: float = 0.0, **criteria: Any
    ) -> None:
        """Assert no matching event was accepted, watching for `within` more seconds."""
        __tracebackhide__ = True
        wait = _Wait.for_none(self, match, criteria, within)
        wait.judge(*self._log.wait_events(*wait.arguments, keys=wait.keys))

    # In async tests (asyncio; trio through anyio's asyncio backend): the same waits on the
    # event loop, never blocking it; the log wakes them from the server's thread.

    async def wait_for_async(
        self,
        match: MatchArg = None,
        *,
        count: int = 1,
        timeout: float | None = None,
        **criteria: Any,
    ) -> list[CloudEvent]:
        """`wait_for` for a coroutine: a producer task on the same loop runs meanwhile, and
        cancelling the await cancels the wait."""
        __tracebackhide__ = True
        wait = _Wait.for_count(self, match, criteria, count, timeout)
        return wait.judge(*await self._log.wait_events_async(*wait.arguments, keys=wait.keys))

    async def assert_received_async(
        self,
        match: MatchArg = None,
        *,
        count: int | None = None,
        timeout: float | None = None,
        **criteria: Any,
    ) -> list[CloudEvent]:
        """`assert_received` for a coroutine, awaiting on the event loop."""
        __tracebackhide__ = True
        wait = _Wait.for_received(self, match, criteria, count, timeout)
        return wait.judge(*await self._log.wait_events_async(*wait.arguments, keys=wait.keys))

    async def assert_not_received_async(
        self, match: MatchArg = None, *, within: float = 0.0, **criteria: Any
    ) -> None:
        """`assert_not_received` for a coroutine: the loop runs on while it watches."""
        __tracebackhide__ = True
        wait = _Wait.for_none(self, match, criteria, within)
        wait.judge(*await self._log.wait_events_async(*wait.arguments, keys=wait.keys))

    def assert_rejected(
        self, code: str | None = None, *, count: int | None = None
    ) -> list[Delivery]:
        """Assert deliveries were rejected (with violation `code`, if given); return them.

        At least one without `count`, exactly `count` with it. Marks them seen, so the
        after-test check does not fail the test for them.
        """
        __tracebackhide__ = True
        rejecting = MUST_CODES | DRAFT_CODES | POLICY_CODES | EXTENSION_CODES
        if code is not None and code not in rejecting:
            known = sorted(rejecting)
            raise ValueError(f"{code!r} is not a violation code; use one of {known}")
        if count is not None:
            check_whole("count", count, minimum=0)
        rejected = self.rejected
        with self._lock:
            self._seen_rejected.update(d.seq for d in rejected)
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
        return self._rules.add(fault, times, when, self.options.seed)

    def handle(self, fn: Handler | None) -> None:
        """Answer accepted events with `fn(event)`: None acknowledges, a CloudEvent
        replies, a fault answers with that fault (once: a handler's `delay` holds and then
        acknowledges); anything it raises answers 500 and fails the test. `None` removes
        the handler."""
        if fn is not None and not callable(fn):
            raise TypeError(f"handle takes a function of the event, not {fn!r}")
        self.recording.handler = fn

    def reset(self) -> None:
        """Forget deliveries, rules and the handler; cut in-flight delays short."""
        with self._lock:
            self._log.clear()
            self._rules.clear()
            self.recording.handler = None
            self._seen_rejected.clear()
            self._reported.clear()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Release what the endpoint holds (a receiver's server, a remote's connection);
        a mock sink holds nothing of its own (its interception ends with `ce_mock`)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- for the plugin's after-test check and report -------------------------------------

    def unchecked_problems(self) -> list[tuple[int, Delivery]]:
        """(number in the log, delivery) of rejected deliveries nobody asserted on (when
        check_rejected), and of handler and predicate errors."""
        troubled = self._log.troubled()
        if not troubled:
            return []
        with self._lock:
            seen = set(self._seen_rejected)
        check_rejected = self.options.check_rejected
        return [
            (number, d)
            for number, d in troubled
            if d.outcome == "error" or (check_rejected and d.seq not in seen)
        ]

    def take_problems(self) -> list[tuple[int, Delivery]]:
        """`unchecked_problems` not taken before: each problem is reported once, at the
        first check point that sees it (after the test body, at teardown, or when the
        next test takes the receiver)."""
        found = self.unchecked_problems()
        with self._lock:
            fresh = [(n, d) for n, d in found if d.seq not in self._reported]
            self._reported.update(d.seq for _, d in fresh)
        return fresh

    def describe(self) -> str:
        """A title line, the delivery log, and the attempts of every event delivered more
        than once, with the gaps between them (the picture of a retry backoff)."""
        lines = [repr(self), self._log.describe()]
        by_id: dict[str, list[Delivery]] = {}
        for d in self._log.snapshot():
            if d.events:
                by_id.setdefault(str(attributes_of(d.events[0]).get("id")), []).append(d)
        for ident, tries in by_id.items():
            if len(tries) > 1:
                attempts = Attempts(tries)
                statuses = ", ".join("none" if s is None else str(s) for s in attempts.statuses)
                gaps = ", ".join(f"{g:.3f}s" for g in attempts.gaps)
                lines.append(f"  attempts of id={ident}: {statuses}; gaps {gaps}")
        return "\n".join(lines)

    # -- helpers ---------------------------------------------------------------------------

    def _timeout(self, timeout: float | None) -> float:
        if timeout is None:
            return self.options.wait_timeout
        return check_seconds("timeout", timeout)

    def _failure(self, headline: str, matcher: Matcher | None) -> str:
        """The headline, the closest event's differences and the rejected deliveries'
        violations (the delivery log itself is in the report's `cloudevents` section)."""
        deliveries = self._log.snapshot()
        lines = [headline]
        if matcher is not None:
            near = closest(matcher, self._log.events())
            if near is not None and near[1]:
                event, diff = near
                attrs = attributes_of(event)
                lines.append(f"closest event (id={attrs.get('id')!r}, type={attrs.get('type')!r}):")
                lines += [f"  {d}" for d in diff]
        for number, d in enumerate(deliveries, 1):
            if d.outcome == "rejected":
                lines.append(f"rejected delivery #{number}:")
                lines += [f"  {v}" for v in d.violations]
        lines.append(f"{len(deliveries)} deliveries to {self!r}")
        return "\n".join(lines)


@dataclass
class _Wait:
    """One wait or assertion: its checked arguments, and the verdict on what it found.
    Shared by the blocking and the async forms, so both check and fail alike."""

    sink: Sink
    matcher: Matcher
    seconds: float
    done: Callable[[int], bool]
    verdict: Callable[[_Wait, list[CloudEvent], bool], str | None]

    @property
    def arguments(self) -> tuple[Callable[[CloudEvent], bool], Callable[[int], bool], float]:
        return self.matcher.matches, self.done, self.seconds

    @property
    def keys(self) -> list[tuple[str, str]]:
        """The indexed attribute values every match has (the log looks only at those)."""
        return [(name, v) for name in INDEXED if (v := self.matcher.required(name)) is not None]

    def judge(self, found: list[CloudEvent], ok: bool) -> list[CloudEvent]:
        __tracebackhide__ = True
        headline = self.verdict(self, found, ok)
        if headline is not None:
            near = None if headline.startswith("expected no event") else self.matcher
            raise AssertionError(self.sink._failure(headline, near))
        return found

    @classmethod
    def for_count(
        cls,
        sink: Sink,
        match: MatchArg,
        criteria: dict[str, Any],
        count: int,
        timeout: float | None,
    ) -> _Wait:
        check_whole("count", count, minimum=1)

        def verdict(wait: _Wait, found: list[CloudEvent], ok: bool) -> str | None:
            if ok:
                return None
            return (
                f"timed out after {wait.seconds:g}s waiting for {count}"
                f" event(s) {wait.matcher!r}; {len(found)} arrived"
            )

        matcher = combine(match, criteria)
        return cls(sink, matcher, sink._timeout(timeout), lambda n: n >= count, verdict)

    @classmethod
    def for_received(
        cls,
        sink: Sink,
        match: MatchArg,
        criteria: dict[str, Any],
        count: int | None,
        timeout: float | None,
    ) -> _Wait:
        if count is not None:
            check_whole("count", count, minimum=0)
        # count=0 is reached at once: it checks now, as assert_not_received() does (to
        # watch for a while, use assert_not_received(within=seconds))
        wanted = 1 if count is None else count

        def verdict(wait: _Wait, found: list[CloudEvent], ok: bool) -> str | None:
            if count is None and not found:
                return f"expected an event {wait.matcher!r}, none arrived"
            if count is not None and len(found) != count:
                return f"expected exactly {count} event(s) {wait.matcher!r}, got {len(found)}"
            return None

        matcher = combine(match, criteria)
        return cls(sink, matcher, sink._timeout(timeout), lambda n: n >= wanted, verdict)

    @classmethod
    def for_none(
        cls, sink: Sink, match: MatchArg, criteria: dict[str, Any], within: float
    ) -> _Wait:
        seconds = check_seconds("within", within)

        def verdict(wait: _Wait, found: list[CloudEvent], ok: bool) -> str | None:
            return f"expected no event {wait.matcher!r}, got {len(found)}" if found else None

        return cls(sink, combine(match, criteria), seconds, lambda n: n > 0, verdict)
