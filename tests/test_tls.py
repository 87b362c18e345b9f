"""HTTPS receivers from a throwaway CA, mutual TLS and `auth=`: producers written with
requests, httpx and a separate process, the client's `verify`, and what gets recorded."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from pathlib import Path

import certifi
import httpx
import pytest
import requests
from helpers import binary

from pytest_cloudevents import (
    AsyncClient,
    Client,
    EventFactory,
    Receiver,
    assert_ack,
    assert_undelivered,
    faults,
)

pytest.importorskip("trustme", reason="TLS receivers need the tls extra")


def test_a_requests_producer_given_the_ca_bundle(make_ce_receiver: type[Receiver]) -> None:
    receiver = make_ce_receiver(tls=True)
    assert receiver.url.startswith("https://127.0.0.1:")
    assert Path(receiver.ca_bundle).read_text().startswith("-----BEGIN CERTIFICATE-----")
    answer = requests.post(receiver.url, headers=binary(), data=b"{}", verify=receiver.ca_bundle)
    assert answer.status_code == 202
    [delivery] = receiver.deliveries
    assert delivery.tls is not None and delivery.tls.version.startswith("TLSv1.")
    assert delivery.tls.peer is None  # no client certificate asked for
    with pytest.raises(requests.exceptions.SSLError):  # the public CAs do not know it
        requests.post(receiver.url, headers=binary(), data=b"{}", verify=certifi.where())


def test_an_httpx_producer_given_the_ca_bundle(make_ce_receiver: type[Receiver]) -> None:
    receiver = make_ce_receiver(tls=True)
    context = ssl.create_default_context(cafile=receiver.ca_bundle)
    with httpx.Client(verify=context) as client:
        assert client.post(receiver.url, headers=binary(), content=b"{}").status_code == 202
    receiver.assert_received(id="evt-1", count=1)


def test_a_producer_process_that_trusts_ssl_cert_file(make_ce_receiver: type[Receiver]) -> None:
    receiver = make_ce_receiver(tls=True)
    script = (
        "import sys, urllib.request\n"
        "headers = dict(h.split(': ', 1) for h in sys.argv[2:])\n"
        "request = urllib.request.Request(sys.argv[1], data=b'{}', headers=headers)\n"
        "print(urllib.request.urlopen(request, timeout=10).status)\n"
    )
    headers = [f"{k}: {v}" for k, v in binary(ce_id="from-a-process").items()]
    done = subprocess.run(
        [sys.executable, "-c", script, receiver.url, *headers],
        env={**os.environ, "SSL_CERT_FILE": receiver.ca_bundle},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.strip() == "202", done.stderr
    receiver.assert_received(id="from-a-process", count=1)


def test_mutual_tls_with_and_without_a_client_certificate(
    make_ce_receiver: type[Receiver],
) -> None:
    receiver = make_ce_receiver(tls="require-client-cert")
    cert = receiver.client_cert("billing-service")
    assert Path(cert.cert).exists() and Path(cert.key).exists() and cert == (cert.cert, cert.key)
    ok = requests.post(
        receiver.url, headers=binary(), data=b"{}", verify=receiver.ca_bundle, cert=cert
    )
    assert ok.status_code == 202
    [delivery] = receiver.deliveries
    assert delivery.tls is not None and delivery.tls.peer is not None
    assert "CN=billing-service" in delivery.tls.peer
    with pytest.raises(requests.exceptions.RequestException):
        requests.post(receiver.url, headers=binary(), data=b"{}", verify=receiver.ca_bundle)
    assert len(receiver.deliveries) == 1  # a refused handshake is no delivery


def test_curl_with_a_client_certificate(make_ce_receiver: type[Receiver]) -> None:
    curl = pytest.importorskip("shutil").which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    receiver = make_ce_receiver(tls="require-client-cert")
    cert = receiver.client_cert()
    args = [curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", receiver.ca_bundle]
    args += ["--cert", cert.cert, "--key", cert.key, "-d", "{}", receiver.url]
    for name, value in binary(ce_id="curl").items():
        args += ["-H", f"{name}: {value}"]
    assert subprocess.run(args, capture_output=True, text=True, timeout=30).stdout == "202"
    receiver.assert_received(id="curl", count=1)


def test_the_plugins_clients_trust_plugin_receivers(
    make_ce_receiver: type[Receiver], ce_client: Client, ce_events: EventFactory
) -> None:
    receiver = make_ce_receiver(tls=True)
    event = ce_events.make("com.example.order.created")
    assert_ack(ce_client.send(event, to=receiver.url))

    async def send() -> None:
        async with AsyncClient(receiver.url) as client:
            assert_ack(await client.send(event))

    asyncio.run(send())
    assert len(receiver.events) == 2


def test_a_client_not_given_the_ca_gets_a_readable_undelivered(
    make_ce_receiver: type[Receiver], ce_events: EventFactory
) -> None:
    receiver = make_ce_receiver(tls=True)
    with Client(receiver.url, verify=certifi.where()) as client:
        result = client.send(ce_events.make("com.example.order.created"))
    assert_undelivered(result, requests.exceptions.SSLError)
    assert "CERTIFICATE_VERIFY_FAILED" in result.describe()
    assert receiver.deliveries == []
    with pytest.raises(ValueError, match="is not a file"):
        Client(verify="/no/such/bundle.pem")
    with pytest.raises(TypeError, match="verify takes"):
        Client(verify=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "admitted"),
    [
        ({"Authorization": "Bearer t0k3n"}, True),
        ({"Authorization": "bearer t0k3n"}, True),
        ({"Authorization": "Bearer wrong"}, False),
        ({"Authorization": "Basic dDBrM246"}, False),
        ({}, False),
    ],
    ids=["right", "scheme-case", "wrong", "basic", "none"],
)
def test_a_bearer_token(
    make_ce_receiver: type[Receiver], headers: dict[str, str], admitted: bool
) -> None:
    receiver = make_ce_receiver(auth="t0k3n")
    receiver.inject(faults.status(503))  # never reached by a refused delivery
    answer = requests.post(receiver.url, headers={**binary(), **headers}, data=b"{}")
    if admitted:
        assert answer.status_code == 503
        return
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    [delivery] = receiver.assert_rejected("unauthorized", count=1)
    assert (delivery.outcome, delivery.status, delivery.events) == ("rejected", 401, [])


def test_an_auth_callable_sees_the_headers(make_ce_receiver: type[Receiver]) -> None:
    receiver = make_ce_receiver(auth=lambda headers: headers.get("x-api-key") == "k")
    assert requests.post(receiver.url, headers={**binary(), "X-Api-Key": "k"}).status_code == 202
    assert requests.post(receiver.url, headers=binary()).status_code == 401
    receiver.assert_rejected("unauthorized", count=1)


def test_an_auth_callable_that_raises_is_an_error(make_ce_receiver: type[Receiver]) -> None:
    def broken(headers: object) -> bool:
        raise RuntimeError("auth bug")

    receiver = make_ce_receiver(auth=broken)
    assert requests.post(receiver.url, headers=binary()).status_code == 500
    [(_, delivery)] = receiver.unchecked_problems()
    assert delivery.outcome == "error" and isinstance(delivery.error, RuntimeError)
    receiver.reset()


def test_wrong_tls_and_auth_arguments_say_what_to_pass() -> None:
    with pytest.raises(ValueError, match="'require-client-cert'"):
        Receiver(tls="yes")
    with pytest.raises(ValueError, match="bearer token"):
        Receiver(auth=" spaced ")
    with pytest.raises(TypeError, match="auth takes"):
        Receiver(auth=42)  # type: ignore[arg-type]
    with Receiver() as plain, pytest.raises(ValueError, match="tls=True"):
        _ = plain.ca_bundle


def test_unseen_401s_fail_the_test_and_ce_tls_serves_https(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests

        HEADERS = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s",
                   "ce-type": "com.example.t"}

        def test_https_session_receiver(ce_receiver, ce_client, ce_events):
            assert ce_receiver.url.startswith("https://")
            requests.post(ce_receiver.url, headers=HEADERS, verify=ce_receiver.ca_bundle)
            ce_receiver.assert_received(id="1", count=1)
            assert ce_client.send(ce_events.make("com.example.x"), to=ce_receiver.url).is_ack

        def test_an_unseen_401(make_ce_receiver):
            receiver = make_ce_receiver(auth="secret")
            requests.post(receiver.url, headers=HEADERS)
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "--ce-tls")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*was rejected and the test never checked it*", "*unauthorized*"])


def test_mock_sinks_take_auth_but_not_tls(ce_mock: object) -> None:
    sink = ce_mock.sink("https://events.example.com/", auth="k")  # type: ignore[attr-defined]
    assert requests.post(sink.url, headers=binary()).status_code == 401
    sink.assert_rejected("unauthorized")
    with pytest.raises(ValueError, match="no socket and so no TLS"):
        ce_mock.sink("https://other.example.com/", tls=True)  # type: ignore[attr-defined]
