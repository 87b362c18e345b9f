"""One set of test bodies, run against the real receiver and against a mock-mode sink,
each sent through requests, httpx (sync and async) and aiohttp."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
from helpers import attr, binary, structured
from requests.adapters import HTTPAdapter
from standalone import Served, serve
from test_wire import INVALID, VALID, Case
from transports import LIBRARIES, Http, http_for
from urllib3.util import Retry

from pytest_cloudevents import (
    AsyncClient,
    Client,
    EventFactory,
    RemoteReceiver,
    assert_ack,
    assert_nack,
    assert_undelivered,
    faults,
    match,
    retry,
)
from pytest_cloudevents.events import CloudEvent
from pytest_cloudevents.expect.endpoint import Sink
from pytest_cloudevents.send.client import Result
from pytest_cloudevents.tls import trusted_bundle
from pytest_cloudevents.wire import decode

MOCK_URL = "https://events.example.com/"
#: The SDK matrix (nox sets CE_PARITY=short) runs these bodies in fewer combinations: the
#: endpoint modes and the HTTP libraries do not depend on the SDK generation, and `make
#: test` runs every combination.
SHORT = os.environ.get("CE_PARITY") == "short"
MODES = ["receiver", "mock"] if SHORT else ["receiver", "tls", "mock", "remote"]
CLIENTS = ("requests", "httpx-async") if SHORT else LIBRARIES


@pytest.fixture(scope="session")
def standalones() -> Iterator[dict[tuple[str, ...], Served]]:
    """Standalone receivers in subprocesses, one per set of serve options, for the session."""
    running: dict[tuple[str, ...], Served] = {}
    yield running
    for served in running.values():
        served.stop()


def _serve_args(options: dict[str, Any]) -> tuple[str, ...]:
    args: list[str] = []
    if "max_body" in options:
        args += ["--max-body", str(options.pop("max_body"))]
    if options.pop("strict", True) is False:
        args.append("--lax")
    return tuple(args)


@pytest.fixture(params=MODES)
def make_endpoint(request: pytest.FixtureRequest) -> Iterator[Callable[..., Sink]]:
    """Make a receiver (over HTTP or HTTPS), a mock sink, or a RemoteReceiver of a
    standalone receiver in a subprocess, with the given options."""
    if request.param == "receiver":
        yield request.getfixturevalue("make_ce_receiver")
        return
    if request.param == "tls":
        make_receiver = request.getfixturevalue("make_ce_receiver")
        yield lambda **options: make_receiver(tls=True, **options)
        return
    if request.param == "remote":
        running = request.getfixturevalue("standalones")
        remotes: list[RemoteReceiver] = []

        def remote(**options: Any) -> Sink:
            args = _serve_args(options)
            if args not in running:
                running[args] = serve(*args)
            sink = RemoteReceiver(running[args].url, **options)
            sink.reset()
            remotes.append(sink)
            return sink

        yield remote
        for sink in remotes:
            sink.close()
        return
    ce_mock = request.getfixturevalue("ce_mock")
    made: list[int] = []

    def make(**options: Any) -> Sink:
        made.append(1)
        return ce_mock.sink(f"https://events{len(made)}.example.com/", **options)  # type: ignore[no-any-return]

    yield make


def handles(endpoint: Sink, fn: Any) -> bool:
    """Install a handler; a remote endpoint must refuse it with a clear error (False)."""
    if isinstance(endpoint, RemoteReceiver):
        with pytest.raises(TypeError, match="cannot run a Python handler"):
            endpoint.handle(fn)
        return False
    endpoint.handle(fn)
    return True


@pytest.fixture(params=CLIENTS)
def http(request: pytest.FixtureRequest) -> Http:
    """The HTTP library the producer sends with."""
    return http_for(request.param)


@pytest.fixture
def endpoint(make_endpoint: Callable[..., Sink]) -> Sink:
    return make_endpoint()


def url(sink: Sink, path: str = "/") -> str:
    return sink.url_for(path)  # type: ignore[attr-defined,no-any-return]


def test_receive_every_mode_and_assert(endpoint: Sink, http: Http) -> None:
    assert http.post(url(endpoint, "/a"), headers=binary(), data=b'{"n": 1}').status_code == 202
    headers, body = structured(id="evt-2", data={"n": 2})
    assert http.post(url(endpoint), headers=headers, data=body).status_code == 202
    batch = json.dumps([json.loads(structured(id=f"b-{i}")[1]) for i in range(2)])
    batch_headers = {"content-type": "application/cloudevents-batch+json"}
    assert http.post(url(endpoint), headers=batch_headers, data=batch).status_code == 202
    assert [d.mode for d in endpoint.deliveries] == ["binary", "structured", "batch"]
    assert endpoint.deliveries[0].path == "/a"
    [first] = endpoint.assert_received(id="evt-1", count=1)
    assert first == match(data={"n": 1})
    assert len(endpoint.wait_for(type="com.example.test", count=4)) == 4
    endpoint.assert_not_received(type="com.example.other")


def test_reject_and_assert_rejected(endpoint: Sink, http: Http) -> None:
    response = http.post(url(endpoint), headers=binary(ce_id=None), data=b"{}")
    assert response.status_code == 400 and "missing-id" in response.text
    [delivery] = endpoint.assert_rejected("missing-id", count=1)
    assert delivery.status == 400


def test_body_too_large(make_endpoint: Callable[..., Sink], http: Http) -> None:
    sink = make_endpoint(max_body=64)
    response = http.post(url(sink), headers=binary(), data=b"x" * 100)
    assert response.status_code == 413
    sink.assert_rejected("body-too-large")


def test_head_options_and_405(endpoint: Sink, http: Http) -> None:
    assert http.request("HEAD", url(endpoint)).status_code == 200
    options = http.request(
        "OPTIONS", url(endpoint), headers={"WebHook-Request-Origin": "a.example.com"}
    )
    assert options.headers["WebHook-Allowed-Origin"] == "a.example.com"
    assert http.request("GET", url(endpoint)).status_code == 405
    assert endpoint.deliveries == []


def test_status_and_throttle_faults(endpoint: Sink, http: Http) -> None:
    endpoint.inject(faults.status(503, body="busy"), times=1)
    endpoint.inject(faults.throttle(retry_after=4), times=1)
    first = http.post(url(endpoint), headers=binary(), data=b"{}")
    second = http.post(url(endpoint), headers=binary(), data=b"{}")
    third = http.post(url(endpoint), headers=binary(), data=b"{}")
    assert (first.status_code, first.text) == (503, "busy")
    assert (second.status_code, second.headers["Retry-After"]) == (429, "4")
    assert third.status_code == 202
    assert [d.outcome for d in endpoint.deliveries] == ["faulted", "faulted", "accepted"]


def test_disconnect_fault(endpoint: Sink, http: Http) -> None:
    endpoint.inject(faults.disconnect(), times=1)
    with pytest.raises(http.disconnected):
        http.post(url(endpoint), headers=binary(), data=b"{}", timeout=5)
    [delivery] = endpoint.deliveries
    assert (delivery.status, delivery.fault) == (None, "disconnect")


def test_delay_fault_and_timeout(endpoint: Sink, http: Http) -> None:
    endpoint.inject(faults.delay(0.05), times=1)
    assert http.post(url(endpoint), headers=binary(), data=b"{}", timeout=5).status_code == 202
    assert endpoint.deliveries[0].fault == "delay(0.05)"
    endpoint.inject(faults.delay(2), times=1)
    with pytest.raises(http.timed_out):
        http.post(url(endpoint), headers=binary(ce_id="late"), data=b"{}", timeout=0.1)


def test_reply_fault(endpoint: Sink, ce_events: EventFactory, http: Http) -> None:
    answer = ce_events.make("com.example.reply", data={"ok": True})
    endpoint.inject(faults.reply(answer, mode="structured"))
    response = http.post(url(endpoint), headers=binary(), data=b"{}")
    [event] = decode(dict(response.headers), response.content).events
    assert attr(event, "id") == attr(answer, "id")


def test_attempts_with_urllib3_retries(endpoint: Sink) -> None:
    endpoint.inject(faults.status(503), times=2)
    session = requests.Session()
    retry = Retry(total=3, backoff_factor=0, status_forcelist=[503], allowed_methods=None)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    with session:
        assert (
            session.post(
                url(endpoint),
                headers=binary(ce_id="r-1"),
                data=b"{}",
                verify=trusted_bundle() or True,  # the plugin's CA, for the TLS mode
            ).status_code
            == 202
        )
    attempts = endpoint.attempts("r-1")
    assert (attempts.count, attempts.statuses) == (3, [503, 503, 202])
    assert len(attempts.gaps) == 2


def test_attempts_with_the_async_clients_retry(endpoint: Sink) -> None:
    endpoint.inject(faults.status(503), times=2)

    async def send() -> Result:
        async with AsyncClient(url(endpoint), retry=retry.knative(3, delay=0.0)) as client:
            return await client.send_raw(binary(ce_id="r-1"), b"{}")

    result = asyncio.run(send())
    assert (result.status_code, result.attempts) == (202, 3)
    assert endpoint.attempts("r-1").statuses == [503, 503, 202]


def test_request_reply_through_the_async_client(endpoint: Sink, ce_events: EventFactory) -> None:
    order = ce_events.make("com.example.order.created", data={"total": 3})
    if not handles(
        endpoint,
        lambda e: ce_events.make("com.example.payment.requested", data={"for": attr(e, "id")}),
    ):
        return

    async def scenario() -> None:
        async with AsyncClient(url(endpoint)) as client:
            for mode in ("binary", "structured"):
                reply, result = await client.request(order, mode=mode)
                assert_ack(result)
                assert reply is not None and reply.get_data() == {"for": attr(order, "id")}
            endpoint.handle(lambda e: faults.status(409))
            assert_nack(await client.send(order), status=409)
            endpoint.handle(lambda e: faults.disconnect())
            assert_undelivered(await client.send(order), httpx.RemoteProtocolError)

    asyncio.run(scenario())


def test_request_reply_through_the_client(endpoint: Sink, ce_events: EventFactory) -> None:
    order = ce_events.make("com.example.order.created", data={"total": 3})

    def pay(event: CloudEvent) -> CloudEvent:
        return ce_events.make("com.example.payment.requested", data={"for": attr(event, "id")})

    if not handles(endpoint, pay):
        return
    with Client(url(endpoint), retry=2) as client:
        for mode in ("binary", "structured"):
            reply, result = client.request(order, mode=mode)
            assert_ack(result)
            assert reply is not None and reply.get_data() == {"for": attr(order, "id")}
        endpoint.handle(lambda e: faults.status(409))
        assert_nack(client.send(order), status=409)
        endpoint.handle(lambda e: faults.disconnect())
        assert_undelivered(client.send(order), requests.ConnectionError)


def test_handler_errors(endpoint: Sink, http: Http) -> None:
    def broken(event: CloudEvent) -> None:
        raise ValueError("bug")

    if not handles(endpoint, broken):
        return
    assert http.post(url(endpoint), headers=binary(), data=b"{}").status_code == 500
    [(_, delivery)] = endpoint.unchecked_problems()
    assert isinstance(delivery.error, ValueError)
    endpoint.reset()  # the test looked at it; the after-test check would fail otherwise


def test_lax_mode(make_endpoint: Callable[..., Sink], http: Http) -> None:
    sink = make_endpoint(strict=False)
    response = http.post(url(sink), headers=binary(ce_time="yesterday"), data=b"{}")
    assert response.status_code == 202
    assert [w.code for w in sink.deliveries[0].warnings] == ["time-not-rfc3339"]


@pytest.mark.parametrize("case", [*VALID, *INVALID], ids=lambda c: c.id)
def test_every_wire_table_case_gets_the_same_verdict_live_and_mocked(
    make_endpoint: Callable[..., Sink], case: Case, http: Http
) -> None:
    """The wire table's cases, sent over HTTP: the receiver and mock mode both see every
    header as sent and agree with `decode` (conformance items 1-5)."""
    if http.name != "aiohttp" and any(v != v.strip() for v in case.headers.values()):
        pytest.skip("requests and httpx refuse header values with surrounding whitespace")
    endpoint = make_endpoint(check_rejected=False)
    response = http.post(url(endpoint), headers=case.headers, data=case.body, timeout=10)
    [delivery] = endpoint.deliveries
    if case.code is None:
        assert response.status_code == 202, response.text
        assert delivery.outcome == "accepted" and len(delivery.events) == case.count
    else:
        assert response.status_code in (400, 415), response.text
        assert case.code in delivery.codes


def test_compressed_bodies_are_decoded(endpoint: Sink, http: Http) -> None:
    body = json.dumps({"lines": ["x"] * 300}).encode()
    for coding, packed in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body))):
        headers = {**binary(ce_id=coding), "content-encoding": coding}
        assert http.post(url(endpoint), headers=headers, data=packed).status_code == 202
    refused = http.post(
        url(endpoint), headers={**binary(ce_id="br"), "content-encoding": "br"}, data=b"x"
    )
    assert refused.status_code == 415
    endpoint.assert_rejected("unsupported-encoding", count=1)
    assert [d.content_encoding for d in endpoint.deliveries] == ["gzip", "deflate", "br"]
    assert endpoint.deliveries[0].body == body  # the decoded body is what is recorded
    assert endpoint.events[0].get_data() == {"lines": ["x"] * 300}
