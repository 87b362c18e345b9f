"""The webhook recipe: the producer meets a receiver that speaks the CloudEvents webhook
spec: the handshake, a Bearer token, and 429 with Retry-After past its rate."""

import pytest
from alerts import ORIGIN, push_alert

from pytest_cloudevents import faults


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
