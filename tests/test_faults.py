"""Fault injection against a real `requests` client, and producer retries with urllib3."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest
import requests
from helpers import attr, binary
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from pytest_cloudevents import Receiver, faults
from pytest_cloudevents.events import CloudEvent, new_event
from pytest_cloudevents.wire import decode


def post(
    receiver: Receiver, event_id: str = "evt-1", path: str = "/", **kw: object
) -> requests.Response:
    return requests.post(receiver.url_for(path), headers=binary(ce_id=event_id), data=b"{}", **kw)  # type: ignore[arg-type]


def test_status_then_back_to_normal(ce_receiver: Receiver) -> None:
    rule = ce_receiver.inject(faults.status(503, body="busy", headers={"X-Why": "test"}), times=2)
    first, second, third = post(ce_receiver), post(ce_receiver), post(ce_receiver)
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 202]
    assert first.text == "busy" and first.headers["X-Why"] == "test"
    assert rule.hits == 2
    outcomes = [(d.outcome, d.status, d.fault) for d in ce_receiver.deliveries]
    assert outcomes == [
        ("faulted", 503, "status(503)"),
        ("faulted", 503, "status(503)"),
        ("accepted", 202, None),
    ]
    assert len(ce_receiver.events) == 1


def test_throttle_sends_retry_after(ce_receiver: Receiver) -> None:
    ce_receiver.inject(faults.throttle(retry_after=7), times=1)
    response = post(ce_receiver)
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    date = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
    ce_receiver.inject(faults.throttle(retry_after=date), times=1)
    assert post(ce_receiver).headers["Retry-After"] == "Tue, 01 Jan 2030 12:00:00 GMT"
    assert post(ce_receiver).status_code == 202


def test_disconnect_gives_a_connection_error_and_is_recorded(ce_receiver: Receiver) -> None:
    ce_receiver.inject(faults.disconnect(), times=1)
    with pytest.raises(requests.ConnectionError):
        post(ce_receiver, timeout=5)
    assert post(ce_receiver).status_code == 202
    first, second = ce_receiver.deliveries
    assert (first.outcome, first.status, first.fault) == ("faulted", None, "disconnect")
    assert attr(first.events[0], "id") == "evt-1"  # decoded before the fault applied
    assert second.outcome == "accepted"


def test_delay_then_normal_handling(ce_receiver: Receiver) -> None:
    ce_receiver.inject(faults.delay(0.2), times=1)
    started = time.monotonic()
    assert post(ce_receiver).status_code == 202
    assert time.monotonic() - started >= 0.2
    [delivery] = ce_receiver.deliveries
    assert (delivery.outcome, delivery.fault) == ("accepted", "delay(0.2)")


def test_delay_then_a_fault_and_a_read_timeout(ce_receiver: Receiver) -> None:
    ce_receiver.inject(faults.delay(0.05, then=faults.status(504)), times=1)
    assert post(ce_receiver).status_code == 504
    ce_receiver.inject(faults.delay(3), times=1)
    with pytest.raises(requests.ReadTimeout):
        post(ce_receiver, timeout=0.2)


def _arrival_signal(event_id: str) -> tuple[threading.Event, object]:
    """A `when` predicate that matches `event_id` and signals when such a delivery is in."""
    arrived = threading.Event()

    def when(delivery: object) -> bool:
        hit = any(attr(e, "id") == event_id for e in delivery.events)  # type: ignore[attr-defined]
        if hit:
            arrived.set()
        return hit

    return arrived, when


def test_delay_holds_only_its_delivery(ce_receiver: Receiver) -> None:
    arrived, when = _arrival_signal("slow")
    ce_receiver.inject(faults.delay(1.0), when=when)  # type: ignore[arg-type]
    results: dict[str, float] = {}

    def send_slow() -> None:
        started = time.monotonic()
        post(ce_receiver, "slow", timeout=5)
        results["slow"] = time.monotonic() - started

    thread = threading.Thread(target=send_slow)
    thread.start()
    assert arrived.wait(5)
    started = time.monotonic()
    assert post(ce_receiver, "fast", timeout=5).status_code == 202
    fast = time.monotonic() - started
    thread.join(5)
    assert fast < 0.9 < results["slow"]
    assert [attr(e, "id") for e in ce_receiver.events] == [
        "slow",
        "fast",
    ]  # arrival order


def _send_held(receiver: Receiver, seconds: float) -> tuple[threading.Thread, list[BaseException]]:
    """Send one event that a `delay(seconds)` holds; return once it is being held."""
    arrived, when = _arrival_signal("evt-1")
    receiver.inject(faults.delay(seconds), when=when)  # type: ignore[arg-type]
    errors: list[BaseException] = []

    def send() -> None:
        try:
            post(receiver, timeout=seconds + 5)
        except requests.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=send)
    thread.start()
    assert arrived.wait(5)
    return thread, errors


def test_reset_cuts_a_delay_short_and_never_records_it(ce_receiver: Receiver) -> None:
    thread, errors = _send_held(ce_receiver, 5)
    started = time.monotonic()
    ce_receiver.reset()
    thread.join(5)
    assert time.monotonic() - started < 1.0
    assert errors and isinstance(errors[0], requests.ConnectionError)
    assert ce_receiver.deliveries == []


def test_reply_answers_with_an_event(ce_receiver: Receiver) -> None:
    answer = new_event(
        {"id": "r-1", "source": "/payments", "type": "com.example.payment.requested"}, {"n": 1}
    )
    ce_receiver.inject(faults.reply(answer, mode="structured", status=201), times=1)
    response = post(ce_receiver)
    assert response.status_code == 201
    [event] = decode(dict(response.headers), response.content).events
    assert (attr(event, "id"), event.get_data()) == ("r-1", {"n": 1})
    assert ce_receiver.deliveries[0].outcome == "accepted"


def test_when_predicate_on_the_delivery_and_rule_order(ce_receiver: Receiver) -> None:
    ce_receiver.inject(faults.status(500), when=lambda d: d.path == "/a")
    ce_receiver.inject(faults.status(404))
    assert post(ce_receiver, path="/a").status_code == 500
    assert post(ce_receiver, path="/b").status_code == 404


def test_a_rejected_message_uses_up_no_rule(ce_receiver: Receiver) -> None:
    rule = ce_receiver.inject(faults.status(503), times=1)
    requests.post(ce_receiver.url, headers=binary(ce_id=None), data=b"{}")
    assert rule.hits == 0
    assert post(ce_receiver).status_code == 503
    ce_receiver.assert_rejected("missing-id")


def test_flaky_is_reproducible(make_ce_receiver) -> None:  # type: ignore[no-untyped-def]
    def run(seed: int) -> list[int]:
        receiver = make_ce_receiver()
        receiver.inject(faults.flaky(0.5, faults.status(503), seed=seed))
        return [post(receiver, f"e{i}").status_code for i in range(20)]

    first = run(42)
    assert first == run(42)
    assert set(first) == {202, 503}
    assert first != run(43)


def test_flaky_without_seed_takes_the_tests_seed(ce_receiver: Receiver) -> None:
    rule = ce_receiver.inject(faults.flaky(1.0, faults.status(500)))
    assert rule.fault.seed == ce_receiver.options.seed  # type: ignore[union-attr]
    assert post(ce_receiver).status_code == 500 and rule.hits == 1


def test_a_flaky_draw_that_does_not_fire_uses_nothing(ce_receiver: Receiver) -> None:
    never = ce_receiver.inject(faults.flaky(0.0, faults.status(500)), times=1)
    assert post(ce_receiver).status_code == 202
    assert never.hits == 0


def test_handler_can_answer_with_a_fault_or_a_reply(ce_receiver: Receiver) -> None:
    reply = new_event({"id": "r", "source": "/s", "type": "com.example.reply"}, None)
    ce_receiver.handle(lambda e: faults.status(409) if attr(e, "id") == "dup" else reply)
    assert post(ce_receiver, "dup").status_code == 409
    ok = post(ce_receiver, "new")
    assert ok.status_code == 200 and ok.headers["ce-id"] == "r"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: faults.status(99), "from 200 to 599"),
        (lambda: faults.throttle(-1), "whole number >= 0"),
        (lambda: faults.delay("1"), "number of seconds"),  # type: ignore[arg-type]
        (lambda: faults.flaky(2, faults.disconnect()), "between 0 and 1"),
        (lambda: faults.flaky(0.5, "503"), "wraps one fault"),  # type: ignore[arg-type]
        (lambda: faults.reply({"id": 1}), "takes a CloudEvent"),  # type: ignore[arg-type]
        # hardening, item 12: nothing invalid reaches the wire, nothing crashes later
        (lambda: faults.throttle(0.5), "whole seconds"),  # type: ignore[arg-type]
        (lambda: faults.throttle(float("inf")), "whole seconds"),  # type: ignore[arg-type]
        (lambda: faults.throttle(float("nan")), "whole seconds"),  # type: ignore[arg-type]
        (lambda: faults.delay(float("inf")), "finite number of seconds"),
        (lambda: faults.delay(1e10), "at most 86400"),
        (lambda: faults.delay(0.1, then=faults.flaky(0.5, faults.disconnect())), "flaky"),
        (lambda: faults.status(101), "1xx are not final"),
        (lambda: faults.status(204, body="x"), "has no body"),
        (lambda: faults.status(503, body=5), "bytes or str"),  # type: ignore[arg-type]
        (lambda: faults.status(503, headers=[("a", "b", "c")]), "dict of strings"),  # type: ignore[arg-type]
        (lambda: faults.status(503, headers={"X": "v\r\nX-Injected: yes"}), "CR, LF"),
        (lambda: faults.status(503, headers={"Content-Length": "9"}), "set by the server"),
        (lambda: faults.status(503, headers={"Bad Name": "v"}), "not a valid header name"),
        (lambda: faults.flaky("0.5", faults.disconnect()), "number from 0 to 1"),  # type: ignore[arg-type]
        (lambda: faults.flaky(None, faults.disconnect()), "number from 0 to 1"),  # type: ignore[arg-type]
        (lambda: faults.flaky(True, faults.disconnect()), "number from 0 to 1"),
        (lambda: faults.flaky(2.0, faults.disconnect()), "between 0 and 1"),
        (lambda: faults.flaky(float("nan"), faults.disconnect()), "between 0 and 1"),
        (lambda: faults.reply(_event(datacontenttype="a/b\r\nSet-Cookie: x=1")), "CR, LF"),
        (lambda: faults.reply(_event(), mode=""), "'binary' or 'structured'"),
    ],
)
def test_wrong_fault_arguments_say_what_to_pass(build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((TypeError, ValueError), match=message):
        build()


def test_inject_checks_its_arguments(ce_receiver: Receiver) -> None:
    with pytest.raises(TypeError, match=r"fault from pytest_cloudevents\.faults"):
        ce_receiver.inject(503)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole number >= 1"):
        ce_receiver.inject(faults.disconnect(), times=0)


def _event(**attributes: str) -> CloudEvent:
    base = {"id": "r", "source": "/r", "type": "com.example.reply", **attributes}
    return new_event(base, None)


def test_a_handler_reply_with_a_forged_header_is_an_error_not_sent(ce_receiver: Receiver) -> None:
    """Hardening, item 12: in lax mode a sender's datacontenttype could reach a reply's
    Content-Type; a reply that would forge a header is refused, never written."""
    ce_receiver.handle(lambda e: _event(datacontenttype="a/b\r\nSet-Cookie: x=1"))
    response = post(ce_receiver)
    assert response.status_code == 500 and "Set-Cookie" not in response.headers
    [delivery] = ce_receiver.deliveries
    assert delivery.outcome == "error" and "CR, LF" in str(delivery.error)
    ce_receiver.reset()


def _session(total: int, backoff: float, statuses: set[int]) -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=total,
        backoff_factor=backoff,
        status_forcelist=sorted(statuses),
        allowed_methods=None,  # retry POST too
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def test_a_producer_with_urllib3_retries_backs_off_as_configured(ce_receiver: Receiver) -> None:
    ce_receiver.inject(faults.status(503), times=2)
    with _session(total=5, backoff=0.2, statuses={503}) as session:
        response = session.post(ce_receiver.url, headers=binary(ce_id="order-1"), data=b"{}")
    assert response.status_code == 202
    attempts = ce_receiver.attempts("order-1")
    assert attempts.count == 3
    assert attempts.statuses == [503, 503, 202]
    assert len(ce_receiver.matching(id="order-1")) == 1
    # urllib3 2: no sleep before the first retry, then backoff_factor * 2 ** (n - 1).
    assert attempts.gaps == [pytest.approx(0.0, abs=0.15), pytest.approx(0.4, abs=0.15)]


def test_a_producer_honours_retry_after(ce_receiver: Receiver) -> None:
    ce_receiver.inject(faults.throttle(retry_after=1), times=1)
    with _session(total=3, backoff=0.0, statuses={429}) as session:
        response = session.post(ce_receiver.url, headers=binary(ce_id="t-1"), data=b"{}")
    assert response.status_code == 202
    attempts = ce_receiver.attempts("t-1")
    assert attempts.statuses == [429, 202]
    assert attempts.gaps[0] >= 1.0


def test_stop_cuts_in_flight_delays_and_stays_under_a_second() -> None:
    receiver = Receiver()
    thread, errors = _send_held(receiver, 30)
    started = time.monotonic()
    receiver.stop()
    assert time.monotonic() - started < 1.0
    thread.join(5)
    assert errors and isinstance(errors[0], requests.ConnectionError)
