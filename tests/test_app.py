"""The delivery application: one-way dispatch (rules -> handler -> default answer), user
code outside the plugin's locks, and whatever user code raises recorded as `error`.

Run against both hosts through the parity fixture: the real server and mock mode."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from helpers import attr, binary

from pytest_cloudevents import Delivery, Receiver, faults
from pytest_cloudevents.events import CloudEvent, new_event
from pytest_cloudevents.expect.endpoint import Sink


@pytest.fixture(params=["receiver", "mock"])
def endpoint(request: pytest.FixtureRequest) -> Sink:
    if request.param == "receiver":
        made: Receiver = request.getfixturevalue("make_ce_receiver")()
        return made
    sink: Sink = request.getfixturevalue("ce_mock").sink("https://app.example.com/")
    return sink


def post(sink: Sink, event_id: str = "evt-1", **kw: Any) -> requests.Response:
    url = sink.url_for("/")  # type: ignore[attr-defined]
    return requests.post(url, headers=binary(ce_id=event_id), data=b"{}", timeout=5, **kw)


def counting(result: object) -> tuple[list[CloudEvent], Callable[[CloudEvent], Any]]:
    calls: list[CloudEvent] = []

    def handler(event: CloudEvent) -> Any:
        calls.append(event)
        return result

    return calls, handler


@pytest.mark.parametrize("seconds", [0.0, 0.05])
def test_a_handler_returning_delay_is_called_once_then_acknowledged(
    endpoint: Sink, seconds: float
) -> None:
    """Before: the handler was re-dispatched after its own delay, 64 calls in 3 s, and
    delay(0) ended in RecursionError with nothing recorded."""
    calls, handler = counting(faults.delay(seconds))
    endpoint.handle(handler)
    assert post(endpoint).status_code == 202
    assert len(calls) == 1
    [delivery] = endpoint.deliveries
    assert (delivery.outcome, delivery.status, delivery.fault) == (
        "accepted",
        202,
        f"delay({seconds:g})",
    )


def test_a_handler_returning_delay_with_then_applies_the_then(endpoint: Sink) -> None:
    calls, handler = counting(faults.delay(0.01, then=faults.status(503)))
    endpoint.handle(handler)
    assert post(endpoint).status_code == 503
    assert len(calls) == 1
    assert endpoint.deliveries[0].outcome == "faulted"


def test_a_handler_returning_status_disconnect_or_reply(endpoint: Sink) -> None:
    _, handler = counting(faults.status(409, body="conflict"))
    endpoint.handle(handler)
    answer = post(endpoint, "a")
    assert (answer.status_code, answer.text) == (409, "conflict")

    _, handler = counting(faults.disconnect())
    endpoint.handle(handler)
    with pytest.raises(requests.ConnectionError):
        post(endpoint, "b")

    reply = new_event({"id": "r", "source": "/r", "type": "com.example.reply"}, {"ok": 1})
    _, handler = counting(faults.reply(reply, mode="structured", status=201))
    endpoint.handle(handler)
    answer = post(endpoint, "c")
    assert answer.status_code == 201 and answer.json()["id"] == "r"
    outcomes = [(d.outcome, d.status) for d in endpoint.deliveries]
    assert outcomes == [("faulted", 409), ("faulted", None), ("accepted", 201)]


def test_a_rule_delay_is_followed_by_the_handler_once(endpoint: Sink) -> None:
    endpoint.inject(faults.delay(0.01), times=1)
    calls, handler = counting(faults.status(418))
    endpoint.handle(handler)
    assert post(endpoint).status_code == 418
    assert len(calls) == 1
    assert endpoint.deliveries[0].fault == "delay(0.01)+status(418)"


def test_a_when_predicate_may_read_the_receiver(endpoint: Sink) -> None:
    """Before: predicates ran under the rule list's lock; one that touched the receiver
    deadlocked that delivery, every later one and the next reset()."""
    seen: list[int] = []

    def when(delivery: Delivery) -> bool:
        seen.append(len(endpoint.deliveries))
        endpoint.inject(faults.status(500), times=1, when=lambda d: False)
        return bool(attr(delivery.event, "id") == "hit")

    endpoint.inject(faults.status(503), when=when)
    done = threading.Event()
    answers: list[int] = []

    def send() -> None:
        answers.extend([post(endpoint, "hit").status_code, post(endpoint, "miss").status_code])
        done.set()

    threading.Thread(target=send, daemon=True).start()
    assert done.wait(10), "a predicate reading the receiver deadlocked the delivery"
    assert answers == [503, 202]
    assert seen == [1, 2]  # each delivery is in the log (pending) while the rule decides
    endpoint.reset()


@pytest.mark.parametrize(
    "raiser",
    [
        lambda: pytest.fail("consumer refused"),
        lambda: (_ for _ in ()).throw(SystemExit(3)),
        lambda: (_ for _ in ()).throw(KeyboardInterrupt()),
        lambda: {"present": 1}["missing"],
    ],
    ids=["pytest.fail", "SystemExit", "KeyboardInterrupt", "KeyError"],
)
def test_anything_a_handler_raises_is_an_error_delivery(
    endpoint: Sink, raiser: Callable[[], Any]
) -> None:
    """Hardening item 2: a BaseException (pytest.fail's Failed) dropped the connection,
    nothing was recorded, and the test passed."""
    endpoint.handle(lambda event: raiser())
    answer = post(endpoint)
    assert answer.status_code == 500 and "the handler raised" in answer.text
    [delivery] = endpoint.deliveries
    assert delivery.outcome == "error" and delivery.error is not None
    assert [n for n, _ in endpoint.unchecked_problems()] == [1]
    endpoint.reset()  # looked at: the after-test check would fail this test otherwise


def test_a_when_predicate_that_raises_is_an_error_delivery(endpoint: Sink) -> None:
    """Hardening item 3: werkzeug's HTML 500, nothing recorded, and the test passed."""
    endpoint.inject(faults.status(503), when=lambda d: 1 / 0 > 0)
    answer = post(endpoint)
    assert answer.status_code == 500 and "a when= predicate raised" in answer.text
    [delivery] = endpoint.deliveries
    assert delivery.outcome == "error" and isinstance(delivery.error, ZeroDivisionError)
    endpoint.reset()


def test_a_handler_returning_garbage_or_flaky_is_an_error(endpoint: Sink) -> None:
    endpoint.handle(lambda event: faults.flaky(0.5, faults.status(503)))  # type: ignore[arg-type,return-value]
    assert post(endpoint, "a").status_code == 500
    endpoint.handle(lambda event: 42)  # type: ignore[arg-type,return-value]
    assert post(endpoint, "b").status_code == 500
    errors = [str(d.error) for d in endpoint.deliveries]
    assert "not faults.flaky(...)" in errors[0] and "not 42" in errors[1]
    endpoint.reset()
