"""One publisher, three subscribers on their own ports, one of them failing."""

from publisher import publish

from pytest_cloudevents import faults

EVENT = {
    "specversion": "1.0",
    "id": "price-1",
    "source": "/catalogue",
    "type": "com.example.price.changed",
    "data": {"sku": "A-1", "price": 10},
}


def test_every_subscriber_gets_the_event(make_ce_receiver):
    subscribers = [make_ce_receiver() for _ in range(3)]
    assert publish(EVENT, [s.url for s in subscribers]) == []
    for subscriber in subscribers:
        [event] = subscriber.assert_received(id="price-1", count=1)
        assert event.get_data() == {"sku": "A-1", "price": 10}


def test_a_failing_subscriber_is_reported_and_does_not_hold_up_the_others(make_ce_receiver):
    billing, search, audit = make_ce_receiver(), make_ce_receiver(), make_ce_receiver()
    search.inject(faults.status(500))
    audit.inject(faults.delay(5))  # slower than the publisher's timeout
    failed = publish(EVENT, [billing.url, search.url, audit.url], timeout=0.3)
    assert failed == [search.url, audit.url]
    billing.assert_received(id="price-1", count=1)
    assert search.attempts("price-1").statuses == [500]
    search.assert_not_received(id="price-1")
