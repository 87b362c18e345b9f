"""The webhook recipe: the producer meets a receiver that speaks the CloudEvents webhook
spec (the handshake, a Bearer token, 429 with Retry-After past its rate), and the consumer
is delivered to as the spec's sender delivers (consent first, 410 stops)."""

import pytest
from alerts import INBOX, ORIGIN, create_inbox, push_alert

from pytest_cloudevents import faults, platforms

SENDER = platforms.webhook(origin=ORIGIN)


def test_the_producer_asks_for_consent_and_sends(make_ce_receiver):
    hook = make_ce_receiver(platform="webhook", origins=(ORIGIN,), token="t0k")
    assert push_alert(hook.url, "disk full", token="t0k") == 202
    (event,) = hook.wait_for(type="com.example.alert.raised")
    assert event.get_data() == "disk full"


def test_a_webhook_that_refuses_consent_gets_nothing(make_ce_receiver):
    hook = make_ce_receiver(platform="webhook", origins=("someone.else",))
    with pytest.raises(PermissionError):
        push_alert(hook.url, "disk full", token="t0k")
    assert hook.deliveries == []


def test_the_producer_waits_out_a_429(make_ce_receiver):
    hook = make_ce_receiver(platform="webhook", token="t0k")
    hook.inject(faults.throttle(0), times=1)  # Retry-After: 0, so the test does not sleep
    assert push_alert(hook.url, "disk full", token="t0k") == 202
    assert [d.status for d in hook.deliveries] == [429, 202]


def test_the_inbox_takes_alerts_from_the_origin_it_consents_to(ce_client, ce_events):
    INBOX.clear()
    alert = ce_events.make(
        "com.example.alert.raised", data="disk full", datacontenttype="text/plain"
    )
    assert ce_client.deliver(alert, to=create_inbox(), platform=SENDER).verdict == "delivered"
    assert INBOX == ["disk full"]
    stranger = platforms.webhook(origin="stranger.example")
    result = ce_client.deliver(alert, to=create_inbox(), platform=stranger)
    assert result.verdict == "dropped" and result.attempts == [] and INBOX == ["disk full"]


def test_a_retired_inbox_stops_the_sender(ce_client, ce_events):
    inbox = create_inbox()
    inbox.config["retired"] = True
    result = ce_client.deliver(
        ce_events.make("com.example.alert.raised"), to=inbox, platform=SENDER
    )
    assert [a.status for a in result.attempts] == [410] and "retired" in result.reason
