"""Delivering to WSGI and ASGI apps in-process: the same bytes go in and the same Result
comes out as over a socket, retries included, for Client and AsyncClient."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from flask import Flask
from flask import request as flask_request
from helpers import attr

from pytest_cloudevents import (
    AsyncClient,
    Client,
    EventFactory,
    assert_ack,
    assert_nack,
    faults,
    retry,
)
from pytest_cloudevents.events import CloudEvent
from pytest_cloudevents.send.transports import as_app
from pytest_cloudevents.wire import decode

ORDER = "com.example.order.created"
Seen = list[tuple[str, dict[str, str], bytes]]


def flask_app(seen: Seen, statuses: list[int]) -> Flask:
    app = Flask("consumer")

    @app.post("/")
    @app.post("/events")
    def receive() -> tuple[bytes, int]:
        seen.append((flask_request.path, dict(flask_request.headers), flask_request.get_data()))
        return b"", statuses.pop(0) if statuses else 204

    return app


def fastapi_app(seen: Seen, statuses: list[int]) -> FastAPI:
    app = FastAPI()

    @app.post("/")
    @app.post("/events")
    async def receive(request: Request) -> Response:
        seen.append((request.url.path, dict(request.headers), await request.body()))
        return Response(status_code=statuses.pop(0) if statuses else 204)

    return app


def wsgi_function(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("202 Accepted", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode()]


MAKERS = {"flask": flask_app, "fastapi": fastapi_app}


@pytest.fixture
def event(ce_events: EventFactory) -> CloudEvent:
    return ce_events.make(ORDER, data={"total": 3})


def test_apps_are_told_apart() -> None:
    assert as_app(flask_app([], [])).kind == "wsgi"  # type: ignore[union-attr]
    assert as_app(fastapi_app([], [])).kind == "asgi"  # type: ignore[union-attr]
    assert as_app(wsgi_function).kind == "wsgi"  # type: ignore[union-attr]
    assert as_app("http://x/") is None and as_app(42) is None and as_app(dict) is None


@pytest.mark.parametrize("framework", sorted(MAKERS))
@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_the_app_gets_the_bytes_a_socket_would_carry(
    framework: str, mode: str, event: CloudEvent, ce_client: Client
) -> None:
    seen: Seen = []
    app = MAKERS[framework](seen, [])
    assert_ack(ce_client.send(event, to=app, mode=mode, path="/events"))
    [(path, headers, body)] = seen
    [decoded] = decode(headers, body).events
    assert path == "/events"
    assert attr(decoded, "id") == attr(event, "id") and decoded.get_data() == {"total": 3}


@pytest.mark.parametrize("framework", sorted(MAKERS))
def test_retries_and_attempts_through_an_app(framework: str, event: CloudEvent) -> None:
    seen: Seen = []
    app = MAKERS[framework](seen, [503, 503])
    with Client(app, retry=retry.knative(3, delay=0.0)) as client:
        result = client.send(event)
    assert_ack(result)
    assert result.attempts == 3 and len(seen) == 3
    assert result.url == "http://testserver/"


@pytest.mark.parametrize("framework", sorted(MAKERS))
def test_the_async_client_delivers_to_both_kinds(
    framework: str, event: CloudEvent, ce_events: EventFactory
) -> None:
    seen: Seen = []
    app = MAKERS[framework](seen, [409])

    async def scenario() -> None:
        async with AsyncClient(app, retry=2) as client:
            assert_ack(await client.send(event))  # 409 is in Knative's retry set
            assert_ack(await client.send_batch([ce_events.make(ORDER) for _ in range(2)]))
            refused = await client.send_raw({"content-type": "text/plain"}, b"x", path="/nope")
            assert_nack(refused, status=404)

    asyncio.run(scenario())
    assert [p for p, _, _ in seen] == ["/", "/", "/"]
    assert json.loads(seen[2][2])[0]["type"] == ORDER


def test_a_plain_wsgi_callable_and_its_reply(ce_client: Client, event: CloudEvent) -> None:
    result = ce_client.send(event, to=wsgi_function, path="/hooks/a?x=1")
    assert (result.status_code, result.body) == (202, b"/hooks/a")


def test_a_reply_event_from_an_app(ce_client: Client, ce_events: EventFactory) -> None:
    answer = ce_events.make("com.example.reply", data={"ok": True})
    app = FastAPI()

    @app.post("/")
    async def reply() -> Response:
        from pytest_cloudevents.wire import encode

        headers, body = encode(answer, "binary")
        return Response(content=body, headers=headers, status_code=200)

    got, result = ce_client.request(ce_events.make(ORDER), to=app)
    assert_ack(result)
    assert got is not None and attr(got, "id") == attr(answer, "id")


def test_what_the_app_raises_reaches_the_test(ce_client: Client, event: CloudEvent) -> None:
    app = Flask("broken")
    app.testing = True  # Flask then propagates exceptions, as its test client does

    @app.post("/")
    def boom() -> str:
        raise LookupError("consumer bug")

    with pytest.raises(LookupError, match="consumer bug"):
        ce_client.send(event, to=app)


def test_faults_of_a_mock_do_not_apply_to_apps(ce_mock: Any, event: CloudEvent) -> None:
    sink = ce_mock.sink("https://events.example.com/")
    sink.inject(faults.status(500))
    seen: Seen = []
    with Client(flask_app(seen, [])) as client:
        assert_ack(client.send(event))
    assert sink.deliveries == [] and len(seen) == 1


def test_wrong_path_values_say_what_to_pass(ce_client: Client, event: CloudEvent) -> None:
    with pytest.raises(ValueError, match="path must start with '/'"):
        ce_client.send(event, to=wsgi_function, path="events")
