"""The proxy (`Receiver(forward=URL)`, `serve --forward URL`): a receiver between a real
producer and a real consumer, fault rules first, the consumer's answer returned and
recorded with the delivery."""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap

import pytest
import requests
from helpers import binary
from standalone import serve

from pytest_cloudevents import Client, Receiver, RemoteReceiver, faults
from pytest_cloudevents.delivery.forward import target_url
from pytest_cloudevents.events import build

#: A producer as real services write one: requests with urllib3's retry of 503s.
PRODUCER = textwrap.dedent(
    """
    import sys
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    retry = Retry(total=3, status_forcelist=[503], allowed_methods=None, backoff_factor=0)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "order-1",
        "ce-source": "/shop",
        "ce-type": "com.example.order.placed",
        "content-type": "application/json",
    }
    response = session.post(sys.argv[1] + "orders", headers=headers, data=b'{"total": 5}')
    print(response.status_code, response.text)
    """
)


def test_a_producers_retry_through_the_proxy_reaches_the_consumer_once() -> None:
    with Receiver() as consumer, Receiver(forward=consumer.url) as proxy:
        proxy.inject(faults.status(503), times=1)
        ran = subprocess.run(
            [sys.executable, "-c", PRODUCER, proxy.url],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert ran.stdout.split()[0] == "202"  # the consumer's answer came back
        # the consumer got the event once: the retry, not the faulted first attempt
        consumer.assert_received(id="order-1", count=1)
        (delivered,) = consumer.deliveries
        assert delivered.path == "/orders" and delivered.body == b'{"total": 5}'
        # both legs recorded at the proxy: the injected 503, then the forwarded retry
        first, second = proxy.deliveries
        assert (first.outcome, first.status, first.fault, first.forwarded) == (
            "faulted",
            503,
            "status(503)",
            None,
        )
        assert (second.outcome, second.status) == ("accepted", 202)
        assert second.forwarded is not None and second.forwarded.status == 202
        assert second.forwarded.url == consumer.url + "orders"
        assert proxy.attempts("order-1").statuses == [503, 202]


def test_the_consumers_answer_is_returned_and_recorded_whatever_it_is() -> None:
    reply = build({"specversion": "1.0", "id": "r-1", "source": "/c", "type": "reply"}, {"ok": 1})
    with Receiver() as consumer, Receiver(forward=consumer.url) as proxy:
        consumer.handle(lambda event: reply)
        got = requests.post(proxy.url, headers=binary(), data=b"{}")
        assert got.status_code == 200 and got.headers["ce-id"] == "r-1"
        assert got.json() == {"ok": 1}
        forwarded = proxy.deliveries[0].forwarded
        assert forwarded is not None and forwarded.headers["ce-id"] == "r-1"
        assert forwarded.reply == b'{"ok":1}'
        # a refusal of the consumer is the producer's answer, recorded as faulted "forward"
        consumer.handle(None)
        consumer.inject(faults.status(409, body="taken"))
        got = requests.post(proxy.url, headers=binary(ce_id="evt-2"), data=b"{}")
        assert (got.status_code, got.text) == (409, "taken")
        last = proxy.deliveries[-1]
        assert (last.outcome, last.fault, last.status) == ("faulted", "forward", 409)
        # a rejected message never reaches the consumer
        got = requests.post(proxy.url, headers=binary(ce_id=None), data=b"{}")
        assert got.status_code == 400 and len(consumer.deliveries) == 2
        # faults apply first: a delay then the consumer's answer
        consumer.reset()
        proxy.inject(faults.delay(0.05), times=1)
        assert requests.post(proxy.url, headers=binary(), data=b"{}").status_code == 202
        assert proxy.deliveries[-1].fault == "delay(0.05)"
        assert len(consumer.deliveries) == 1


def test_what_travels_is_the_request_as_received_without_its_hop_by_hop_headers() -> None:
    with Receiver() as consumer, Receiver(forward=consumer.url + "base/") as proxy:
        headers = binary(content_encoding="gzip", x_trace="t-1", connection="keep-alive")
        got = requests.post(
            proxy.url + "deep/path?x=1&y=2", headers=headers, data=gzip.compress(b'{"a": 1}')
        )
        assert got.status_code == 202
        (delivered,) = consumer.deliveries
        assert (delivered.path, delivered.query) == ("/base/deep/path", "x=1&y=2")
        # the proxy inflated it: the consumer gets the same content, without the coding
        assert delivered.body == b'{"a": 1}' and "content-encoding" not in delivered.headers
        assert delivered.headers["x-trace"] == "t-1"
        assert consumer.events[0].get_attributes()["id"] == "evt-1"


def test_an_unreachable_consumer_is_a_502_recorded_with_the_error() -> None:
    with Receiver(forward="http://127.0.0.1:9/", forward_timeout=2.0) as proxy:
        got = requests.post(proxy.url, headers=binary(), data=b"{}")
        assert got.status_code == 502 and "did not answer" in got.text
        (delivery,) = proxy.deliveries
        assert (delivery.outcome, delivery.fault) == ("faulted", "forward")
        assert delivery.forwarded is not None and delivery.forwarded.status is None
        assert "Connection" in (delivery.forwarded.error or "")
        assert "forwarded=" in delivery.summary()


@pytest.mark.parametrize(
    ("given", "error", "says"),
    [
        (8080, TypeError, "forward takes the consumer's URL"),
        ("ftp://host/", ValueError, "http:// or https://"),
        ("http:///nohost", ValueError, "http:// or https://"),
    ],
)
def test_a_wrong_forward_is_refused_at_the_call(
    given: object, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        Receiver(forward=given)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("base", "path", "query", "url"),
    [
        ("http://c:8080", "/", "", "http://c:8080/"),
        ("http://c:8080/", "/x", "a=1", "http://c:8080/x?a=1"),
        ("http://c:8080/in", "/", "", "http://c:8080/in"),
        ("http://c:8080/in/", "/x/y", "", "http://c:8080/in/x/y"),
        ("http://c:8080/in?k=v", "/x", "a=1", "http://c:8080/in/x?k=v&a=1"),
    ],
)
def test_the_request_path_goes_under_the_consumers_url(
    base: str, path: str, query: str, url: str
) -> None:
    assert target_url(base, path, query) == url


def test_serve_forward_proxies_and_the_control_api_shows_the_forwarded_answer() -> None:
    with Receiver() as consumer:
        served = serve("--forward", consumer.url)
        try:
            with RemoteReceiver(served.url) as remote, Client(served.url) as client:
                remote.inject(faults.status(503), times=1)
                event = build(
                    {"specversion": "1.0", "id": "e-1", "source": "/s", "type": "t"}, None
                )
                assert client.send(event).status == 503
                assert client.send(event).status == 202
                consumer.assert_received(id="e-1", count=1)
                first, second = remote.deliveries
                assert first.forwarded is None and second.forwarded is not None
                assert second.forwarded.status == 202 and second.forwarded.url == consumer.url
        finally:
            assert served.stop() == 0


def test_make_ce_receiver_proxies_in_a_users_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_cloudevents import faults

        def test_retry_reaches_the_consumer_once(make_ce_receiver, ce_client, ce_events):
            consumer = make_ce_receiver()
            proxy = make_ce_receiver(forward=consumer.url)
            proxy.inject(faults.status(503), times=1)
            event = ce_events.make("com.example.order")
            assert ce_client.send(event, to=proxy.url).status == 503
            assert ce_client.send(event, to=proxy.url).is_ack
            consumer.assert_received(type="com.example.order", count=1)
            assert proxy.deliveries[-1].forwarded.status == 202

        def test_a_misspelt_keyword_is_refused(make_ce_receiver):
            make_ce_receiver(foward="http://127.0.0.1:1/")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.re_match_lines([r".*unknown receiver option\(s\) \['foward'\].*"])
