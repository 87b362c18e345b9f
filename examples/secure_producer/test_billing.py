"""The producer against an HTTPS receiver that checks a bearer token: the producer is given
the receiver's CA bundle, as a service is given its sink's (extra `tls`)."""

import pytest

pytest.importorskip("trustme", reason="TLS receivers need the tls extra")

import requests
from billing import PublishError, publish_invoice

from pytest_cloudevents import match


@pytest.fixture
def sink(make_ce_receiver, monkeypatch):
    receiver = make_ce_receiver(tls=True, auth="billing-token")
    monkeypatch.setenv("SINK_URL", receiver.url)
    monkeypatch.setenv("SINK_TOKEN", "billing-token")
    monkeypatch.setenv("SINK_CA_BUNDLE", receiver.ca_bundle)
    return receiver


def test_an_invoice_is_published_over_https_with_the_token(sink):
    publish_invoice("inv-1", 120)
    [event] = sink.assert_received(type="com.example.invoice.issued", count=1)
    assert event == match(subject="inv-1", data={"invoice": "inv-1", "amount": 120})
    assert sink.deliveries[0].tls.version.startswith("TLSv1.")


def test_a_wrong_token_is_refused_before_anything_else(sink, monkeypatch):
    monkeypatch.setenv("SINK_TOKEN", "stale-token")
    with pytest.raises(PublishError, match="401"):
        publish_invoice("inv-2", 5)
    sink.assert_rejected("unauthorized", count=1)
    sink.assert_not_received()


def test_without_the_ca_bundle_the_producer_cannot_connect(sink, monkeypatch):
    monkeypatch.delenv("SINK_CA_BUNDLE")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)  # the machine's own, if any
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(requests.exceptions.SSLError):
        publish_invoice("inv-3", 5)
    assert sink.deliveries == []


def test_mutual_tls_with_a_client_certificate(make_ce_receiver, monkeypatch):
    receiver = make_ce_receiver(tls="require-client-cert", auth="billing-token")
    cert = receiver.client_cert("billing")
    for name, value in {
        "SINK_URL": receiver.url,
        "SINK_TOKEN": "billing-token",
        "SINK_CA_BUNDLE": receiver.ca_bundle,
        "SINK_CLIENT_CERT": cert.cert,
        "SINK_CLIENT_KEY": cert.key,
    }.items():
        monkeypatch.setenv(name, value)
    publish_invoice("inv-4", 9)
    [delivery] = receiver.deliveries
    assert "CN=billing" in delivery.tls.peer
