"""The client axis of the parity suite: the same cases sent by `Client` and `AsyncClient`
over HTTP, and in-process to a WSGI and an ASGI app, reach the receiver and the mock with
the same results (status, outcome, violation codes, the recorded event).

For the in-process targets the apps are thin WSGI and ASGI shims that run a delivery app
over the endpoint's own `Recording`, so what the in-process transports put in arrives in
the same log as what came over the socket. Header names through WSGI reach the app as
environ keys (upper-cased, `_` for `-`): the cases here use names WSGI can carry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from pytest_cloudevents import AsyncClient, Client, EventFactory, Result, invalid_messages
from pytest_cloudevents.delivery.app import DeliveryApp
from pytest_cloudevents.delivery.driver import drive, drive_async
from pytest_cloudevents.delivery.exchange import Request
from pytest_cloudevents.expect.endpoint import Sink
from pytest_cloudevents.wire import Headers
from pytest_cloudevents.wire.message import Answer

CLIENTS = ("client", "async-client", "wsgi", "asgi")
ENDPOINTS = ("receiver", "mock")
MOCK_URL = "https://events.example.com/"


def _elapsed(hold: Any) -> Any:
    return "elapsed"


def wsgi_app(endpoint: Sink) -> Callable[..., Iterable[bytes]]:
    """A WSGI app that delivers into `endpoint`'s recording."""
    app = DeliveryApp(endpoint.recording)

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        pairs = [
            (key[5:].replace("_", "-").lower(), str(value))
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
            if environ.get(key):
                pairs.append((name, str(environ[key])))
        request = Request.from_http(
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO") or "/",
            Headers(pairs),
            body,
            max_body=app.max_body,
        )
        answer = drive(app.deliver(request), _elapsed)
        return _wsgi_answer(answer, start_response)

    return wsgi


def _wsgi_answer(answer: Answer, start_response: Any) -> list[bytes]:
    status = answer.status or 500
    start_response(f"{status} {Answer(status).reason}", answer.framed_headers())
    return [answer.body]


def asgi_app(endpoint: Sink) -> Callable[..., Any]:
    """An ASGI app that delivers into `endpoint`'s recording."""
    app = DeliveryApp(endpoint.recording)

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
        request = Request.from_http(
            scope["method"], scope["path"], headers, body, max_body=app.max_body
        )

        async def hold(step: Any) -> Any:
            return "elapsed"

        answer = await drive_async(app.deliver(request), hold)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status or 500,
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.framed_headers()
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    return asgi


@pytest.fixture(params=ENDPOINTS)
def endpoint(request: pytest.FixtureRequest) -> Sink:
    if request.param == "receiver":
        made: Sink = request.getfixturevalue("make_ce_receiver")()
        return made
    ce_mock = request.getfixturevalue("ce_mock")
    sink: Sink = ce_mock.sink(MOCK_URL)
    return sink


Send = Callable[[str, tuple[Any, ...], dict[str, Any]], Result]


@pytest.fixture(params=CLIENTS)
def send(request: pytest.FixtureRequest, endpoint: Sink) -> Iterator[Send]:
    """`send(method, args, kwargs)`: a client call, through the client kind under test."""
    kind = request.param
    url = getattr(endpoint, "url")  # noqa: B009 - every endpoint has one
    if kind in ("client", "wsgi"):
        target: Any = url if kind == "client" else wsgi_app(endpoint)
        with Client(target) as client:
            yield lambda name, args, kwargs: getattr(client, name)(*args, **kwargs)
        return
    target = url if kind == "async-client" else asgi_app(endpoint)

    def run(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Result:
        async def go() -> Result:
            async with AsyncClient(target) as client:
                result: Result = await getattr(client, name)(*args, **kwargs)
                return result

        return asyncio.run(go())

    yield run


def _verdict(endpoint: Sink, result: Result) -> tuple[Any, ...]:
    [delivery] = endpoint.deliveries
    return (result.outcome.value, result.status_code, delivery.outcome, tuple(delivery.codes))


FACTORY = EventFactory(25)


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_an_event_arrives_the_same_through_every_client(
    endpoint: Sink, send: Send, mode: str
) -> None:
    event = FACTORY.make("com.example.parity", data={"n": 1}, subject="s-1")
    result = send("send", (event,), {"mode": mode})
    assert _verdict(endpoint, result) == ("ACK", 202, "accepted", ())
    endpoint.assert_received(type="com.example.parity", subject="s-1", data={"n": 1}, count=1)


def test_a_header_override_wins_through_every_client(endpoint: Sink, send: Send) -> None:
    event = FACTORY.make("com.example.parity", source="/encoded")
    result = send("send", (event,), {"headers": {"CE-SOURCE": "/override", "X-Trace": "t1"}})
    assert _verdict(endpoint, result) == ("ACK", 202, "accepted", ())
    endpoint.assert_received(source="/override", count=1)
    [delivery] = endpoint.deliveries
    assert delivery.headers.get_all("ce-source") == ["/override"]
    assert delivery.headers["x-trace"] == "t1"


def test_a_batch_arrives_the_same_through_every_client(endpoint: Sink, send: Send) -> None:
    events = FACTORY.make_many(3, "com.example.batch")
    result = send("send_batch", (events,), {})
    assert _verdict(endpoint, result) == ("ACK", 202, "accepted", ())
    assert len(endpoint.assert_received(type="com.example.batch", count=3)) == 3


_CASES = [
    case
    for case in invalid_messages(max_body=1024)
    if not any("_" in name for name in case.headers)  # WSGI's environ cannot carry them
    and case.code not in ("body-too-large", "invalid-encoding", "unsupported-encoding")
]


@pytest.mark.parametrize("case", _CASES[:12], ids=lambda c: c.id)
def test_a_malformed_message_gets_the_same_verdict_through_every_client(
    endpoint: Sink, send: Send, case: Any
) -> None:
    result = send("send_raw", (case.headers, case.body), {})
    outcome, status, recorded, codes = _verdict(endpoint, result)
    assert (outcome, recorded) == ("NACK", "rejected")
    assert status in (400, 415) and case.code in codes
    endpoint.assert_rejected(case.code)
